//! Who the console answers: only requests addressed to the address the sandbox
//! listens on, and state-changing ones only from its own pages.
//!
//! - `Host` must name the listening port and be an IP literal or `localhost`. A web
//!   page elsewhere can make a browser send requests to `127.0.0.1`, but with a DNS
//!   name it controls (DNS rebinding) its requests carry that name as `Host`: refused,
//!   the console's pages and actions never reach such a page's script.
//! - A POST whose `Origin` (or, without one, `Sec-Fetch-Site`) says another site sent
//!   it is refused: a page elsewhere cannot press the console's buttons (CSRF). A POST
//!   with neither header (curl, a test) is a local program's and is served.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, Method, header};

/// Why a request is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `Host` is missing, a DNS name other than `localhost`, or names another port.
    Host,
    /// A POST sent by another site's page.
    CrossSite,
}

/// `Ok` if the console may answer this request.
pub(super) fn admit(
    listen: SocketAddr,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or(Refusal::Host)?;
    if !host_names_us(host, listen) {
        return Err(Refusal::Host);
    }
    if method == Method::POST && !same_origin(host, headers) {
        return Err(Refusal::CrossSite);
    }
    Ok(())
}

/// Whether `host` (`127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`) is an IP literal
/// or `localhost`, with the listening port.
fn host_names_us(host: &str, listen: SocketAddr) -> bool {
    let Some((name, port)) = host.rsplit_once(':') else {
        return false;
    };
    if port.parse::<u16>().ok() != Some(listen.port()) {
        return false;
    }
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

fn same_origin(host: &str, headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        // `Origin: null` (a sandboxed frame, a file) is nobody we know.
        return origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_ip_literals_and_localhost_on_our_port_are_served() {
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "10.0.0.5:8080",
        ] {
            let h = headers(&[("host", host)]);
            assert_eq!(admit(listen(), &Method::GET, &h), Ok(()), "{host}");
        }
        for host in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost.evil.example:8080",
            "",
            "[::1]",
        ] {
            let h = headers(&[("host", host)]);
            assert_eq!(
                admit(listen(), &Method::GET, &h),
                Err(Refusal::Host),
                "{host}"
            );
        }
        assert_eq!(
            admit(listen(), &Method::GET, &HeaderMap::new()),
            Err(Refusal::Host)
        );
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        let ok = [
            headers(&[("host", "127.0.0.1:8080")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
            ]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin"),
            ]),
        ];
        for h in ok {
            assert_eq!(admit(listen(), &Method::POST, &h), Ok(()), "{h:?}");
        }
        let refused = [
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://localhost:8080"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]),
        ];
        for h in refused {
            assert_eq!(
                admit(listen(), &Method::POST, &h),
                Err(Refusal::CrossSite),
                "{h:?}"
            );
        }
        // A GET from anywhere that names us is only reading our own page.
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ]);
        assert_eq!(admit(listen(), &Method::GET, &h), Ok(()));
    }
}
