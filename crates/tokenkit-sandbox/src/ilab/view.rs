//! What the console shows of the ilab platform and the one thing it does as the
//! platform's user: launching the experiment ("我要做实验").

use std::time::SystemTime;

use percent_encoding::{CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tokenkit_core::civil::{from_unix_millis, unix_millis};

use super::Ilab;

/// A session's current access token, as the platform would judge it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Accepted by `data_upload`.
    Live,
    /// Past its expiry.
    Expired,
    /// Revoked by an operator.
    Revoked,
}

/// One grant: a launch whose ticket was exchanged.
#[derive(Debug, Clone)]
pub(crate) struct SessionView {
    /// The user (`un`) and display name (`dis`).
    pub(crate) un: String,
    pub(crate) dis: String,
    /// The current access token, masked.
    pub(crate) token: String,
    /// Its expiry.
    pub(crate) expires: SystemTime,
    /// How the platform judges it now.
    pub(crate) state: TokenState,
    /// Refreshes spent, of `budget`.
    pub(crate) refreshes: u32,
    pub(crate) budget: u32,
    /// The records uploaded with this grant's tokens, in upload order.
    pub(crate) records: Vec<Value>,
}

/// Why the console cannot launch the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LaunchRefusal {
    /// No [`IlabConfig::launch_url`](super::IlabConfig::launch_url) is set.
    NoLaunchUrl,
    /// The form named no user.
    NoUser,
}

impl Ilab {
    /// Every session, oldest first.
    pub(crate) fn sessions(&self) -> Vec<SessionView> {
        let now_ms = unix_millis(SystemTime::now());
        let state = self.lock();
        state
            .grants_in_order()
            .filter_map(|grant| {
                let current = state.access.current_of(&grant.id)?;
                let token_state = if current.revoked {
                    TokenState::Revoked
                } else if now_ms >= current.expires_ms {
                    TokenState::Expired
                } else {
                    TokenState::Live
                };
                Some(SessionView {
                    un: grant.un.clone(),
                    dis: grant.dis.clone(),
                    token: current.masked,
                    expires: from_unix_millis(current.expires_ms),
                    state: token_state,
                    refreshes: grant.refreshes,
                    budget: self.config.refresh_budget,
                    records: state.records.of_grant(&grant.id),
                })
            })
            .collect()
    }

    /// Mints a ticket for `un` (shown as `dis`, else as the test user `un`'s display
    /// name, else as `un`) and answers where the
    /// platform sends the browser: the launch URL with the ticket percent-encoded once.
    pub(crate) fn launch(&self, un: &str, dis: Option<&str>) -> Result<String, LaunchRefusal> {
        let url = self
            .config
            .launch_url
            .as_deref()
            .ok_or(LaunchRefusal::NoLaunchUrl)?;
        let un = un.trim();
        if un.is_empty() {
            return Err(LaunchRefusal::NoUser);
        }
        // Without a display name, a test user's own; else the user name.
        let configured = self.config.test_users.iter().find(|u| u.un == un);
        let dis = dis
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .or(configured.map(|u| u.dis.as_str()))
            .unwrap_or(un);
        let ticket = self.lock().issue_ticket(un, dis, self.config.ticket_ttl);
        Ok(launch_address(url, &ticket))
    }
}

/// `url` with `ticket=<ticket percent-encoded once>` added to its query; anything
/// non-ASCII in `url` percent-encoded as UTF-8, so the address is a valid `Location`.
pub(crate) fn launch_address(url: &str, ticket: &str) -> String {
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, query)) if query.ends_with('&') => "",
        Some(_) => "&",
    };
    format!(
        "{}{separator}ticket={}",
        utf8_percent_encode(url, CONTROLS),
        utf8_percent_encode(ticket, NON_ALPHANUMERIC)
    )
}

/// `Ok` for an absolute `http`/`https` URL with a host, no credentials, no fragment,
/// no spaces or control characters; else what is wrong.
pub(crate) fn check_launch_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| "the launch URL must start with http:// or https://".to_owned())?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("the launch URL must name a host".to_owned());
    }
    if host.contains('@') {
        // The console shows the launch URL: a password in it would be on the page.
        return Err("the launch URL must not hold credentials (user:password@)".to_owned());
    }
    if url.contains('#') {
        return Err(
            "the launch URL must not have a fragment (#…): the ticket would land in it".to_owned(),
        );
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the launch URL must not contain spaces or control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_joins_the_launch_query_encoded_once() {
        let ticket = "+/+/ab=";
        assert_eq!(
            launch_address("http://h/launch", ticket),
            "http://h/launch?ticket=%2B%2F%2B%2Fab%3D"
        );
        assert_eq!(
            launch_address("http://h/launch?lang=zh", ticket),
            "http://h/launch?lang=zh&ticket=%2B%2F%2B%2Fab%3D"
        );
        assert_eq!(
            launch_address("http://h/launch?", ticket),
            "http://h/launch?ticket=%2B%2F%2B%2Fab%3D"
        );
        assert_eq!(
            launch_address("http://h/实验", "t"),
            "http://h/%E5%AE%9E%E9%AA%8C?ticket=t"
        );
    }

    #[test]
    fn only_absolute_web_urls_launch() {
        for ok in [
            "http://127.0.0.1:8080/launch",
            "https://exp.example/x?y=1",
            "http://h",
        ] {
            assert_eq!(check_launch_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/launch",
            "ftp://h/x",
            "http://",
            "http:///x",
            "http://:80/x",
            "http://h/x#top",
            "http://h/a b",
        ] {
            assert!(check_launch_url(bad).is_err(), "{bad}");
        }
    }
}
