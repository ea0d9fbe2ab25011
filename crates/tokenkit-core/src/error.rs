//! The one error type of tokenkit.
//!
//! It answers the caller's questions: may I retry ([`Error::is_transient`])? must the
//! user log in again ([`Error::is_reauth_required`])? what did the platform say
//! ([`Error::platform_code`], [`Error::platform_message`])? Its `Display` never holds a
//! secret and never repeats a source error's text. It is `Clone` because one failed
//! refresh is handed to every caller that waited for it.

use std::time::Duration;

/// Why a request failed before the platform could answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransientKind {
    /// The connection could not be made (nothing was sent).
    Connect,
    /// The request timed out; only used for operations that spend nothing.
    Timeout,
    /// The server answered with a 5xx status.
    ServerError,
    /// The server answered 429 Too Many Requests.
    RateLimited,
    /// The connection broke while reading a non-spending answer.
    Interrupted,
}

impl TransientKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Connect => "could not connect",
            Self::Timeout => "timed out",
            Self::ServerError => "server error",
            Self::RateLimited => "rate limited",
            Self::Interrupted => "connection interrupted",
        }
    }
}

/// The error of every tokenkit operation.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A failure worth retrying later: connection refused, 5xx, 429, a timeout of a
    /// request that spends nothing.
    #[error("{platform}: {}{}{}", kind.describe(), status_suffix(*.status), excerpt_suffix(.excerpt))]
    Transient {
        /// Platform name (`ilab`, `ac`, `bo`, or `store`).
        platform: &'static str,
        /// What went wrong.
        kind: TransientKind,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// The start of the body, when there was one.
        excerpt: String,
    },

    /// The platform understood the request and refused it with one of its codes.
    #[error("{platform}: code {code}: {meaning}{} (platform message: {message:?})", details_suffix(.details))]
    Rejected {
        /// Platform name.
        platform: &'static str,
        /// The platform's code, as it sent it.
        code: String,
        /// The platform's own message (often Chinese), as it sent it.
        message: String,
        /// What the code means, in English.
        meaning: String,
        /// Whether the user must authenticate again for this to succeed.
        reauth_required: bool,
        /// Further fields the platform sent with its refusal, by their platform names
        /// (bo: `errorCode`, `errorText`); see [`Error::platform_detail`].
        details: Vec<(&'static str, String)>,
    },

    /// The answer could not be understood: not JSON, wrong types, missing fields.
    #[error("{platform}: malformed response: {reason}{}", excerpt_suffix(.excerpt))]
    Malformed {
        /// Platform name.
        platform: &'static str,
        /// What was wrong with it.
        reason: String,
        /// The start of the body (at most [`EXCERPT_LEN`] characters), for diagnosis.
        excerpt: String,
    },

    /// The request was sent but no answer came back, so whether it took effect is
    /// unknown. Operations that spend something (an ilab refresh, a single-use ticket)
    /// must not be retried blindly after this.
    #[error("{platform}: outcome of {operation} unknown: the request was sent but no answer arrived within {}", humanize(*.waited))]
    OutcomeUnknown {
        /// Platform name.
        platform: &'static str,
        /// The operation, e.g. `refresh`.
        operation: &'static str,
        /// How long the client waited.
        waited: Duration,
    },

    /// No token can be had without the user (or the application) authenticating again.
    #[error("{platform}: re-authentication required: {reason}")]
    ReauthRequired {
        /// Platform name.
        platform: &'static str,
        /// Why, and what to do.
        reason: String,
    },

    /// The account cannot use the requested resource (e.g. an ac cluster of a suspended
    /// account).
    #[error("{platform}: {resource} unavailable: account status {status}")]
    Suspended {
        /// Platform name.
        platform: &'static str,
        /// What is unavailable, e.g. `cluster 11112 (华东一区)`.
        resource: String,
        /// The account status the platform reported.
        status: String,
    },

    /// The configuration is unusable (a key of the wrong length, a bad URL, …).
    #[error("configuration error: {0}")]
    Config(String),

    /// The token store failed.
    #[error("token store: {reason}")]
    Store {
        /// What failed.
        reason: String,
        /// Whether trying again may help (e.g. Redis briefly unreachable).
        transient: bool,
    },

    /// Another process holds the refresh and no new token appeared within the wait.
    #[error("waited {} for another holder of the refresh lease without a new token", humanize(*.waited))]
    LeaseWaitTimeout {
        /// How long the caller waited.
        waited: Duration,
    },
}

