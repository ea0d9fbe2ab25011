//! HTTP plumbing shared by every platform crate.
//!
//! One `reqwest::Client` (injectable), connect and total timeouts, no redirects (a
//! redirect could carry a token to another host), a response-size cap, and one place
//! that turns transport failures and status codes into typed errors. A request that
//! may have reached the server but got no answer is `OutcomeUnknown` when the operation
//! spends something, so nobody retries it blindly.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{DATE, HeaderMap};
use serde::de::DeserializeOwned;

use crate::error::TransientKind;
use crate::{Arrival, Error, Sent};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("tokenkit/", env!("CARGO_PKG_VERSION"));

/// The default cap on a response body.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// How far a response's `Date` may be from the local clock and still be believed
/// (24 h: wider than any time-zone mistake of a misconfigured clock). Beyond it one of
/// the two clocks is absurd, and the `Date` is discarded with a warning: the other
/// estimates of an expiry decide (PROTOCOLS.md, common rules).
pub const DEFAULT_MAX_DATE_SKEW: Duration = Duration::from_secs(24 * 3600);

/// The longest token lifetime believed when a platform client sets none (7 days).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// HTTP settings of a platform client.
///
/// ```
/// use std::time::Duration;
/// use tokenkit_core::http::{Http, HttpConfig};
/// let http = Http::new("ilab", HttpConfig::default().timeout(Duration::from_secs(5)))?;
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HttpConfig {
    connect_timeout: Duration,
    timeout: Duration,
    max_body: usize,
    max_date_skew: Duration,
    max_lifetime: Option<Duration>,
    client: Option<reqwest::Client>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_body: DEFAULT_MAX_BODY,
            max_date_skew: DEFAULT_MAX_DATE_SKEW,
            max_lifetime: None,
            client: None,
        }
    }
}

impl HttpConfig {
    /// Time allowed to establish a connection (only for the client built here).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request, body included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How far a response's `Date` may differ from the local clock before it is
    /// discarded (default [`DEFAULT_MAX_DATE_SKEW`]).
    pub fn max_date_skew(mut self, skew: Duration) -> Self {
        self.max_date_skew = skew;
        self
    }

    /// The longest token lifetime believed: a platform stating a longer one is capped
    /// here, with a warning. Each platform client has its own default (the documented
    /// lifetimes are hours to a day); [`DEFAULT_MAX_LIFETIME`] otherwise.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Sets the lifetime cap unless one was set: how a platform client gives its own
    /// default without overriding the user's.
    pub fn or_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime.get_or_insert(max);
        self
    }

    /// Use this client (its pool, proxy and TLS settings). It should not follow
    /// redirects; the total timeout is still applied per request.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
}

/// Whether an operation spends something that a blind retry would spend again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Safe to repeat (login, renew of ac, state).
    No,
    /// Spends a scarce resource (an ilab refresh, a single-use ticket); the name is used
    /// in the `OutcomeUnknown` error.
    Yes(&'static str),
}

/// A platform's HTTP client.
#[derive(Debug, Clone)]
pub struct Http {
    platform: &'static str,
    client: reqwest::Client,
    timeout: Duration,
    max_body: usize,
    max_date_skew: Duration,
    max_lifetime: Duration,
}

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
    platform: &'static str,
    max_lifetime: Duration,
    /// The secrets the request carried, scrubbed from every error made of this answer.
    sent: Sent,
}

