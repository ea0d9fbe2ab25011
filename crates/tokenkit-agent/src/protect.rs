//! Who may ask the agent for tokens.
//!
//! - **Every `/v1` request carries `Tokenkit-Agent: 1`.** A web page cannot send a
//!   custom header to another origin without a CORS preflight, which the agent never
//!   approves; an SSRF through another local service rarely controls headers. So a page
//!   in the user's browser, or a URL fetched by a confused service, cannot read tokens.
//!   (`/metrics` holds no secret and is exempt, so plain Prometheus scrapers work.)
//! - **On TCP, the `Host` must be this agent's**: `localhost`, a loopback address or the
//!   address it listens on. A DNS-rebinding page (`evil.example` resolved to
//!   127.0.0.1) is same-origin to the browser and could set the header; its `Host`
//!   gives it away.
//! - **On TCP, an optional bearer secret** (`listen.bearer_file`): every request carries
//!   `Authorization: Bearer <secret>`. The Unix socket needs none: its mode (0600) is
//!   the access control.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::api::{AgentState, answer};

/// The header every `/v1` request carries, and its value.
pub const AGENT_HEADER: &str = "tokenkit-agent";

/// Which listener a request came through.
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    /// The Unix socket.
    Unix,
    /// TCP, listening on this address.
    Tcp(SocketAddr),
}

/// Refuses a `/v1` request without `Tokenkit-Agent: 1`: 403.
pub async fn require_agent_header(request: Request, next: Next) -> Response {
    let ok = request
        .headers()
        .get(AGENT_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1");
    if !ok {
        return answer::error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "requests to the agent carry the header `Tokenkit-Agent: 1` (it keeps web pages \
             and forwarded requests from reading tokens)",
        );
    }
    next.run(request).await
}

/// On TCP: the `Host` check and the bearer secret.
pub async fn guard_transport(
    State((state, transport)): State<(AgentState, Transport)>,
    request: Request,
    next: Next,
) -> Response {
    let Transport::Tcp(bound) = transport else {
        return next.run(request).await;
    };
    if !host_is_ours(request.headers(), bound) {
        return answer::error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the request's Host is not this agent's address (use 127.0.0.1, [::1] or \
             localhost)",
        );
    }
    let runtime = state.runtime();
    if let Some(expected) = runtime.bearer()
        && !bearer_matches(request.headers(), expected.expose_secret())
    {
        let mut response = answer::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this listener needs `Authorization: Bearer <the secret of listen.bearer_file>`",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tokenkit-agent\""),
        );
        return response;
    }
    next.run(request).await
}

/// Whether `Host` names the agent: `localhost`, a loopback IP, or the bound IP.
fn host_is_ours(headers: &HeaderMap, bound: SocketAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        // `[::1]:8080`
        Some(rest) => rest.split(']').next().unwrap_or(""),
        // `127.0.0.1:8080`, `localhost:8080`, `localhost`
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == bound.ip(),
        Err(_) => false,
    }
}

/// `Authorization: Bearer <expected>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    constant_time_eq(given.trim().as_bytes(), expected.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn only_the_agents_own_host_names_pass() {
        let bound: SocketAddr = "127.0.0.1:7700".parse().expect("addr");
        for ok in [
            "127.0.0.1:7700",
            "localhost:7700",
            "LOCALHOST",
            "[::1]:7700",
            "127.0.0.2",
        ] {
            assert!(host_is_ours(&host(ok), bound), "{ok}");
        }
        for bad in [
            "evil.example:7700",
            "evil.example",
            "10.0.0.1:7700",
            "[2001:db8::1]:7700",
            "",
        ] {
            assert!(!host_is_ours(&host(bad), bound), "{bad}");
        }
        assert!(!host_is_ours(&HeaderMap::new(), bound));
        let public: SocketAddr = "10.0.0.1:7700".parse().expect("addr");
        assert!(host_is_ours(&host("10.0.0.1:7700"), public));
    }

    #[test]
    fn the_bearer_must_match_exactly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(bearer_matches(&headers, "s3cret"));
        assert!(!bearer_matches(&headers, "s3cre"));
        assert!(!bearer_matches(&headers, "s3cret!"));
        assert!(!bearer_matches(&HeaderMap::new(), "s3cret"));
    }
}
