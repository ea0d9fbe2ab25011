//! The harness of the `tokenkit agent` tests: a config written into a fresh directory,
//! a real `tokenkit agent --config` process, its `listening on` lines, HTTP over its
//! Unix socket and its TCP address, signals sent with `kill`, and the counters of its
//! `/metrics`. The process is killed when the [`Agent`] is dropped.
//!
//! Needs `mod common;` next to it (the sandbox helpers live there).

// Each test file uses a part of the harness.
#![allow(dead_code)]

mod config;
mod http;
mod process;

pub use config::*;
pub use http::*;
pub use process::*;

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::Sandbox;

/// How long any condition may take to come true. Generous: these tests run on a
/// loaded two-core machine, and a deadline only bounds a failure, never a success.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `probe` until it answers `Some`, for at most `deadline`; panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            start.elapsed() < deadline,
            "gave up after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A launch ticket of the sandbox's ilab for user `un` (as the launch URL's query holds
/// it decoded), and the same ticket percent-encoded.
pub fn ilab_ticket(sandbox: &Sandbox, un: &str, dis: &str) -> (String, String) {
    let answer = sandbox.call(
        "POST",
        "/_sandbox/ilab/tickets",
        Some(&json!({"un": un, "dis": dis})),
    );
    let field = |name: &str| {
        answer[name]
            .as_str()
            .unwrap_or_else(|| panic!("the sandbox's ticket answer has a string {name:?}"))
            .to_owned()
    };
    (field("ticket"), field("ticket_url_encoded"))
}

/// A bo session of the sandbox for `user`: (access token, refresh token).
pub fn bo_session(sandbox: &Sandbox, user: &str) -> (String, String) {
    let answer = sandbox.call(
        "POST",
        "/_sandbox/bo/sessions",
        Some(&json!({"userId": user})),
    );
    let field = |name: &str| {
        answer[name]
            .as_str()
            .unwrap_or_else(|| panic!("the sandbox's session answer has a string {name:?}"))
            .to_owned()
    };
    (field("accessToken"), field("refreshToken"))
}

/// Revokes an ac token at the sandbox (the platform's side of a logout); whether it
/// was a live token.
pub fn revoke_ac(sandbox: &Sandbox, token: &str) -> bool {
    sandbox.call(
        "POST",
        "/_sandbox/ac/revoke",
        Some(&json!({"token": token})),
    )["revoked"]
        == Value::Bool(true)
}

/// Whether the sandbox's ac platform accepts `token` now (without a counted request).
pub fn ac_accepts(sandbox: &Sandbox, token: &str) -> bool {
    sandbox.call("POST", "/_sandbox/ac/check", Some(&json!({"token": token})))["accepted"]
        == Value::Bool(true)
}

/// Asserts that none of `secrets` occurs in `text` (the agent's stderr). The failure
/// names which secret leaked by its position and length only, never its value.
pub fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !secret.is_empty(),
            "secret #{i} is empty: the test is wrong"
        );
        assert!(
            !text.contains(secret.as_str()),
            "{what}: secret #{i} ({} characters) appears in it",
            secret.len()
        );
    }
}

/// Seconds since the Unix epoch of an RFC 3339 UTC time as the agent writes it
/// (`2026-05-01T10:00:00Z`, optionally with a fraction, which is dropped).
pub fn rfc3339_seconds(text: &str) -> i64 {
    fn parts(text: &str) -> Option<[i64; 6]> {
        let (date, time) = text.split_once('T')?;
        let time = time.strip_suffix('Z')?.split('.').next()?;
        let mut n = date
            .split('-')
            .chain(time.split(':'))
            .map(|n| n.parse().ok());
        let mut next = || n.next().flatten();
        Some([next()?, next()?, next()?, next()?, next()?, next()?])
    }
    let [year, month, day, hour, minute, second] =
        parts(text).unwrap_or_else(|| panic!("{text:?} is not an RFC 3339 UTC time"));
    // Days from the civil date (Howard Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + minute * 60 + second
}

#[test]
fn rfc3339_seconds_reads_the_agents_times() {
    assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), 0);
    assert_eq!(rfc3339_seconds("2000-03-01T00:00:01.5Z"), 951_868_801);
}