impl Http {
    /// A client for `platform` (used in error messages).
    pub fn new(platform: &'static str, config: HttpConfig) -> Result<Self, Error> {
        let client = match config.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(config.connect_timeout)
                .timeout(config.timeout)
                .build()
                .map_err(|_| Error::config("the HTTP client could not be built"))?,
        };
        Ok(Self {
            platform,
            client,
            timeout: config.timeout,
            max_body: config.max_body,
            max_date_skew: config.max_date_skew,
            max_lifetime: config.max_lifetime.unwrap_or(DEFAULT_MAX_LIFETIME),
        })
    }

    /// The underlying client, to build requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The platform name.
    pub fn platform(&self) -> &'static str {
        self.platform
    }

    /// Sends a request and reads the whole body within the cap. Its errors hold no text
    /// of the answer; give the answer what the request carried
    /// ([`Response::with_sent`]) before making errors of it.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        spend: Spend,
    ) -> Result<Response, Error> {
        let request = request
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .timeout(self.timeout);
        let started = tokio::time::Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&e, spend, started))?;
        self.read_within(response, spend, started).await
    }

    /// Reads an answer obtained elsewhere (an authenticated call's) in full, within the
    /// size cap, as [`Http::send`] reads its own; a broken connection is transient.
    pub async fn read(&self, response: reqwest::Response) -> Result<Response, Error> {
        self.read_within(response, Spend::No, tokio::time::Instant::now())
            .await
    }

    async fn read_within(
        &self,
        mut response: reqwest::Response,
        spend: Spend,
        started: tokio::time::Instant,
    ) -> Result<Response, Error> {
        let date_header = server_date(response.headers());
        let arrival = Arrival::now();
        let arrival = arrival.with_server_date(self.plausible_date(date_header, arrival.wall));
        let status = response.status().as_u16();
        if let Some(len) = response.content_length()
            && len > self.max_body as u64
        {
            return Err(self.too_large(len));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            let error = self.transport_error(&e, spend, started);
            cut_off(error, status, body.len())
        })? {
            if body.len() + chunk.len() > self.max_body {
                return Err(self.too_large((body.len() + chunk.len()) as u64));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            arrival,
            date_header,
            body: body.freeze(),
            platform: self.platform,
            max_lifetime: self.max_lifetime,
            sent: Sent::new(),
        })
    }

    /// The `Date` if it is within the bound of the local clock; otherwise `None`, with
    /// a warning (one of the clocks is absurd; the other estimates decide).
    fn plausible_date(&self, date: Option<SystemTime>, wall: SystemTime) -> Option<SystemTime> {
        let date = date?;
        let skew = match wall.duration_since(date) {
            Ok(ahead) => ahead,
            Err(behind) => behind.duration(),
        };
        if skew <= self.max_date_skew {
            return Some(date);
        }
        tracing::warn!(
            platform = self.platform,
            date = %crate::civil::rfc3339_utc(date),
            local = %crate::civil::rfc3339_utc(wall),
            bound_s = self.max_date_skew.as_secs(),
            "the response's Date differs from the local clock by more than the bound; ignored"
        );
        None
    }

    fn too_large(&self, len: u64) -> Error {
        Error::Malformed {
            platform: self.platform,
            reason: format!(
                "response body of at least {len} bytes exceeds the {} byte cap",
                self.max_body
            ),
            excerpt: String::new(),
        }
    }

    fn transport_error(
        &self,
        e: &reqwest::Error,
        spend: Spend,
        started: tokio::time::Instant,
    ) -> Error {
        transport_error(self.platform, e, spend, started)
    }
}

/// An answer whose status arrived but whose body broke off: for a spending operation the
/// outcome is unknown *because the answer was cut*, not because none came (the waiting
/// time says nothing then).
fn cut_off(error: Error, status: u16, received: usize) -> Error {
    match error {
        Error::OutcomeUnknown {
            platform,
            operation,
            waited,
            ..
        } => Error::OutcomeUnknown {
            platform,
            operation,
            waited,
            cut_off: Some(crate::CutOff {
                status: Some(status),
                received,
            }),
        },
        other => other,
    }
}

/// Classifies a transport error. reqwest's own message is not kept: it names the URL,
/// whose query may hold a ticket, a signature or a token.
pub(crate) fn transport_error(
    platform: &'static str,
    e: &reqwest::Error,
    spend: Spend,
    started: tokio::time::Instant,
) -> Error {
    let transient = |kind| Error::Transient {
        platform,
        kind,
        status: None,
        excerpt: String::new(),
    };
    if e.is_builder() {
        return Error::config(format!(
            "{platform}: the request could not be built (check the base URL)"
        ));
    }
    if e.is_connect() {
        return transient(TransientKind::Connect);
    }
    match spend {
        Spend::Yes(operation) => Error::OutcomeUnknown {
            platform,
            operation,
            waited: started.elapsed(),
            // Not a timeout: the connection broke before an answer arrived.
            cut_off: (!e.is_timeout()).then_some(crate::CutOff {
                status: None,
                received: 0,
            }),
        },
        Spend::No if e.is_timeout() => transient(TransientKind::Timeout),
        Spend::No => transient(TransientKind::Interrupted),
    }
}

/// The response's `Date` header, when it is one (RFC 9110 formats).
pub(crate) fn server_date(headers: &HeaderMap) -> Option<SystemTime> {
    httpdate::parse_http_date(headers.get(DATE)?.to_str().ok()?).ok()
}

impl Response {
    /// A response from its parts, as [`Http::send`] would have read it (its `Date` as
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
    /// maximum lifetime ([`HttpConfig::max_lifetime`]).
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
