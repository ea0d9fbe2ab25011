//! `BoClient`: the refresh call of PROTOCOLS.md §3.1.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokenkit_core::http::{Http, HttpConfig, Spend};
use tokenkit_core::{Error, RefreshToken, Sent, Token};

use crate::{PLATFORM, VerifySigner, response};

/// The longest token lifetime believed by default (7 days): the documents' sample
/// token lives 60 s. Longer stated lifetimes are capped, with a warning;
/// [`HttpConfig::max_lifetime`](tokenkit_core::http::HttpConfig::max_lifetime) sets another.
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The refresh endpoint, below the base URL.
pub const REFRESH_PATH: &str = "/bo/api/v3/auth/token/refresh";

/// The `Content-Type` the seed requires, even on this GET.
pub const CONTENT_TYPE_VALUE: &str = "application/json; charset=utf-8";

/// The `_nodejs` post-processing plugin: which spelling the answer's fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeJsMode {
    /// `common-data`: camelCase fields (the default).
    #[default]
    CommonData,
    /// `common-data-under`: snake_case fields.
    CommonDataUnder,
}

impl NodeJsMode {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommonData => "common-data",
            Self::CommonDataUnder => "common-data-under",
        }
    }
}

/// A client of the bo token API. Build it with [`BoClient::builder`].
///
/// ```no_run
/// use tokenkit_bo::{BoClient, VerifySigner};
/// use tokenkit_core::RefreshToken;
/// # async fn f() -> Result<(), tokenkit_core::Error> {
/// let signer = VerifySigner::builder("12345678").build()?;
/// let client = BoClient::builder("https://bo.example.com", "demo-owner", signer).build()?;
/// let token = client.refresh(&RefreshToken::new("MtP0zZx1gZE66xDnhwd1UV973XoVL4nT")).await?;
/// let rotated = token.refresh_token(); // store it: the old one may be spent
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BoClient {
    http: Http,
    refresh_url: String,
    owner_id: String,
    headers: HeaderMap,
    signer: VerifySigner,
    mode: NodeJsMode,
}

/// Builds a [`BoClient`]; [`BoClientBuilder::build`] checks every value.
#[derive(Debug, Clone)]
pub struct BoClientBuilder {
    base_url: String,
    owner_id: String,
    signer: VerifySigner,
    optional: Vec<(&'static str, String)>,
    mode: NodeJsMode,
    http: HttpConfig,
}

impl BoClient {
    /// Authenticated calls with this client's HTTP settings: the tokens of `cache` as
    /// `Authorization: Bearer`, one refresh and one repeat when the platform refuses
    /// them ([`BoScheme`](crate::BoScheme)).
    pub fn calls<C>(&self, cache: std::sync::Arc<C>) -> tokenkit_core::auth::AuthClient
    where
        C: AsRef<tokenkit_core::TokenCache> + Send + Sync + 'static,
    {
        self.http.calls(crate::BoScheme, cache)
    }

    /// Starts a client for the platform at `base_url`, for the project `owner_id`
    /// (`XownerId`), proving requests with `signer` (`XverifyApi`); all three are
    /// required by §3.1.
    pub fn builder(
        base_url: impl Into<String>,
        owner_id: impl Into<String>,
        signer: VerifySigner,
    ) -> BoClientBuilder {
        BoClientBuilder {
            base_url: base_url.into(),
            owner_id: owner_id.into(),
            signer,
            optional: Vec::new(),
            mode: NodeJsMode::default(),
            http: HttpConfig::default(),
        }
    }

    /// The `XownerId` this client sends.
    pub fn owner_id(&self) -> &str {
        &self.owner_id
    }

    /// Exchanges `refresh_token` for a new access token (and, if the platform rotates
    /// them, a new refresh token: store it before using the access token, because the
    /// old one is spent).
    ///
    /// The request spends the refresh token, so a request that was sent but got no
    /// answer is [`Error::OutcomeUnknown`] and is not retried.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Token, Error> {
        if refresh_token.expose_secret().trim().is_empty() {
            return Err(Error::reauth(PLATFORM, "there is no refresh token to use"));
        }
        // What a platform may echo: the refresh token and the verify header (with its
        // plaintext and key); every text taken from the answer is scrubbed of them.
        let mut sent = Sent::new().with(refresh_token.as_secret().clone());
        let verify = self
            .signer
            .proof(&self.owner_id, refresh_token, &mut sent)?;
        let request = self
            .http
            .client()
            .get(&self.refresh_url)
            .query(&[
                ("refreshToken", refresh_token.expose_secret()),
                ("_nodejs", self.mode.as_str()),
            ])
            .headers(self.headers.clone())
            .header("XverifyApi", verify);
        let response = self
            .http
            .send(request, Spend::Yes("refresh"))
            .await?
            .with_sent(sent);
        let token = response::parse_refresh(&response, refresh_token)?;
        tracing::debug!(
            platform = PLATFORM,
            expires_in_s = token.remaining().as_secs(),
            rotated = token.refresh_token() != Some(refresh_token),
            "bo refresh succeeded"
        );
        Ok(token)
    }
}