/// The longest excerpt of a response body an error keeps.
pub const EXCERPT_LEN: usize = 200;

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("; body starts: {excerpt:?}")
    }
}

fn details_suffix(details: &[(&'static str, String)]) -> String {
    if details.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = details
        .iter()
        .map(|(name, value)| format!("{name} {value:?}"))
        .collect();
    format!(" [{}]", parts.join(", "))
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn humanize(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Runs of token-like characters at least this long are redacted from excerpts.
const TOKEN_LIKE_RUN: usize = 24;

/// The first [`EXCERPT_LEN`] characters of a body, lossily decoded, for error messages.
/// Anything that looks like a token (a long run of base64/JWT characters) is replaced by
/// `[redacted]`, so an excerpt of a half-valid success body cannot leak a credential.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LEN * 4)]);
    let redacted = redact_token_like(&redact_sensitive_values(&text));
    let mut out: String = redacted.chars().take(EXCERPT_LEN).collect();
    if redacted.chars().count() > EXCERPT_LEN {
        out.push('…');
    }
    out
}

/// JSON keys whose string values are withheld from excerpts, however short.
fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "ticket",
        "signature",
        "verify",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// Replaces the string value of every sensitive key (`"refresh_token": "…"`) with
/// `[redacted]`: a loose scan that tolerates a truncated or broken body.
fn redact_sensitive_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    let mut last_string: Option<String> = None;
    let mut value_is_sensitive = false;
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut content = String::new();
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == '\\' {
                    content.push(d);
                    if let Some(e) = chars.next() {
                        content.push(e);
                    }
                    continue;
                }
                if d == '"' {
                    closed = true;
                    break;
                }
                content.push(d);
            }
            out.push('"');
            if value_is_sensitive {
                out.push_str("[redacted]");
                value_is_sensitive = false;
                last_string = None;
            } else {
                out.push_str(&content);
                last_string = Some(content);
            }
            if closed {
                out.push('"');
            }
            continue;
        }
        if c == ':' {
            value_is_sensitive = last_string.as_deref().is_some_and(is_sensitive_key);
        } else if !c.is_whitespace() {
            value_is_sensitive = false;
        }
        if !c.is_whitespace() && c != ':' {
            last_string = None;
        }
        out.push(c);
    }
    out
}

