//! [`Sent`]: the secrets one request carried, kept beside its answer so that nothing
//! taken from the answer repeats them.

use std::fmt;

use crate::redact::EXCERPT_WINDOW;
use crate::scrub::longest_form;
use crate::{Error, Secret, excerpt, scrub};

/// The secrets one request carried — a ticket, a signature, a token, a password, and
/// any key they were derived with — so that every text taken from the platform's
/// answer (its message, a detail, an excerpt of the body) has them scrubbed, in every
/// form [`scrub`] knows, before it reaches an error, a log line or the user.
///
/// A platform client builds one per request and hands it to the answer
/// ([`Response::with_sent`](crate::http::Response::with_sent)); every error the answer
/// makes is then clean, and [`Sent::scrub`] cleans what the client takes out itself.
///
/// ```
/// use tokenkit_core::Sent;
/// let sent = Sent::new().with("tick+et").with("");
/// assert_eq!(sent.scrub("bad ticket tick%2Bet"), "bad ticket [redacted]");
/// assert_eq!(format!("{sent:?}"), "Sent([redacted; 1])");
/// ```
#[derive(Clone, Default)]
pub struct Sent {
    secrets: Vec<Secret>,
}

impl Sent {
    /// Nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret; an empty one is ignored.
    pub fn with(mut self, secret: impl Into<Secret>) -> Self {
        self.push(secret);
        self
    }

    /// Adds a secret; an empty one is ignored.
    pub fn push(&mut self, secret: impl Into<Secret>) {
        let secret = secret.into();
        if !secret.is_empty() {
            self.secrets.push(secret);
        }
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` without any form of the secrets.
    pub fn scrub(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_owned();
        }
        scrub(text, &self.exposed())
    }

    /// The excerpt of `body` an error may quote ([`excerpt`]), made of the body with
    /// the secrets already scrubbed: scrubbing an excerpt afterwards would miss a secret
    /// cut at its end, or split by the redaction of a long token-like run around it.
    pub fn excerpt(&self, body: &[u8]) -> String {
        let Some(longest) = self
            .secrets
            .iter()
            .map(|s| longest_form(s.expose_secret().len()))
            .max()
        else {
            return excerpt(body);
        };
        // Scrubbing shortens the text: scrub a window that still fills the excerpt's
        // own afterwards, with room for a secret cut at the window's end beyond it.
        let needed = EXCERPT_WINDOW + longest;
        let mut window = needed;
        loop {
            let end = window.min(body.len());
            let clean = self.scrub(&String::from_utf8_lossy(&body[..end]));
            if end == body.len() || clean.len() >= needed {
                return excerpt(clean.as_bytes());
            }
            window = window.saturating_mul(2);
        }
    }

    /// A malformed-response error ([`Error::malformed`]) about `body`, its reason and
    /// its excerpt without the secrets.
    pub fn malformed(
        &self,
        platform: &'static str,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Error {
        Error::Malformed {
            platform,
            reason: self.scrub(&reason.into()),
            excerpt: self.excerpt(body),
        }
    }

    /// `error` with the secrets scrubbed from every text the platform supplied
    /// ([`Error::scrubbed`]).
    pub fn error(&self, error: Error) -> Error {
        if self.is_empty() {
            return error;
        }
        error.scrubbed(&self.exposed())
    }

    fn exposed(&self) -> Vec<&str> {
        self.secrets.iter().map(Secret::expose_secret).collect()
    }
}

impl fmt::Debug for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sent([redacted; {}])", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EXCERPT_LEN;

    #[test]
    fn the_excerpt_is_made_of_the_scrubbed_body() {
        let secret = "SENTINEL é-42";
        let sent = Sent::new().with(secret);
        // Cut at the excerpt's length: the first half of the secret would stay.
        let body = format!("{}{secret}", "x ".repeat(EXCERPT_LEN / 2 - 4));
        let cut = excerpt(body.as_bytes());
        assert!(cut.contains("SENTI"), "the plain excerpt cuts it: {cut}");
        assert!(!sent.excerpt(body.as_bytes()).contains("SENTI"));
        // Inside a long token-like run, the run is redacted and the rest would stay.
        let body = format!("password=abcdefghijklmnopqrstuvwxyz{secret} and more");
        let split = excerpt(body.as_bytes());
        assert!(
            split.contains("é-42"),
            "the plain excerpt splits it: {split}"
        );
        let clean = sent.excerpt(body.as_bytes());
        assert!(
            !clean.contains("é-42") && clean.contains("and more"),
            "{clean}"
        );
        // Many echoes before the cut: the window grows until the excerpt is full.
        let body = format!("{}tail", format!("{secret} ").repeat(200));
        let clean = sent.excerpt(body.as_bytes());
        assert!(!clean.contains("SENTI"), "{clean}");
        assert_eq!(Sent::new().excerpt(b"plain"), "plain");
    }

    #[test]
    fn errors_and_empty_lists() {
        let sent = Sent::new().with(String::new());
        assert!(sent.is_empty());
        assert_eq!(sent.scrub("as is"), "as is");
        let err = Error::rejected("ac", "1", "pw hunter2", "bad", false);
        let clean = Sent::new().with("hunter2").error(err);
        assert_eq!(clean.platform_message(), Some("pw [redacted]"));
        let malformed = Sent::new()
            .with("hunter2")
            .malformed("ac", "no hunter2", b"pw=hunter2");
        assert_eq!(
            malformed.to_string(),
            "ac: malformed response: no [redacted]; body starts: \"pw=[redacted]\""
        );
    }
}
