//! The last platform requests, for the console's requests page: when, which route,
//! which credentials (masked), the answer's HTTP status and platform code, how long
//! it took and which fault was injected.
//!
//! Entries are recorded by the counting middleware (`faults.rs`), so exactly the
//! requests counted in `/_sandbox/stats` appear here; admin and console requests never
//! do. Only masked values are ever stored: the log cannot give a token away, whatever
//! renders it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Uri};

use crate::mask::mask;
use crate::params::Params;

/// The query parameters and headers whose values are credentials (or derived from
/// one, like a signature): shown masked in the `credential` column, nothing else of
/// the request is shown besides its path.
const SECRET_QUERY: [&str; 6] = [
    "access_token",
    "ticket",
    "refresh_token",
    "refreshToken",
    "signature",
    "token",
];
const SECRET_HEADERS: [&str; 6] = [
    "token",
    "authorization",
    "password",
    "accessKey",
    "signature",
    "XverifyApi",
];

/// The longest route and code kept, in characters: a path is the client's to choose.
const MAX_ROUTE_CHARS: usize = 160;
const MAX_CODE_CHARS: usize = 24;
const MAX_MESSAGE_CHARS: usize = 48;

/// Which fault, if any, the sandbox injected into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answered with the HTML 503 page instead of being handled.
    Failed,
    /// Handled, then its connection was cut before the answer was complete.
    Dropped,
}

/// One platform request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEntry {
    /// When it arrived.
    pub at: SystemTime,
    /// `GET`, `POST`.
    pub method: String,
    /// Its path, without the query.
    pub route: String,
    /// The credentials it carried, by parameter or header name, masked.
    pub credentials: Vec<(String, String)>,
    /// The answer's HTTP status.
    pub status: u16,
    /// The platform's `code` in the answer's JSON body (`"0"`, `"10008"`), `"success"`
    /// for bo's `{"success": true}`, `None` for an answer without one.
    pub code: Option<String>,
    /// The answer's `msg` (ilab, ac) or `message` (bo), cut short: what the code means.
    pub message: Option<String>,
    /// From arrival to the answer's head (the injected latency included).
    pub latency: Duration,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

/// The last [`RequestLog::CAPACITY`] platform requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<RequestEntry>>,
}

impl RequestLog {
    /// How many requests are kept; the oldest goes first.
    pub const CAPACITY: usize = 300;

    /// Records `entry`, dropping the oldest past [`CAPACITY`](Self::CAPACITY).
    pub fn push(&self, entry: RequestEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() == Self::CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The requests kept, newest first.
    pub fn newest_first(&self) -> Vec<RequestEntry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().rev().cloned().collect()
    }
}

/// The masked credentials of a request: every secret-bearing query parameter and
/// header present (parameters decoded as the platforms decode them), in that order.
pub(crate) fn credentials(uri: &Uri, headers: &HeaderMap) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if let Some(query) = uri.query() {
        let params = Params::parse(Some(query), b"");
        for name in SECRET_QUERY {
            if let Some(value) = params.get(name) {
                found.push((name.to_owned(), mask(value)));
            }
        }
    }
    for name in SECRET_HEADERS {
        if let Some(value) = headers.get(name) {
            let text = String::from_utf8_lossy(value.as_bytes());
            // `Bearer <token>`: the scheme is no secret, the token is.
            let shown = match text.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    format!("Bearer {}", mask(token.trim()))
                }
                _ => mask(&text),
            };
            found.push((name.to_owned(), shown));
        }
    }
    found
}

/// `path`, cut to [`MAX_ROUTE_CHARS`].
pub(crate) fn route(path: &str) -> String {
    truncate(path, MAX_ROUTE_CHARS)
}

/// The platform's code in an answer body, if it is JSON with a `code` (number or
/// string) or bo's `{"success": true}`, and its message (`msg` or `message`).
pub(crate) fn code_of(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let code = match value.get("code") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ if value.get("success") == Some(&serde_json::Value::Bool(true)) => Some("success".into()),
        _ => None,
    };
    let message = ["msg", "message"]
        .iter()
        .find_map(|name| value.get(*name).and_then(serde_json::Value::as_str))
        .map(|m| truncate(m, MAX_MESSAGE_CHARS));
    (code.map(|c| truncate(&c, MAX_CODE_CHARS)), message)
}

/// `text` cut to `max` characters, the last of them `…` when it was longer.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn credentials_are_masked_and_nothing_else_is_kept() {
        let uri: Uri = "/open/api/v2/data_upload?appid=1681600222748241929&access_token=ABCDEFGHIJ%2BKLMNOPQRS%3D"
            .parse()
            .expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig-sig-sig"),
        );
        headers.insert("password", HeaderValue::from_static("demo-password"));
        let shown = credentials(&uri, &headers);
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(
            shown,
            [
                pair("access_token", "ABCD…QRS="),
                pair("authorization", "Bearer eyJh…-sig"),
                pair("password", "••••"),
            ]
        );
    }

    #[test]
    fn codes_are_read_from_every_platform_shape() {
        let code = |body: &[u8]| code_of(body).0;
        assert_eq!(
            code_of(br#"{"code":0,"msg":"ok"}"#),
            (Some("0".to_owned()), Some("ok".to_owned()))
        );
        assert_eq!(code(br#"{"code":"10008"}"#).as_deref(), Some("10008"));
        assert_eq!(
            code(br#"{"success":true,"data":{}}"#).as_deref(),
            Some("success")
        );
        assert_eq!(
            code_of(r#"{"success":false,"code":401,"message":"token无效或已过期"}"#.as_bytes()),
            (Some("401".to_owned()), Some("token无效或已过期".to_owned()))
        );
        assert_eq!(code_of(b"<html>503</html>"), (None, None));
        assert_eq!(
            code(br#"{"code":"0123456789012345678901234567890"}"#).map(|c| c.chars().count()),
            Some(MAX_CODE_CHARS)
        );
    }

    #[test]
    fn the_log_keeps_the_newest_requests() {
        let log = RequestLog::default();
        for n in 0..RequestLog::CAPACITY + 5 {
            log.push(RequestEntry {
                at: SystemTime::now(),
                method: "GET".into(),
                route: format!("/r{n}"),
                credentials: Vec::new(),
                status: 200,
                code: None,
                message: None,
                latency: Duration::ZERO,
                fault: None,
            });
        }
        let kept = log.newest_first();
        assert_eq!(kept.len(), RequestLog::CAPACITY);
        assert_eq!(kept[0].route, format!("/r{}", RequestLog::CAPACITY + 4));
        assert_eq!(kept[kept.len() - 1].route, "/r5");
    }

    proptest! {
        #[test]
        fn no_query_value_of_a_secret_name_survives(secret in "[A-Za-z0-9+/=]{16,48}", name in proptest::sample::select(SECRET_QUERY.to_vec())) {
            let encoded = percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC);
            let uri: Uri = format!("/x?{name}={encoded}").parse().expect("uri");
            let shown = credentials(&uri, &HeaderMap::new());
            prop_assert_eq!(shown.len(), 1);
            prop_assert!(!shown[0].1.contains(&secret));
        }

        #[test]
        fn any_body_gives_a_short_code_or_none(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let (code, message) = code_of(&body);
            prop_assert!(code.is_none_or(|c| c.chars().count() <= MAX_CODE_CHARS));
            prop_assert!(message.is_none_or(|m| m.chars().count() <= MAX_MESSAGE_CHARS));
        }
    }
}