fn redact_token_like(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "-_.+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= TOKEN_LIKE_RUN {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Error {
    /// A configuration error.
    pub fn config(reason: impl Into<String>) -> Self {
        Self::Config(reason.into())
    }

    /// A malformed-response error with an excerpt of the body.
    pub fn malformed(platform: &'static str, reason: impl Into<String>, body: &[u8]) -> Self {
        Self::Malformed {
            platform,
            reason: reason.into(),
            excerpt: excerpt(body),
        }
    }

    /// A platform's refusal: its code and own message, the code's meaning in English,
    /// and whether only a new login helps. Add further fields with
    /// [`Error::with_detail`].
    ///
    /// ```
    /// let err = tokenkit_core::Error::rejected("ilab", "5", "请重新获取access_token", "refresh limit reached", true);
    /// assert_eq!(err.platform_code(), Some("5"));
    /// assert!(err.is_reauth_required());
    /// ```
    pub fn rejected(
        platform: &'static str,
        code: impl Into<String>,
        message: impl Into<String>,
        meaning: impl Into<String>,
        reauth_required: bool,
    ) -> Self {
        Self::Rejected {
            platform,
            code: code.into(),
            message: message.into(),
            meaning: meaning.into(),
            reauth_required,
            details: Vec::new(),
        }
    }

    /// Adds a field of a platform refusal (no effect on other errors).
    pub fn with_detail(mut self, name: &'static str, value: impl Into<String>) -> Self {
        if let Self::Rejected { details, .. } = &mut self {
            details.push((name, value.into()));
        }
        self
    }

    /// A further field of a platform refusal, by its platform name.
    pub fn platform_detail(&self, name: &str) -> Option<&str> {
        match self {
            Self::Rejected { details, .. } => details
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    /// A re-authentication error.
    pub fn reauth(platform: &'static str, reason: impl Into<String>) -> Self {
        Self::ReauthRequired {
            platform,
            reason: reason.into(),
        }
    }

    /// A store error.
    pub fn store(reason: impl Into<String>, transient: bool) -> Self {
        Self::Store {
            reason: reason.into(),
            transient,
        }
    }

    /// Whether the same call may succeed later without anything changing.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transient { .. } | Self::LeaseWaitTimeout { .. } => true,
            Self::Store { transient, .. } => *transient,
            _ => false,
        }
    }

    /// Whether only a new login (ticket, password, session) can get a token.
    pub fn is_reauth_required(&self) -> bool {
        match self {
            Self::ReauthRequired { .. } => true,
            Self::Rejected {
                reauth_required, ..
            } => *reauth_required,
            _ => false,
        }
    }

    /// Whether the request may have taken effect (do not repeat a spending operation).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The platform's code, for a platform refusal.
    pub fn platform_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The platform's own message, for a platform refusal.
    pub fn platform_message(&self) -> Option<&str> {
        match self {
            Self::Rejected { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The platform the error came from, when it came from one.
    pub fn platform(&self) -> Option<&'static str> {
        match self {
            Self::Transient { platform, .. }
            | Self::Rejected { platform, .. }
            | Self::Malformed { platform, .. }
            | Self::OutcomeUnknown { platform, .. }
            | Self::ReauthRequired { platform, .. }
            | Self::Suspended { platform, .. } => Some(platform),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(reauth: bool) -> Error {
        Error::rejected(
            "ilab",
            "5",
            "请重新获取access_token",
            "refresh limit reached",
            reauth,
        )
    }

    #[test]
    fn classification_table() {
        let transient = Error::Transient {
            platform: "ac",
            kind: TransientKind::ServerError,
            status: Some(502),
            excerpt: String::new(),
        };
        let cases: Vec<(Error, bool, bool)> = vec![
            (transient, true, false),
            (rejected(true), false, true),
            (rejected(false), false, false),
            (Error::malformed("bo", "not JSON", b"<html>"), false, false),
            (
                Error::OutcomeUnknown {
                    platform: "ilab",
                    operation: "refresh",
                    waited: Duration::from_secs(10),
                },
                false,
                false,
            ),
            (Error::reauth("ilab", "relaunch"), false, true),
            (Error::config("bad key"), false, false),
            (Error::store("down", true), true, false),
            (Error::store("corrupt", false), false, false),
            (
                Error::LeaseWaitTimeout {
                    waited: Duration::from_secs(1),
                },
                true,
                false,
            ),
        ];
        for (err, transient, reauth) in cases {
            assert_eq!(err.is_transient(), transient, "{err}");
            assert_eq!(err.is_reauth_required(), reauth, "{err}");
        }
    }

    #[test]
    fn platform_code_and_message() {
        let err = rejected(true);
        assert_eq!(err.platform_code(), Some("5"));
        assert_eq!(err.platform_message(), Some("请重新获取access_token"));
        assert_eq!(err.platform(), Some("ilab"));
        let text = err.to_string();
        assert!(
            text.contains("code 5") && text.contains("refresh limit reached"),
            "{text}"
        );
        assert_eq!(Error::config("x").platform_code(), None);
        let detailed = rejected(false)
            .with_detail("errorCode", "E1")
            .with_detail("errorText", "bad");
        assert_eq!(detailed.platform_detail("errorCode"), Some("E1"));
        assert_eq!(detailed.platform_detail("nope"), None);
        assert!(
            detailed
                .to_string()
                .contains("[errorCode \"E1\", errorText \"bad\"]"),
            "{detailed}"
        );
    }

    #[test]
    fn excerpt_is_bounded() {
        let body = "x".repeat(10_000);
        let e = excerpt(body.as_bytes());
        assert!(e.chars().count() <= EXCERPT_LEN + 1);
        assert_eq!(excerpt(b"\xff\xfe<html>"), "\u{fffd}\u{fffd}<html>");
        let body =
            br#"{"code":0,"refresh_token":"eyJhbGciOiJIUzI1NiJ9.eyJ1biI6ImEifQ.c2lnbmF0dXJl"}"#;
        let e = excerpt(body);
        assert!(!e.contains("eyJ"), "{e}");
        assert!(
            e.contains("refresh_token") && e.contains("[redacted]"),
            "{e}"
        );
    }
}
