//! How the errors read: the pieces their `Display` strings are made of.

use std::time::Duration;

use super::CutOff;

pub(super) fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("; body starts: {excerpt:?}")
    }
}

pub(super) fn details_suffix(details: &[(&'static str, String)]) -> String {
    if details.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = details
        .iter()
        .map(|(name, value)| format!("{name} {value:?}"))
        .collect();
    format!(" [{}]", parts.join(", "))
}

pub(super) fn refusal_summary(status: u16, code: Option<&str>, message: &str) -> String {
    let mut out = format!("HTTP {status}");
    if let Some(code) = code {
        out.push_str(&format!(", code {code}"));
    }
    if !message.is_empty() {
        out.push_str(&format!(", platform message: {message:?}"));
    }
    out
}

pub(super) fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

pub(super) fn unanswered(waited: Duration, cut_off: Option<CutOff>) -> String {
    match cut_off {
        Some(CutOff {
            status: Some(status),
            received,
        }) => format!("its answer (HTTP {status}) broke off after {received} bytes of the body"),
        Some(CutOff { status: None, .. }) => format!(
            "the connection broke after {} without an answer",
            humanize(waited)
        ),
        None => format!("no answer arrived within {}", humanize(waited)),
    }
}

pub(super) fn humanize(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
