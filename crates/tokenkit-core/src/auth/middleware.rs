//! [`AuthMiddleware`]: the authenticated-call layer as a `reqwest-middleware`
//! middleware, to compose with retry and tracing middlewares.

use std::sync::Arc;

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use super::TokenScheme;
use super::call::{Authenticator, CallError, Transport};
use crate::TokenCache;

/// Puts the cache's token on every request and, when the platform refuses it, renews
/// it once and repeats the request once (the same implementation as
/// [`AuthClient`](super::AuthClient)).
///
/// Add it after a retry middleware, so each retry carries the current token:
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_core::auth::{AuthMiddleware, Placement, Refusal, TokenScheme, Answer};
/// # use tokenkit_core::{AccessToken, Error, TokenCache};
/// # #[derive(Debug)] struct MyScheme;
/// # impl TokenScheme for MyScheme {
/// #     fn platform(&self) -> &'static str { "my" }
/// #     fn apply(&self, r: &mut reqwest::Request, t: &AccessToken) -> Result<(), Error> { Placement::Bearer.apply(r, t) }
/// #     fn refusal(&self, a: &Answer<'_>) -> Option<Refusal> { (a.status() == 401).then(Refusal::by_status) }
/// # }
/// # async fn run(cache: Arc<TokenCache>) -> Result<(), reqwest_middleware::Error> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     // .with(your retry middleware)
///     .with(AuthMiddleware::new(MyScheme, cache))
///     .build();
/// let response = client.get("https://api.example/v1/me").send().await?;
/// # Ok(()) }
/// ```
///
/// Its own errors arrive as `reqwest_middleware::Error::Middleware` holding a
/// [`tokenkit_core::Error`](crate::Error) (`err.downcast_ref::<tokenkit_core::Error>()`
/// on the `anyhow::Error`); transport errors of the layers below come through with the
/// token scrubbed from their URL.
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    auth: Authenticator,
}

impl AuthMiddleware {
    /// Presents the tokens of `cache` (a shared [`TokenCache`], or anything holding
    /// one) as `scheme` says.
    pub fn new<C>(scheme: impl TokenScheme, cache: Arc<C>) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Self::with_scheme(Arc::new(scheme), cache)
    }

    /// Like [`AuthMiddleware::new`], with a shared scheme.
    pub fn with_scheme<C>(scheme: Arc<dyn TokenScheme>, cache: Arc<C>) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Self {
            auth: Authenticator::new(scheme, cache),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let mut chain = Chain { next, extensions };
        match self.auth.call(request, &mut chain).await {
            Ok(response) => Ok(response),
            Err(CallError::Auth(error)) => Err(reqwest_middleware::Error::middleware(error)),
            Err(CallError::Transport(mut error)) => {
                if let Some(url) = error.url_mut() {
                    self.auth.scheme.scrub_url(url);
                }
                Err(error)
            }
        }
    }
}

/// The rest of the middleware chain as the transport; each send runs it afresh.
struct Chain<'a, 'e> {
    next: Next<'a>,
    extensions: &'e mut Extensions,
}

impl Transport for Chain<'_, '_> {
    type Error = reqwest_middleware::Error;

    fn send(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, reqwest_middleware::Error>> + Send {
        self.next.clone().run(request, self.extensions)
    }
}