impl BoClientBuilder {
    /// `XsysId`: the system.
    pub fn sys_id(self, id: impl Into<String>) -> Self {
        self.optional("XsysId", id)
    }

    /// `XuserFromFirstShareId`: the first-level share user.
    pub fn first_share_id(self, id: impl Into<String>) -> Self {
        self.optional("XuserFromFirstShareId", id)
    }

    /// `XuserFromSecondShareId`: the second-level share user.
    pub fn second_share_id(self, id: impl Into<String>) -> Self {
        self.optional("XuserFromSecondShareId", id)
    }

    /// `XfilterAreaCode`: the administrative area code.
    pub fn filter_area_code(self, code: impl Into<String>) -> Self {
        self.optional("XfilterAreaCode", code)
    }

    /// The `_nodejs` mode (default `common-data`).
    pub fn nodejs_mode(mut self, mode: NodeJsMode) -> Self {
        self.mode = mode;
        self
    }

    /// HTTP settings (timeouts, body cap, a client of your own).
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    fn optional(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.optional.retain(|(n, _)| *n != name);
        self.optional.push((name, value.into()));
        self
    }

    /// Checks the URL and the header values.
    pub fn build(self) -> Result<BoClient, Error> {
        let base = self.base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|_| Error::config(format!("bo: the base URL {base:?} is not a URL")))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(Error::config(format!(
                "bo: the base URL {base:?} must be http(s) without a query"
            )));
        }
        if self.owner_id.trim().is_empty() {
            return Err(Error::config("bo: XownerId is required"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_VALUE));
        let fields = std::iter::once(("XownerId", &self.owner_id))
            .chain(self.optional.iter().map(|(n, v)| (*n, v)));
        for (name, value) in fields {
            // Non-ASCII bytes would reach the server in an encoding nobody agreed on.
            let value = Some(value)
                .filter(|v| v.is_ascii())
                .and_then(|v| HeaderValue::from_str(v).ok())
                .ok_or_else(|| {
                    Error::config(format!(
                        "bo: the {name} value cannot go into an HTTP header (visible ASCII only)"
                    ))
                })?;
            // Header names are case-insensitive (RFC 9110); `http` keeps them lower-case.
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("bo: {name} is not a header name")))?;
            headers.insert(name, value);
        }
        Ok(BoClient {
            http: Http::new(PLATFORM, self.http.or_max_lifetime(MAX_LIFETIME))?,
            refresh_url: format!("{base}{REFRESH_PATH}"),
            owner_id: self.owner_id,
            headers,
            signer: self.signer,
            mode: self.mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> VerifySigner {
        VerifySigner::builder("12345678").build().expect("valid")
    }

    #[test]
    fn bad_configuration_fails_at_build_time() {
        for url in ["not a url", "ftp://x", "http://x/?a=1"] {
            let err = BoClient::builder(url, "o", signer()).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
        }
        let err = BoClient::builder("http://x", " ", signer())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("XownerId"), "{err}");
        let err = BoClient::builder("http://x", "o", signer())
            .sys_id("系统")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("XsysId"), "{err}");
    }

    #[test]
    fn the_url_and_headers_are_prepared_once() {
        let client = BoClient::builder("http://x/base/", "o", signer())
            .sys_id("s1")
            .sys_id("s2")
            .filter_area_code("110000")
            .build()
            .expect("valid");
        assert_eq!(
            client.refresh_url,
            "http://x/base/bo/api/v3/auth/token/refresh"
        );
        assert_eq!(client.headers["XsysId"], "s2");
        assert_eq!(client.headers["xfilterareacode"], "110000");
        assert_eq!(client.headers["content-type"], CONTENT_TYPE_VALUE);
        assert_eq!(NodeJsMode::CommonDataUnder.as_str(), "common-data-under");
    }
}
