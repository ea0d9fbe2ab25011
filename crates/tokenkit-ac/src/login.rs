//! The two logins (PROTOCOLS.md §2.1, §2.5): both answer one token per region.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use tokenkit_core::http::{Response, Spend};
use tokenkit_core::{Error, Sent};

use crate::client::Credentials;
use crate::region::{Login, Region, parse_regions};
use crate::{AcClient, PLATFORM, access_key_signature, reply, token};

const TOKENS: &str = "/ac/openapi/v2/tokens";
const ACCESS_KEY_TOKENS: &str = "/api/user/v3/tokens";

/// A difference between the local clock and the platform's (its `Date` header) beyond
/// which a refused access-key login names the clock as the likely cause: the signed
/// timestamp comes from the local clock.
pub const CLOCK_SKEW_NOTICE: Duration = Duration::from_secs(60);

impl AcClient {
    /// Logs in with the configured credentials: the password login (`POST
    /// /ac/openapi/v2/tokens` with `user`, `password`, `orgId`, §2.1) or the access-key
    /// login (`POST {auth}/api/user/v3/tokens` with `user`, `accessKey`, `timestamp`,
    /// `signature`, §2.5). Either answers one token per region.
    pub async fn login(&self) -> Result<Login, Error> {
        let inner = self.inner();
        let missing = |what: &str| {
            Error::config(format!(
                "{PLATFORM}: login needs {what}; set it on the client builder"
            ))
        };
        let user = inner.user.as_deref().ok_or_else(|| missing("a user"))?;
        match inner.credentials.as_ref() {
            None => Err(missing("a password and orgId, or an access key")),
            Some(Credentials::Password { password, org_id }) => {
                let request = inner
                    .http
                    .client()
                    .post(format!("{}{TOKENS}", inner.base))
                    .header("user", plain_header("user", user)?)
                    .header("password", password.header_value()?)
                    .header("orgId", plain_header("orgId", org_id)?);
                let sent = Sent::new().with(password.as_secret().clone());
                let response = self.send(request, sent).await?;
                self.regions(&response, user)
            }
            Some(Credentials::AccessKey {
                access_key,
                secret_key,
            }) => {
                let timestamp = unix_seconds(SystemTime::now()).to_string();
                let signature =
                    access_key_signature(secret_key.expose_secret(), access_key, &timestamp, user);
                let mut signed = HeaderValue::from_str(&signature)
                    .map_err(|_| Error::config("ac: the signature is not a header value"))?;
                signed.set_sensitive(true);
                // No body and no content type: the documented request is headers only.
                let request = inner
                    .http
                    .client()
                    .post(format!("{}{ACCESS_KEY_TOKENS}", inner.auth))
                    .header("user", plain_header("user", user)?)
                    .header("accessKey", plain_header("accessKey", access_key)?)
                    .header("timestamp", plain_header("timestamp", &timestamp)?)
                    .header("signature", signed);
                // The platform may echo what it was sent: the signature (and, were it
                // ever sent, the secret key) is scrubbed from whatever it says.
                let sent = Sent::new()
                    .with(signature)
                    .with(secret_key.as_secret().clone());
                let response = inner.http.send(request, Spend::No).await?.with_sent(sent);
                self.regions(&response, user)
                    .map_err(|error| with_clock_notice(error, &response))
            }
        }
    }

    /// The regions of a login's answer, each with its token built.
    pub(crate) fn regions(&self, response: &Response, user: &str) -> Result<Login, Error> {
        let data = reply::data(response)?;
        let raw = parse_regions(&data).map_err(|reason| response.malformed(reason))?;
        let regions = raw
            .into_iter()
            .map(|r| Region {
                token: r.token.map(|t| {
                    token::build(
                        t,
                        response.expiry_estimate(),
                        Some(r.cluster.clone()),
                        Some(user),
                        self.inner().assumed_lifetime,
                    )
                }),
                cluster: r.cluster,
                // Shown in errors (a suspended region) and to the user.
                account_status: r.account_status.map(|s| response.scrub(&s)),
            })
            .collect::<Vec<_>>();
        tracing::debug!(regions = regions.len(), "ac login succeeded");
        Ok(Login::new(regions))
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A refused access-key login, told how far the local clock is from the platform's
/// when that is far enough to be why (the timestamp is signed from the local clock): a
/// further field of the refusal, `local clock`. The `Date` as sent is compared, also
/// when it is too far off to measure an expiry against: that is when it matters most.
fn with_clock_notice(error: Error, response: &Response) -> Error {
    match clock_offset(response.arrival.wall, response.date_header) {
        Some(offset) => error.with_detail("local clock", offset),
        None => error,
    }
}

/// "the local clock is 1 h 0 min 5 s behind the platform's …", when the local clock
/// `wall` is off the platform's `Date` by more than [`CLOCK_SKEW_NOTICE`].
pub(crate) fn clock_offset(wall: SystemTime, date: Option<SystemTime>) -> Option<String> {
    let server = date?;
    let (offset, side) = match wall.duration_since(server) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    };
    (offset > CLOCK_SKEW_NOTICE).then(|| {
        format!(
            "the local clock is {} {side} the platform's (its Date header), and the login's \
             timestamp is taken from the local clock: set the clock right (NTP)",
            humanize(offset)
        )
    })
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, s) => format!("{h} h {m} min {s} s"),
    }
}

/// A header value from configuration; UTF-8 names (`华东…` users) are sent as raw
/// bytes, which HTTP allows (obs-text), but control characters are refused.
pub(crate) fn plain_header(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
        Error::config(format!(
            "{PLATFORM}: the {name} contains characters that cannot go into an HTTP header"
        ))
    })
}

#[cfg(test)]
mod tests {
    use tokenkit_core::Arrival;

    use super::*;

    /// The local clock and a platform `Date` `offset_secs` ahead of it.
    fn clocks(offset_secs: i64) -> (SystemTime, Option<SystemTime>) {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let server = if offset_secs >= 0 {
            wall + Duration::from_secs(offset_secs as u64)
        } else {
            wall - Duration::from_secs(offset_secs.unsigned_abs())
        };
        (wall, Some(server))
    }

    fn offset(offset_secs: i64) -> Option<String> {
        let (wall, date) = clocks(offset_secs);
        clock_offset(wall, date)
    }

    #[test]
    fn the_clock_offset_is_named_only_when_it_matters() {
        assert_eq!(offset(30), None);
        let behind = offset(3605).expect("an hour");
        assert!(behind.contains("1 h 0 min 5 s behind"), "{behind}");
        let ahead = offset(-400).expect("minutes");
        assert!(ahead.contains("6 min 40 s ahead of"), "{ahead}");
        let (wall, date) = clocks(3605);
        let arrival = Arrival {
            instant: tokio::time::Instant::now(),
            wall,
            server_date: date,
        };
        let response = Response::from_parts("ac", 200, arrival, "{}");
        let refused = with_clock_notice(
            Error::rejected("ac", "10004", "timestamp 1 过期", "parameter invalid", true),
            &response,
        );
        assert!(
            refused.to_string().contains("behind the platform's"),
            "{refused}"
        );
        assert_eq!(refused.platform_code(), Some("10004"));
    }
}
