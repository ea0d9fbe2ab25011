//! The two operations of the platform: exchange a ticket (§1.1), refresh (§1.2).

use std::time::Duration;

use std::sync::Arc;

use tokenkit_core::http::{Http, HttpConfig, Spend};
use tokenkit_core::{AppSecret, Error, RefreshToken, Sent, Token};

use crate::codes::Operation;
use crate::reply::{self, NextRefresh};
use crate::{Dialect, HexCase, PLATFORM, Ticket, signature};

/// The longest token lifetime believed by default (48 h): the documents give 24 h
/// (PROTOCOLS.md §1.1). Longer stated lifetimes are capped, with a warning;
/// [`HttpConfig::max_lifetime`](tokenkit_core::http::HttpConfig::max_lifetime) sets another.
pub const MAX_LIFETIME: Duration = Duration::from_secs(48 * 3600);

/// How the three parameters travel. The documents allow `POST/GET` with a query string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestMethod {
    /// `GET` with the parameters in the query string, as the documents' examples do
    /// (the default).
    #[default]
    Get,
    /// `POST` with an `application/x-www-form-urlencoded` body, which keeps tickets and
    /// tokens out of access logs that record URLs.
    PostForm,
}

/// A client of one experiment's credentials (`appid`, `secret`) on one platform.
/// Cloning it is cheap (one reference count).
///
/// ```no_run
/// use tokenkit_ilab::{IlabClient, Ticket};
/// # async fn demo() -> Result<(), tokenkit_ilab::Error> {
/// let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
/// let token = client.exchange(&Ticket::from_url_value("eyJ0eXAi…")?).await?;
/// println!("hello {}", token.user().map_or("?", |u| u.id.as_str()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct IlabClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: Http,
    base_url: String,
    appid: String,
    secret: AppSecret,
    dialect: Dialect,
    hex_case: HexCase,
    method: RequestMethod,
}

/// Builds an [`IlabClient`]; see [`IlabClient::builder`].
#[derive(Debug)]
pub struct IlabClientBuilder {
    base_url: String,
    appid: String,
    secret: AppSecret,
    dialect: Dialect,
    hex_case: HexCase,
    method: RequestMethod,
    http: HttpConfig,
}

impl IlabClientBuilder {
    /// The endpoint paths and refresh parameter (default: [`Dialect::oauth`]).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// The letter case of the signature (default upper, as the documents require).
    pub fn hex_case(mut self, case: HexCase) -> Self {
        self.hex_case = case;
        self
    }

    /// How the parameters travel (default `GET` with a query string).
    pub fn method(mut self, method: RequestMethod) -> Self {
        self.method = method;
        self
    }

    /// Timeouts, body cap, or an own `reqwest::Client`.
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// Checks the base URL and builds the client.
    pub fn build(self) -> Result<IlabClient, Error> {
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|_| Error::config("ilab: the base URL is not a valid URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config("ilab: the base URL must be http or https"));
        }
        if self.appid.trim().is_empty() {
            return Err(Error::config("ilab: the appid is empty"));
        }
        Ok(IlabClient {
            inner: Arc::new(Inner {
                http: Http::new(PLATFORM, self.http.or_max_lifetime(MAX_LIFETIME))?,
                base_url,
                appid: self.appid,
                secret: self.secret,
                dialect: self.dialect,
                hex_case: self.hex_case,
                method: self.method,
            }),
        })
    }
}

impl IlabClient {
    /// Authenticated data calls with this client's HTTP settings: the tokens of
    /// `cache` in the `access_token` query parameter, one refresh (within the grant's
    /// budget) and one repeat on `code 2` ([`IlabScheme`](crate::IlabScheme)).
    pub fn calls<C>(&self, cache: std::sync::Arc<C>) -> tokenkit_core::auth::AuthClient
    where
        C: AsRef<tokenkit_core::TokenCache> + Send + Sync + 'static,
    {
        self.inner.http.calls(crate::IlabScheme, cache)
    }

