//! [`AuthClient`]: authenticated calls for users without a middleware stack.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{IntoUrl, Method, RequestBuilder};

use super::TokenScheme;
use super::call::{Authenticator, CallError, Transport};
use crate::http::{Spend, transport_error};
use crate::{Error, TokenCache};

/// A `reqwest::Client` that puts the cache's token on every request and, when the
/// platform refuses that token, renews it once and repeats the request once.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_core::auth::{AuthClient, Placement, Refusal, TokenScheme, Answer};
/// # use tokenkit_core::{AccessToken, Error, TokenCache};
/// # #[derive(Debug)] struct MyScheme;
/// # impl TokenScheme for MyScheme {
/// #     fn platform(&self) -> &'static str { "my" }
/// #     fn apply(&self, r: &mut reqwest::Request, t: &AccessToken) -> Result<(), Error> { Placement::Bearer.apply(r, t) }
/// #     fn refusal(&self, a: &Answer<'_>) -> Option<Refusal> { (a.status() == 401).then(Refusal::by_status) }
/// # }
/// # async fn run(cache: Arc<TokenCache>) -> Result<(), Error> {
/// let calls = AuthClient::new(reqwest::Client::new(), MyScheme, cache);
/// let response = calls.send(calls.get("https://api.example/v1/me")).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
///
/// Errors are tokenkit's: transport failures as [`Error::Transient`] (or
/// [`Error::OutcomeUnknown`] for a request that is not idempotent and got no answer),
/// a second refusal as [`Error::TokenRefused`], a refused request with a streaming
/// body as [`Error::NotRepeatable`], and whatever the cache says when no token can be
/// had. None of them holds the token or a URL.
///
/// Its `Debug` does not show the `reqwest::Client` (whose own `Debug` lists its proxies
/// and default headers).
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    auth: Authenticator,
    timeout: Option<Duration>,
    refuse_redirected: bool,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("refuse_redirected", &self.refuse_redirected)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// Calls through `http` with the tokens of `cache` (a shared [`TokenCache`], or
    /// anything holding one, such as an ilab session), presented as `scheme` says.
    pub fn new<C>(http: reqwest::Client, scheme: impl TokenScheme, cache: Arc<C>) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Self::with_scheme(http, Arc::new(scheme), cache)
    }

    /// Like [`AuthClient::new`], with a shared scheme.
    pub fn with_scheme<C>(
        http: reqwest::Client,
        scheme: Arc<dyn TokenScheme>,
        cache: Arc<C>,
    ) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Self {
            http,
            auth: Authenticator::new(scheme, cache),
            timeout: None,
            refuse_redirected: false,
        }
    }

    /// A total timeout for every request that sets none of its own (a client built
    /// without one, such as a user's, would otherwise wait forever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Refuse an answer that came through a redirect the client followed (its URL is
    /// not the request's), with [`Error::Config`]: the redirect may have carried the
    /// token to another host. The clients of the platform crates' `calls()` do; give
    /// them a client that follows no redirects.
    pub fn refusing_redirects(mut self) -> Self {
        self.refuse_redirected = true;
        self
    }

    /// A request builder on the underlying client; send it with [`AuthClient::send`].
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        self.http.request(method, url)
    }

    /// A `GET` builder.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` builder.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Builds and sends `request` with the token, recovering from one refusal.
    pub async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response, Error> {
        let request = request.build().map_err(|_| {
            Error::config(format!(
                "{}: the request could not be built (check the URL)",
                self.auth.scheme.platform()
            ))
        })?;
        self.execute(request).await
    }

    /// Sends `request` with the token, recovering from one refusal.
    pub async fn execute(&self, mut request: reqwest::Request) -> Result<reqwest::Response, Error> {
        if request.timeout().is_none() {
            *request.timeout_mut() = self.timeout;
        }
        let url = request.url().clone();
        let spend = if request.method().is_idempotent() {
            Spend::No
        } else {
            Spend::Yes("request")
        };
        let mut direct = Direct {
            http: &self.http,
            started: tokio::time::Instant::now(),
        };
        match self.auth.call(request, &mut direct).await {
            // The scheme may have put the token in the query: scheme, host, port and
            // path tell a redirect.
            Ok(response) if self.refuse_redirected && !same_resource(response.url(), &url) => Err(
                crate::http::redirected(self.auth.scheme.platform(), response.url()),
            ),
            Ok(response) => Ok(response),
            Err(CallError::Auth(error)) => Err(error),
            Err(CallError::Transport(error)) => Err(transport_error(
                self.auth.scheme.platform(),
                &error,
                spend,
                direct.started,
            )),
        }
    }

    /// The cache the tokens come from.
    pub fn cache(&self) -> &TokenCache {
        self.auth.cache()
    }

    /// The scheme.
    pub fn scheme(&self) -> &Arc<dyn TokenScheme> {
        &self.auth.scheme
    }

    /// The underlying client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

fn same_resource(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// reqwest's client as the transport.
struct Direct<'c> {
    http: &'c reqwest::Client,
    started: tokio::time::Instant,
}

impl Transport for Direct<'_> {
    type Error = reqwest::Error;

    fn send(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send {
        self.started = tokio::time::Instant::now();
        self.http.execute(request)
    }
}
