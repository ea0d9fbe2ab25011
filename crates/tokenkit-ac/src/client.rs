//! `AcClient`: the three token operations of the ac OpenAPI (PROTOCOLS.md §2.1–2.3).

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokenkit_core::http::{Http, HttpConfig, Response, Spend};
use tokenkit_core::{AccessToken, Error, Password, Token};

use crate::region::{Login, Region, parse_regions};
use crate::reply::{self, describe};
use crate::{PLATFORM, token};

const TOKENS: &str = "/ac/openapi/v2/tokens";
const NEXT: &str = "/ac/openapi/v2/tokens/next";
const STATE: &str = "/ac/openapi/v2/tokens/state";

/// The lifetime given to a token that states no `expireTime` (an opaque token).
pub const DEFAULT_ASSUMED_LIFETIME: Duration = Duration::from_secs(3600);

/// Builds an [`AcClient`].
#[derive(Debug)]
pub struct AcClientBuilder {
    base_url: String,
    user: Option<String>,
    password: Option<Password>,
    org_id: Option<String>,
    http: HttpConfig,
    assumed_lifetime: Duration,
}

impl AcClientBuilder {
    /// The login name (header `user`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The password (header `password`, sent as a sensitive header).
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The orgId issued to the third party (header `orgId`).
    pub fn org_id(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    /// HTTP settings (timeouts, body cap, a shared `reqwest::Client`).
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// The lifetime assumed for a token without an `expireTime` claim (default 1 h).
    pub fn assumed_lifetime(mut self, lifetime: Duration) -> Self {
        self.assumed_lifetime = lifetime;
        self
    }

    /// Builds the client. Credentials are only needed by [`AcClient::login`].
    pub fn build(self) -> Result<AcClient, Error> {
        let base = self.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|_| Error::config(format!("{PLATFORM}: the base URL is not a valid URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "{PLATFORM}: the base URL must be http or https"
            )));
        }
        Ok(AcClient {
            http: Http::new(PLATFORM, self.http)?,
            base,
            user: self.user,
            password: self.password,
            org_id: self.org_id,
            assumed_lifetime: self.assumed_lifetime,
        })
    }
}

/// A client of the ac token API.
///
/// ```no_run
/// use tokenkit_ac::{AcClient, ClusterSelector};
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice")
///     .password("s3cret")
///     .org_id("6048ce7ba15c2af2e8cec12991ec13cf")
///     .build()?;
/// let login = client.login().await?;
/// let token = login.token_for(&ClusterSelector::id("11112"))?;
/// let renewed = client.renew(token.access_token()).await?;
/// println!("{}", client.state(renewed.access_token()).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AcClient {
    http: Http,
    base: String,
    user: Option<String>,
    password: Option<Password>,
    org_id: Option<String>,
    assumed_lifetime: Duration,
}

impl AcClient {
    /// Authenticated calls with this client's self.http settings (no redirects, its
    /// timeouts): the tokens of `cache` in the `token` header, one renewal and one
    /// repeat when the platform refuses them ([`AcScheme`](crate::AcScheme)).
    pub fn calls<C>(&self, cache: std::sync::Arc<C>) -> tokenkit_core::auth::AuthClient
    where
        C: AsRef<tokenkit_core::TokenCache> + Send + Sync + 'static,
    {
        tokenkit_core::auth::AuthClient::new(self.http.client().clone(), crate::AcScheme, cache)
    }

    /// A builder for the platform at `base_url` (scheme, host and port).
    pub fn builder(base_url: impl Into<String>) -> AcClientBuilder {
        AcClientBuilder {
            base_url: base_url.into(),
            user: None,
            password: None,
            org_id: None,
            http: HttpConfig::default(),
            assumed_lifetime: DEFAULT_ASSUMED_LIFETIME,
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The login name, if configured.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// `POST /ac/openapi/v2/tokens` with headers `user`, `password`, `orgId` and an
    /// empty body: one token per region (§2.1).
    pub async fn login(&self) -> Result<Login, Error> {
        let (user, password, org_id) = self.credentials()?;
        let request = self
            .http
            .client()
            .post(format!("{}{TOKENS}", self.base))
            .header("user", plain_header("user", user)?)
            .header("password", password.header_value()?)
            .header("orgId", plain_header("orgId", org_id)?);
        let response = self.send(request).await?;
        let data = reply::data(&response)?;
        let raw = parse_regions(&data).map_err(|reason| response.malformed(reason))?;
        let regions = raw
            .into_iter()
            .map(|r| Region {
                token: r.token.map(|t| {
                    token::build(
                        t,
                        response.arrival,
                        Some(r.cluster.clone()),
                        Some(user),
                        self.assumed_lifetime,
                    )
                }),
                cluster: r.cluster,
                account_status: r.account_status,
            })
            .collect::<Vec<_>>();
        tracing::debug!(regions = regions.len(), "ac login succeeded");
        Ok(Login::new(regions))
    }

    /// `POST /ac/openapi/v2/tokens/next` with header `token`: a new token for the same
    /// cluster (§2.2). Refused with 10008 once the token is more than 24 h past expiry.
    /// The token's cluster has the id from its claims and an empty name.
    pub async fn renew(&self, current: &AccessToken) -> Result<Token, Error> {
        let request = self
            .http
            .client()
            .post(format!("{}{NEXT}", self.base))
            .header("token", current.header_value()?);
        let response = self.send(request).await?;
        match reply::data(&response)? {
            Value::String(raw) if !raw.trim().is_empty() => Ok(token::build(
                raw.trim().to_owned(),
                response.arrival,
                None,
                self.user.as_deref(),
                self.assumed_lifetime,
            )),
            Value::String(_) => Err(response.malformed("data is an empty string, not a token")),
            other => Err(response.malformed(format!(
                "data is {} where a token string was expected",
                describe(&other)
            ))),
        }
    }

    /// `GET /ac/openapi/v2/tokens/state` with header `token` (§2.3): the platform's
    /// message (`token is valid`), or its refusal (10008 for an expired or replaced
    /// token).
    pub async fn state(&self, token: &AccessToken) -> Result<String, Error> {
        let request = self
            .http
            .client()
            .get(format!("{}{STATE}", self.base))
            .header("token", token.header_value()?);
        let response = self.send(request).await?;
        match reply::data(&response)? {
            Value::String(message) => Ok(message),
            other => Ok(other.to_string()),
        }
    }

    /// Every request: `Content-Type: application/json` and an empty body, as the seed's
    /// examples send. Nothing here spends anything, so a timeout is transient.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, Error> {
        let request = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Vec::<u8>::new());
        self.http.send(request, Spend::No).await
    }

    fn credentials(&self) -> Result<(&str, &Password, &str), Error> {
        let missing = |what: &str| {
            Error::config(format!(
                "{PLATFORM}: login needs a {what}; set it on the client builder"
            ))
        };
        let user = self.user.as_deref().ok_or_else(|| missing("user"))?;
        let password = self.password.as_ref().ok_or_else(|| missing("password"))?;
        let org_id = self.org_id.as_deref().ok_or_else(|| missing("orgId"))?;
        Ok((user, password, org_id))
    }
}

/// A header value from configuration; UTF-8 names (`华东…` users) are sent as raw
/// bytes, which HTTP allows (obs-text), but control characters are refused.
fn plain_header(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
        Error::config(format!(
            "{PLATFORM}: the {name} contains characters that cannot go into an HTTP header"
        ))
    })
}
