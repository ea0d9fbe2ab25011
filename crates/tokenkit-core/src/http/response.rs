//! [`Response`]: an answer read in full within the size cap, and the errors made of it
//! (status checks, JSON decoding, malformed answers), scrubbed of what the request
//! carried.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::DEFAULT_MAX_LIFETIME;
use crate::error::TransientKind;
use crate::{Arrival, Error, Sent};

/// A response read in full (within the size cap).
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// When it arrived, on both clocks, with the server's `Date` when that is plausible
    /// (within the client's bound of the local clock).
    pub arrival: Arrival,
    /// The `Date` header as sent, even when it was discarded as implausible.
    pub date_header: Option<SystemTime>,
    /// The body.
    pub body: Bytes,
    pub(super) platform: &'static str,
    pub(super) max_lifetime: Duration,
    /// The secrets the request carried, scrubbed from every error made of this answer.
    pub(super) sent: Sent,
}

impl Response {
    /// A response from its parts, as [`Http::send`](super::Http::send) would have read it (its `Date` as
    /// `arrival` holds it, the default lifetime cap, no secrets sent): for parsers fed
    /// without a server (property tests) and answers obtained by other means.
    ///
    /// ```
    /// use tokenkit_core::Arrival;
    /// use tokenkit_core::http::Response;
    /// let response = Response::from_parts("ilab", 200, Arrival::now(), r#"{"code": 0}"#);
    /// let body: serde_json::Value = response.json()?;
    /// assert_eq!(body["code"], 0);
    /// # Ok::<(), tokenkit_core::Error>(())
    /// ```
    pub fn from_parts(
        platform: &'static str,
        status: u16,
        arrival: Arrival,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            status,
            arrival,
            date_header: arrival.server_date,
            body: body.into(),
            platform,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            sent: Sent::new(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Decodes the body as JSON after checking the status: 5xx and 429 are transient,
    /// 3xx is refused (redirects are not followed), and a body that is not the expected
    /// JSON is a malformed-response error with a (redacted) excerpt. A 4xx whose body
    /// decodes is returned, so the platform can read its own error code.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.check_status()?;
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.malformed(format!("empty body (HTTP {})", self.status)));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() {
                "not JSON"
            } else {
                "unexpected JSON"
            };
            self.malformed(format!(
                "{what} (HTTP {}): {}",
                self.status,
                crate::unquoted(&e.to_string())
            ))
        })
    }

    /// Fails on 3xx, 429 and 5xx.
    pub fn check_status(&self) -> Result<(), Error> {
        let kind = match self.status {
            429 => TransientKind::RateLimited,
            500..=599 => TransientKind::ServerError,
            300..=399 => {
                return Err(self.malformed(format!(
                    "unexpected redirect (HTTP {}); redirects are not followed",
                    self.status
                )));
            }
            _ => return Ok(()),
        };
        Err(Error::Transient {
            platform: self.platform,
            kind,
            status: Some(self.status),
            excerpt: self.excerpt(),
        })
    }

    /// An expiry estimate for a token in this response, capped at the client's plausible
    /// maximum lifetime ([`HttpConfig::max_lifetime`](super::HttpConfig::max_lifetime)).
    pub fn expiry_estimate(&self) -> crate::ExpiryEstimate {
        crate::Expiry::estimate(self.arrival).max_lifetime(self.max_lifetime)
    }

    /// A malformed-response error about this response: its reason and the excerpt of
    /// the body without the secrets the request carried.
    pub fn malformed(&self, reason: impl Into<String>) -> Error {
        self.sent.malformed(self.platform, reason, &self.body)
    }

    /// This answer to a request that carried `sent`: every error made of it from now on
    /// ([`Response::json`], [`Response::check_status`], [`Response::malformed`]) has
    /// them scrubbed, and [`Response::scrub`] cleans what the caller takes out itself.
    ///
    /// ```no_run
    /// # use tokenkit_core::{Sent, http::{Http, HttpConfig, Spend}};
    /// # async fn demo(http: Http, ticket: &str) -> Result<(), tokenkit_core::Error> {
    /// let request = http.client().get("https://ilab.example/token").query(&[("ticket", ticket)]);
    /// let answer = http.send(request, Spend::Yes("exchange")).await?
    ///     .with_sent(Sent::new().with(ticket));
    /// let body: serde_json::Value = answer.json()?; // an echo of the ticket is scrubbed
    /// # Ok(()) }
    /// ```
    pub fn with_sent(mut self, sent: Sent) -> Self {
        self.sent = sent;
        self
    }

    /// The secrets the request carried ([`Response::with_sent`]).
    pub fn sent(&self) -> &Sent {
        &self.sent
    }

    /// `text` (taken from this answer) without the secrets the request carried.
    pub fn scrub(&self, text: &str) -> String {
        self.sent.scrub(text)
    }

    /// The excerpt of the body an error may quote: token-like runs redacted
    /// ([`crate::excerpt`]) and the secrets the request carried scrubbed.
    pub fn excerpt(&self) -> String {
        self.sent.excerpt(&self.body)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn serde_messages_lose_quoted_values() {
        assert_eq!(
            crate::unquoted(r#"invalid type: string "SENTINEL", expected u64 at line 1"#),
            r#"invalid type: string "…", expected u64 at line 1"#
        );
    }
}
