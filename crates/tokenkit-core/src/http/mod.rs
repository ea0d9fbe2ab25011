//! HTTP plumbing shared by every platform crate.
//!
//! One `reqwest::Client` (injectable), connect and total timeouts, no redirects (a
//! redirect could carry a token to another host), a response-size cap, a proxy and extra
//! trusted CAs when asked, and one place that turns transport failures and status codes
//! into typed errors. A request that
//! may have reached the server but got no answer is `OutcomeUnknown` when the operation
//! spends something, so nobody retries it blindly.

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use reqwest::header::{DATE, HeaderMap};

use crate::{Arrival, Error, Sent};

mod build;
mod config;
mod failure;
mod proxy;
mod response;

pub use config::HttpConfig;
use failure::cut_off;
pub(crate) use failure::{redirected, transport_error};
pub use response::Response;

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
///
/// Its `Debug` does not show the `reqwest::Client` (whose own `Debug` lists its proxies
/// and default headers).
#[derive(Clone)]
pub struct Http {
    platform: &'static str,
    client: reqwest::Client,
    /// Whether the client is the user's own ([`HttpConfig::client`]), which may follow
    /// redirects.
    user_supplied: bool,
    timeout: Duration,
    max_body: usize,
    max_date_skew: Duration,
    max_lifetime: Duration,
}

impl Http {
    /// A client for `platform` (used in error messages).
    ///
    /// Fails with a configuration error when a proxy or CA setting comes with a client
    /// of the user's own (which has its own), when the proxy URL or a CA is unusable,
    /// and, built with `rustls-no-provider` alone, when no rustls crypto provider is
    /// installed.
    pub fn new(platform: &'static str, config: HttpConfig) -> Result<Self, Error> {
        let user_supplied = config.client.is_some();
        let client = match &config.client {
            Some(client) => {
                if let Some(setting) = config.builds_settings() {
                    return Err(Error::config(format!(
                        "{platform}: {setting} applies to the client tokenkit builds; \
                         a client of your own (HttpConfig::client) has its own: set it there"
                    )));
                }
                client.clone()
            }
            None => build::client(platform, &config)?,
        };
        Ok(Self {
            platform,
            client,
            user_supplied,
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

    /// Authenticated calls on this client with its caps: the total timeout on every
    /// request, and no answer from a redirect (which a user's own client may follow).
    pub fn calls<C>(
        &self,
        scheme: impl crate::auth::TokenScheme,
        cache: std::sync::Arc<C>,
    ) -> crate::auth::AuthClient
    where
        C: AsRef<crate::TokenCache> + Send + Sync + 'static,
    {
        crate::auth::AuthClient::new(self.client.clone(), scheme, cache)
            .timeout(self.timeout)
            .refusing_redirects()
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
        let (client, request) = request
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .timeout(self.timeout)
            .build_split();
        let started = tokio::time::Instant::now();
        let request = request.map_err(|e| self.transport_error(&e, spend, started))?;
        let url = request.url().clone();
        let response = client
            .execute(request)
            .await
            .map_err(|e| self.transport_error(&e, spend, started))?;
        // Only a user's client can have followed a redirect; the answer is refused
        // whatever it says (the request's secrets may have gone to the target).
        if response.url() != &url {
            return Err(failure::redirected(self.platform, response.url()));
        }
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
        // Only a proxy answers 407 (RFC 9110 §15.5.8): the platform never saw the request.
        if status == 407 {
            return Err(failure::proxy_refused(self.platform));
        }
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

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("platform", &self.platform)
            .field(
                "client",
                &if self.user_supplied {
                    "[user-supplied]"
                } else {
                    "[built]"
                },
            )
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("max_date_skew", &self.max_date_skew)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// The response's `Date` header, when it is one (RFC 9110 formats).
pub(crate) fn server_date(headers: &HeaderMap) -> Option<SystemTime> {
    httpdate::parse_http_date(headers.get(DATE)?.to_str().ok()?).ok()
}
