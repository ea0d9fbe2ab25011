//! `AcClient`: the token operations of the ac OpenAPI (PROTOCOLS.md §2.1–2.3, §2.5) and
//! the authenticated calls made with its tokens.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokenkit_core::auth::AuthClient;
use tokenkit_core::http::{Http, HttpConfig, Response, Spend};
use tokenkit_core::{AccessToken, Error, Password, SecretKey, Sent, Token, TokenCache};

use crate::reply::{self, describe};
use crate::{AcScheme, PLATFORM, token};

/// The longest token lifetime believed by default (7 days): the documents state none,
/// and the platform's tokens live hours. Longer stated lifetimes (an `expireTime`
/// measured against an absurd clock) are capped, with a warning;
/// [`HttpConfig::max_lifetime`](tokenkit_core::http::HttpConfig::max_lifetime) sets another.
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

const NEXT: &str = "/ac/openapi/v2/tokens/next";
const STATE: &str = "/ac/openapi/v2/tokens/state";

/// The lifetime given to a token that states neither `expireTime` nor a JWT `exp`
/// (an opaque token).
pub const DEFAULT_ASSUMED_LIFETIME: Duration = Duration::from_secs(3600);

/// How the account logs in.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    /// `POST /ac/openapi/v2/tokens` with `user`, `password`, `orgId` (§2.1).
    Password { password: Password, org_id: String },
    /// `POST {auth}/api/user/v3/tokens` signed with the secret key (§2.5), the login
    /// the platform recommends.
    AccessKey {
        access_key: String,
        secret_key: SecretKey,
    },
}

/// Builds an [`AcClient`].
#[derive(Debug)]
pub struct AcClientBuilder {
    base_url: String,
    auth_url: Option<String>,
    user: Option<String>,
    password: Option<Password>,
    org_id: Option<String>,
    access_key: Option<(String, SecretKey)>,
    http: HttpConfig,
    assumed_lifetime: Duration,
}

impl AcClientBuilder {
    /// The login name (header `user`), for either login.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The password (header `password`, sent as a sensitive header); with
    /// [`AcClientBuilder::org_id`], the password login.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The orgId issued to the third party (header `orgId`), for the password login.
    pub fn org_id(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    /// The access key and its secret key: the access-key login (§2.5), which signs
    /// each login with the secret key and never sends it.
    pub fn access_key(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<SecretKey>,
    ) -> Self {
        self.access_key = Some((access_key.into(), secret_key.into()));
        self
    }

    /// The base URL of the platform's auth host, which serves the access-key login
    /// (default: the OpenAPI base URL).
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// HTTP settings (timeouts, body cap, a shared `reqwest::Client`).
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// The lifetime assumed for a token that states neither `expireTime` nor a JWT
    /// `exp` (default 1 h).
    pub fn assumed_lifetime(mut self, lifetime: Duration) -> Self {
        self.assumed_lifetime = lifetime;
        self
    }

    /// Builds the client. Credentials are only needed by [`AcClient::login`]; a client
    /// given both a password and an access key is a configuration error (choose one).
    pub fn build(self) -> Result<AcClient, Error> {
        let base = checked_url(&self.base_url, "base URL")?;
        let auth = match &self.auth_url {
            Some(url) => checked_url(url, "auth URL")?,
            None => base.clone(),
        };
        let credentials = match (self.password, self.org_id, self.access_key) {
            (Some(_), _, Some(_)) => {
                return Err(Error::config(format!(
                    "{PLATFORM}: give either a password (with an orgId) or an access key, not both"
                )));
            }
            (Some(password), Some(org_id), None) => {
                Some(Credentials::Password { password, org_id })
            }
            (Some(_), None, None) => {
                return Err(Error::config(format!(
                    "{PLATFORM}: the password login needs an orgId; set it on the client builder"
                )));
            }
            (None, _, Some((access_key, secret_key))) => Some(Credentials::AccessKey {
                access_key,
                secret_key,
            }),
            (None, _, None) => None,
        };
        Ok(AcClient {
            inner: Arc::new(Inner {
                http: Http::new(PLATFORM, self.http.or_max_lifetime(MAX_LIFETIME))?,
                base,
                auth,
                user: self.user,
                credentials,
                assumed_lifetime: self.assumed_lifetime,
            }),
        })
    }
}

fn checked_url(url: &str, what: &str) -> Result<String, Error> {
    let url = url.trim().trim_end_matches('/').to_owned();
    let parsed = reqwest::Url::parse(&url)
        .map_err(|_| Error::config(format!("{PLATFORM}: the {what} is not a valid URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{PLATFORM}: the {what} must be http or https"
        )));
    }
    Ok(url)
}

