//! An explicit proxy ([`HttpConfig::proxy`](super::HttpConfig::proxy)): checked, turned
//! into reqwest's, and shown without its credentials.
//!
//! A proxy URL is a secret-bearing value (`http://user:pass@host:port`): no error quotes
//! it, and [`redacted`] is the only form of it that is ever printed.

use crate::Error;

/// The proxy for every scheme, bypassed for the hosts of `bypass` (`NO_PROXY`'s syntax)
/// or, when `None`, of the environment's `NO_PROXY`, as curl does for `-x`.
pub(super) fn explicit(
    platform: &'static str,
    url: &str,
    bypass: Option<&str>,
) -> Result<reqwest::Proxy, Error> {
    let url = parse(platform, url)?;
    let proxy = reqwest::Proxy::all(url.as_str())
        .map_err(|_| Error::config(format!("{platform}: the proxy URL is not usable")))?;
    let bypass = match bypass {
        Some(hosts) => reqwest::NoProxy::from_string(hosts),
        None => reqwest::NoProxy::from_env(),
    };
    Ok(proxy.no_proxy(bypass))
}

/// The URL, `http://` when it names no scheme (as curl reads `-x host:port`).
fn parse(platform: &'static str, url: &str) -> Result<reqwest::Url, Error> {
    let url = url.trim();
    let parsed = if url.contains("://") {
        reqwest::Url::parse(url)
    } else {
        reqwest::Url::parse(&format!("http://{url}"))
    };
    // reqwest's and url's messages are not kept: they may quote the URL.
    let parsed = parsed.map_err(|_| {
        Error::config(format!(
            "{platform}: the proxy URL is not a valid URL (http://[user:password@]host:port)"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{platform}: the proxy URL must be http:// or https:// (SOCKS is not built in)"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!(
            "{platform}: the proxy URL names no host"
        )));
    }
    Ok(parsed)
}

/// The proxy URL as it may be shown: scheme, host and port, with `[credentials]` in
/// place of a user and password, and no path or query.
pub(crate) fn redacted(url: &str) -> String {
    let url = url.trim();
    let parsed = if url.contains("://") {
        reqwest::Url::parse(url)
    } else {
        reqwest::Url::parse(&format!("http://{url}"))
    };
    let Ok(parsed) = parsed else {
        return "[not a URL]".into();
    };
    let credentials = if parsed.username().is_empty() && parsed.password().is_none() {
        ""
    } else {
        "[credentials]@"
    };
    let host = parsed.host_str().unwrap_or_default();
    match parsed.port() {
        Some(port) => format!("{}://{credentials}{host}:{port}", parsed.scheme()),
        None => format!("{}://{credentials}{host}", parsed.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "SENTINEL-PW-proxy-41c7";

    #[test]
    fn redacted_keeps_the_address_and_drops_credentials_path_and_query() {
        let url = format!("http://alice:{SENTINEL}@proxy.example:3128/p?k={SENTINEL}");
        assert_eq!(redacted(&url), "http://[credentials]@proxy.example:3128");
        assert_eq!(redacted("proxy.example:3128"), "http://proxy.example:3128");
        assert_eq!(
            redacted(&format!("https://{SENTINEL}@p.example")),
            "https://[credentials]@p.example"
        );
        assert_eq!(redacted(&format!("http://[{SENTINEL}")), "[not a URL]");
    }

    #[test]
    fn a_bad_proxy_url_is_a_config_error_that_does_not_quote_it() {
        for url in [
            format!("http://alice:{SENTINEL}@[bad"),
            format!("socks5://alice:{SENTINEL}@proxy.example:1080"),
            format!("ftp://{SENTINEL}@proxy.example"),
            format!("http://alice:{SENTINEL}@:3128"),
        ] {
            let err = explicit("ac", &url, None).expect_err(&url);
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(SENTINEL), "{shown}");
            assert!(shown.contains("proxy URL"), "{shown}");
        }
    }

    #[test]
    fn a_url_without_a_scheme_is_http() {
        let url = parse("ac", "proxy.example:3128").expect("valid");
        assert_eq!(url.as_str(), "http://proxy.example:3128/");
    }
}
