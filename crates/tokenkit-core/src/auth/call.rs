//! The one implementation behind [`AuthClient`](super::AuthClient) and the
//! `reqwest-middleware` adapter: attach the token, recognise a refusal of it, renew it
//! once and repeat the request once.

use std::future::Future;
use std::sync::Arc;

use super::inspect::{Inspected, inspect};
use super::{Refusal, TokenScheme};
use crate::{CachedToken, Error, TokenCache, excerpt, scrub};

/// Sends a request: reqwest's client, or the rest of a middleware chain.
pub(crate) trait Transport: Send {
    /// What a failed send is.
    type Error: Send;

    /// Sends `request`.
    fn send(
        &mut self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, Self::Error>> + Send;
}

/// Why an authenticated call failed.
pub(crate) enum CallError<E> {
    /// The transport failed; the caller scrubs the URL it may name.
    Transport(E),
    /// No token could be had, or the platform refused it (see [`Error::TokenRefused`]).
    Auth(Error),
}

/// Where authenticated calls take their tokens: a [`TokenCache`], or anything that
/// holds one (an ilab session), shared.
pub type SharedCache = Arc<dyn AsRef<TokenCache> + Send + Sync>;

/// A scheme and the cache whose tokens it presents.
#[derive(Clone)]
pub(crate) struct Authenticator {
    pub(crate) scheme: Arc<dyn TokenScheme>,
    pub(crate) cache: SharedCache,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("scheme", &self.scheme)
            .field("cache", self.cache())
            .finish()
    }
}

impl Authenticator {
    pub(crate) fn new<C>(scheme: Arc<dyn TokenScheme>, cache: Arc<C>) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Self { scheme, cache }
    }

    /// The cache.
    pub(crate) fn cache(&self) -> &TokenCache {
        AsRef::<TokenCache>::as_ref(&*self.cache)
    }

    /// Sends `request` with the current token. On a refusal of that token: invalidate
    /// it (one renewal however many calls saw the refusal), then repeat the request
    /// once with the new token. Everything else is returned as it came.
    pub(crate) async fn call<T: Transport>(
        &self,
        request: reqwest::Request,
        transport: &mut T,
    ) -> Result<reqwest::Response, CallError<T::Error>> {
        let platform = self.scheme.platform();
        let token = self.current().await?;
        // A copy for the repeat, taken before the token is applied; streams cannot be
        // copied (and so cannot be repeated).
        let spare = request.try_clone();
        let (status, code, message) = match self.attempt(request, &token, transport).await? {
            Ok(response) => return Ok(response),
            Err(refusal) => self.describe(&refusal, &token),
        };
        tracing::info!(
            platform,
            status,
            code = code.as_deref().unwrap_or_default(),
            "the platform refused the token; renewing it and repeating the call once"
        );
        let renewed = self
            .cache()
            .invalidate(&token)
            .await
            .map_err(CallError::Auth)?
            .to_arc();
        let Some(spare) = spare else {
            return Err(CallError::Auth(Error::NotRepeatable {
                platform,
                status,
                code,
                message,
            }));
        };
        match self.attempt(spare, &renewed, transport).await? {
            Ok(response) => Ok(response),
            Err(refusal) => {
                let (status, code, message) = self.describe(&refusal, &renewed);
                tracing::warn!(
                    platform,
                    status,
                    code = code.as_deref().unwrap_or_default(),
                    "the platform refused the renewed token too; not repeating again"
                );
                Err(CallError::Auth(Error::TokenRefused {
                    platform,
                    status,
                    code,
                    message,
                }))
            }
        }
    }

    async fn current<E>(&self) -> Result<Arc<CachedToken>, CallError<E>> {
        // An owned handle: the token is held across the request (one reference count).
        Ok(self
            .cache()
            .token()
            .await
            .map_err(CallError::Auth)?
            .to_arc())
    }

    /// One send with `token`: the answer, or the refusal (status and the platform's
    /// words) when the answer refuses the token.
    async fn attempt<T: Transport>(
        &self,
        mut request: reqwest::Request,
        token: &CachedToken,
        transport: &mut T,
    ) -> Result<Result<reqwest::Response, (u16, Refusal)>, CallError<T::Error>> {
        self.scheme
            .apply(&mut request, token.access_token())
            .map_err(CallError::Auth)?;
        let response = transport
            .send(request)
            .await
            .map_err(CallError::Transport)?;
        let status = response.status().as_u16();
        let Inspected { response, refusal } = inspect(response, self.scheme.as_ref()).await;
        Ok(match refusal {
            None => Ok(response),
            Some(refusal) => Err((status, refusal)),
        })
    }

    /// The parts of a refusal that go into an error, the token sent scrubbed out of
    /// the platform's words (a platform may echo what it was sent).
    fn describe(
        &self,
        (status, refusal): &(u16, Refusal),
        sent: &CachedToken,
    ) -> (u16, Option<String>, String) {
        let secret = [sent.access_token().expose_secret()];
        let clean = |text: &str| excerpt(scrub(text, &secret).as_bytes());
        (
            *status,
            refusal.code().map(clean),
            refusal.message().map(clean).unwrap_or_default(),
        )
    }
}