/// A client of the ac token API. Cloning it is cheap (one reference count).
///
/// ```no_run
/// use tokenkit_ac::{AcClient, ClusterSelector};
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice")
///     .access_key("85f96a42b13f4d2c8b760d2775bbcca8", "the-secret-key")
///     .build()?;
/// let login = client.login().await?;
/// let token = login.token_for(&ClusterSelector::id("11112"))?;
/// let renewed = client.renew(token.access_token()).await?;
/// println!("{}", client.state(renewed.access_token()).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AcClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: Http,
    pub(crate) base: String,
    pub(crate) auth: String,
    pub(crate) user: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) assumed_lifetime: Duration,
}

impl AcClient {
    /// A builder for the platform at `base_url` (scheme, host and port).
    pub fn builder(base_url: impl Into<String>) -> AcClientBuilder {
        AcClientBuilder {
            base_url: base_url.into(),
            auth_url: None,
            user: None,
            password: None,
            org_id: None,
            access_key: None,
            http: HttpConfig::default(),
            assumed_lifetime: DEFAULT_ASSUMED_LIFETIME,
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The OpenAPI base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The auth host's base URL (the access-key login's), without a trailing slash.
    pub fn auth_url(&self) -> &str {
        &self.inner.auth
    }

    /// The login name, if configured.
    pub fn user(&self) -> Option<&str> {
        self.inner.user.as_deref()
    }

    /// What identifies the account beside its user in store keys: the orgId of a
    /// password login, `ak-<access key>` of an access-key login (the access key is an
    /// identifier, not a secret), `-` without credentials.
    pub fn account_id(&self) -> String {
        match &self.inner.credentials {
            Some(Credentials::Password { org_id, .. }) => org_id.clone(),
            Some(Credentials::AccessKey { access_key, .. }) => format!("ak-{access_key}"),
            None => "-".into(),
        }
    }

    /// Authenticated calls with this client's HTTP settings (no redirects, its
    /// timeouts): the tokens of `cache` in the `token` header, one renewal and one
    /// repeat when the platform refuses them ([`AcScheme`]).
    pub fn calls<C>(&self, cache: Arc<C>) -> AuthClient
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        self.inner.http.calls(AcScheme, cache)
    }

    /// `POST /ac/openapi/v2/tokens/next` with header `token`: a new token for the same
    /// cluster (§2.2). Refused with 10008 once the token is more than 24 h past expiry.
    /// The token's cluster has the id from its claims and an empty name.
    pub async fn renew(&self, current: &AccessToken) -> Result<Token, Error> {
        let request = self
            .inner
            .http
            .client()
            .post(format!("{}{NEXT}", self.inner.base))
            .header("token", current.header_value()?);
        // A renewal replaces (revokes) the token renewed: an answer lost on the way is
        // an unknown outcome, not a harmless failure (the token sent may be dead now).
        let response = self
            .send_as(request, sent_token(current), Spend::Yes("renewal"))
            .await?;
        self.renewed(&response)
    }

    /// The token of a renewal's answer: `data` is the token, a string and nothing else.
    pub(crate) fn renewed(&self, response: &Response) -> Result<Token, Error> {
        match reply::data(response)? {
            Value::String(raw) if !raw.trim().is_empty() => Ok(token::build(
                raw.trim().to_owned(),
                response.expiry_estimate(),
                None,
                self.user(),
                self.inner.assumed_lifetime,
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
            .inner
            .http
            .client()
            .get(format!("{}{STATE}", self.inner.base))
            .header("token", token.header_value()?);
        let response = self.send(request, sent_token(token)).await?;
        // The platform's words are shown to the user: an echo of the token is not.
        match reply::data(&response)? {
            Value::String(message) => Ok(response.scrub(&message)),
            other => Ok(response.scrub(&other.to_string())),
        }
    }

    /// Every token request: `Content-Type: application/json` and an empty body, as the
    /// seed's examples send. A login or a state check changes nothing at the platform,
    /// so a timeout is transient. The answer knows the secrets the request carried
    /// (`sent`), so every error made of it is scrubbed of them.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        sent: Sent,
    ) -> Result<Response, Error> {
        self.send_as(request, sent, Spend::No).await
    }

    async fn send_as(
        &self,
        request: reqwest::RequestBuilder,
        sent: Sent,
        spend: Spend,
    ) -> Result<Response, Error> {
        let request = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Vec::<u8>::new());
        Ok(self.inner.http.send(request, spend).await?.with_sent(sent))
    }
}

/// What a request with a `token` header carries.
pub(crate) fn sent_token(token: &AccessToken) -> Sent {
    Sent::new().with(token.as_secret().clone())
}
