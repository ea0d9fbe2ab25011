//! The one error type of tokenkit.
//!
//! It answers the caller's questions: may I retry ([`Error::is_transient`])? must the
//! user log in again ([`Error::is_reauth_required`])? what did the platform say
//! ([`Error::platform_code`], [`Error::platform_message`])? Its `Display` never holds a
//! secret and never repeats a source error's text. It is `Clone` because one failed
//! refresh is handed to every caller that waited for it.

use std::time::Duration;

use crate::redact::excerpt;

mod message;

use message::{
    details_suffix, excerpt_suffix, humanize, refusal_summary, status_suffix, unanswered,
};

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

/// A connection that broke after the request was sent: before any answer, or in the
/// middle of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutOff {
    /// The HTTP status of the answer, when its head arrived before the break.
    pub status: Option<u16>,
    /// The bytes of its body received before the connection broke.
    pub received: usize,
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
    #[error("{platform}: outcome of {operation} unknown: the request was sent but {}", unanswered(*.waited, *.cut_off))]
    OutcomeUnknown {
        /// Platform name.
        platform: &'static str,
        /// The operation, e.g. `refresh`.
        operation: &'static str,
        /// How long the client waited.
        waited: Duration,
        /// When the connection broke (rather than the wait timing out): the status and
        /// the bytes of the answer received before.
        cut_off: Option<CutOff>,
    },

    /// No token can be had without the user (or the application) authenticating again.
    #[error("{platform}: re-authentication required: {reason}")]
    ReauthRequired {
        /// Platform name.
        platform: &'static str,
        /// Why, and what to do.
        reason: String,
    },

    /// The platform's answer cannot be right: a token already expired when it arrived
    /// (an absurd `Date`, an expiry before the issue time, a zero lifetime). It is not
    /// cached, and the cache does not spend another budgeted refresh on its account
    /// automatically; see [`ExpiryEstimate::build_usable`](crate::ExpiryEstimate::build_usable).
    #[error("{platform}: implausible answer: {reason}")]
    Implausible {
        /// Platform name (`provider` when the cache caught it).
        platform: &'static str,
        /// What is implausible about it.
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

    /// An authenticated call was refused because of its token, the token was renewed,
    /// and the platform refused the renewed token too. The call is not repeated a
    /// third time: a platform that refuses a fresh token means something else (the
    /// account lacks a permission, the token is for another region).
    #[error("{platform}: the platform refused the renewed token too ({}); the call was not repeated again", refusal_summary(*.status, .code.as_deref(), .message))]
    TokenRefused {
        /// Platform name.
        platform: &'static str,
        /// The HTTP status of the second refusal.
        status: u16,
        /// The platform's code in that refusal, if it sent one.
        code: Option<String>,
        /// The platform's message, with the tokens sent scrubbed out.
        message: String,
    },

    /// An authenticated call was refused because of its token and could not be repeated
    /// with the renewed token: its body is a stream, which cannot be sent twice. The
    /// token *was* renewed, so sending a new request works.
    #[error("{platform}: the token was refused ({}) and the request cannot be repeated: its body is a stream that cannot be cloned; the token was renewed, so a new request will carry the new one", refusal_summary(*.status, .code.as_deref(), .message))]
    NotRepeatable {
        /// Platform name.
        platform: &'static str,
        /// The HTTP status of the refusal.
        status: u16,
        /// The platform's code in the refusal, if it sent one.
        code: Option<String>,
        /// The platform's message, with the token sent scrubbed out.
        message: String,
    },

    /// A resource the caller asked for is not offered (an ac region without an enabled
    /// URL of the kind asked for).
    #[error("{platform}: {resource}: {reason}")]
    Unavailable {
        /// Platform name.
        platform: &'static str,
        /// What was asked for, e.g. `region 华东一区 (11112)`.
        resource: String,
        /// Why it cannot be had.
        reason: String,
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

    /// The same error with every form of each of `sent` (the secrets a client sent:
    /// a token, a signature, a ticket) scrubbed from the text the platform supplied —
    /// its code, message and further fields, the excerpt of its body, the names of
    /// resources it described. See [`crate::scrub`]; an excerpt is best made of a body
    /// scrubbed first ([`crate::Sent::excerpt`]), since one cut or redacted in part
    /// may hold a part of a secret that no longer matches.
    ///
    /// ```
    /// let err = tokenkit_core::Error::rejected("ac", "10004", "signature abc123 is wrong", "parameter invalid", true);
    /// assert!(!err.scrubbed(&["abc123"]).to_string().contains("abc123"));
    /// ```
    pub fn scrubbed(mut self, sent: &[&str]) -> Self {
        let clean = |text: &mut String| {
            if sent.iter().any(|s| !s.is_empty()) {
                *text = crate::scrub(text, sent);
            }
        };
        match &mut self {
            Self::Rejected {
                code,
                message,
                details,
                ..
            } => {
                clean(code);
                clean(message);
                for (_, value) in details {
                    clean(value);
                }
            }
            Self::Transient { excerpt, .. } => clean(excerpt),
            Self::Malformed {
                reason, excerpt, ..
            } => {
                clean(reason);
                clean(excerpt);
            }
            Self::TokenRefused { code, message, .. }
            | Self::NotRepeatable { code, message, .. } => {
                clean(message);
                if let Some(code) = code {
                    clean(code);
                }
            }
            Self::Suspended {
                resource, status, ..
            } => {
                clean(resource);
                clean(status);
            }
            Self::Unavailable {
                resource, reason, ..
            } => {
                clean(resource);
                clean(reason);
            }
            _ => {}
        }
        self
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
            // The token was renewed: the same call, sent again, carries the new one.
            Self::NotRepeatable { .. } => true,
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

    /// Whether a platform refused the token of an authenticated call (even after the
    /// one renewal the call is allowed), see [`Error::TokenRefused`] and
    /// [`Error::NotRepeatable`].
    pub fn is_token_refused(&self) -> bool {
        matches!(self, Self::TokenRefused { .. } | Self::NotRepeatable { .. })
    }

    /// Whether the platform's answer was implausible ([`Error::Implausible`]).
    pub fn is_implausible(&self) -> bool {
        matches!(self, Self::Implausible { .. })
    }

    /// Whether the request may have taken effect (do not repeat a spending operation).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The platform's code, for a platform refusal.
    pub fn platform_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            Self::TokenRefused { code, .. } | Self::NotRepeatable { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The platform's own message, for a platform refusal.
    pub fn platform_message(&self) -> Option<&str> {
        match self {
            Self::Rejected { message, .. }
            | Self::TokenRefused { message, .. }
            | Self::NotRepeatable { message, .. } => Some(message),
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
            | Self::Suspended { platform, .. }
            | Self::Unavailable { platform, .. }
            | Self::TokenRefused { platform, .. }
            | Self::NotRepeatable { platform, .. }
            | Self::Implausible { platform, .. } => Some(platform),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