    /// A builder: the platform's base URL (`https://host:8180`), the experiment's
    /// `appid` and its `secret`.
    pub fn builder(
        base_url: impl Into<String>,
        appid: impl Into<String>,
        secret: impl Into<AppSecret>,
    ) -> IlabClientBuilder {
        IlabClientBuilder {
            base_url: base_url.into(),
            appid: appid.into(),
            secret: secret.into(),
            dialect: Dialect::default(),
            hex_case: HexCase::default(),
            method: RequestMethod::default(),
            http: HttpConfig::default(),
        }
    }

    /// The experiment's appid.
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The dialect in use.
    pub fn dialect(&self) -> &Dialect {
        &self.inner.dialect
    }

    /// The HTTP plumbing (timeouts, body cap) of this client.
    pub(crate) fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The signature of `value` with this client's appid and secret (§1.1, §1.2, §1.4).
    pub(crate) fn sign(&self, value: &str) -> String {
        let inner = &self.inner;
        signature(
            value,
            &inner.appid,
            inner.secret.expose_secret(),
            inner.hex_case,
        )
    }

    /// What a request carrying `value` (a ticket, a refresh credential, a token) and
    /// its signature sends, with the app secret the signature is made with: a platform
    /// may echo any of it, and every text taken from its answer is scrubbed of them.
    pub(crate) fn sent(&self, value: &str) -> Sent {
        Sent::new()
            .with(value)
            .with(self.sign(value))
            .with(self.inner.secret.as_secret().clone())
    }

    /// The URL of `path` on this platform.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.base_url, path)
    }

    /// Exchanges a launch ticket for a token and the user's identity (§1.1).
    ///
    /// The ticket is single-use: a request that timed out after it was sent is
    /// [`Error::OutcomeUnknown`] and must not be repeated.
    pub async fn exchange(&self, ticket: &Ticket) -> Result<Token, Error> {
        if ticket.is_empty() {
            return Err(Error::config("ilab: the ticket is empty"));
        }
        let next = if self.inner.dialect.refreshes_with_access_token() {
            NextRefresh::AccessToken
        } else {
            NextRefresh::FromReply
        };
        let path = self.inner.dialect.exchange_path();
        let response = self
            .send(path, "ticket", ticket.expose_secret(), "ticket exchange")
            .await?;
        reply::parse(&response, Operation::Exchange, next)
    }

    /// Refreshes with the grant's refresh credential (§1.2; in the `open/api/v2`
    /// dialect, the grant's original access token, §1.3).
    ///
    /// The returned token carries the *same* credential for the next refresh: a token
    /// obtained by refreshing cannot start a new refresh chain (§1.2). One grant allows
    /// two refreshes; a refresh that timed out after it was sent is
    /// [`Error::OutcomeUnknown`] and must not be repeated.
    pub async fn refresh(&self, credential: &RefreshToken) -> Result<Token, Error> {
        let value = credential.expose_secret();
        if value.is_empty() {
            return Err(Error::config("ilab: the refresh token is empty"));
        }
        let dialect = &self.inner.dialect;
        let response = self
            .send(
                dialect.refresh_path(),
                dialect.refresh_param(),
                value,
                "refresh",
            )
            .await?;
        reply::parse(&response, Operation::Refresh, NextRefresh::Keep(value))
    }

    /// Signs and sends one request. Every operation of this platform spends something
    /// (a single-use ticket, one of two refreshes), so none is retried blindly. The
    /// answer knows what the request carried ([`IlabClient::sent`]), so every error
    /// made of it is scrubbed of that.
    async fn send(
        &self,
        path: &str,
        param: &str,
        value: &str,
        operation: &'static str,
    ) -> Result<tokenkit_core::http::Response, Error> {
        let inner = &self.inner;
        let signature = self.sign(value);
        let params = [
            (param, value),
            ("appid", inner.appid.as_str()),
            ("signature", signature.as_str()),
        ];
        let url = format!("{}{}", inner.base_url, path);
        // `query`/`form` percent-encode each value exactly once (`+` → `%2B`, §1.1).
        let request = match inner.method {
            RequestMethod::Get => inner.http.client().get(&url).query(&params),
            RequestMethod::PostForm => inner.http.client().post(&url).form(&params),
        };
        tracing::debug!(platform = PLATFORM, path, operation, "request sent");
        let response = inner.http.send(request, Spend::Yes(operation)).await?;
        Ok(response.with_sent(self.sent(value)))
    }
}
