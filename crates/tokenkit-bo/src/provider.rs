//! `BoProvider`: a bo session as a [`TokenProvider`] for the core's `TokenCache`.
//!
//! - `fetch` hands out the session the application logged in with, once; after that it
//!   calls the application's login function, if there is one, else it is a
//!   re-authentication error (the bo API has no login of its own).
//! - `refresh` spends the current refresh token. Refresh tokens may rotate (§3.1), and
//!   a spent one is refused, so losing the new one logs the user out: the cache writes
//!   every new token to its store before handing it out, and the provider also keeps
//!   the last rotation, so that a refresh repeated with a spent token (the store write
//!   failed) gets the token already received instead of a refusal.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokenkit_core::{Error, RefreshToken, Token, TokenProvider};

use crate::{BoClient, BoSession, PLATFORM};

type LoginFuture = Pin<Box<dyn Future<Output = Result<BoSession, Error>> + Send>>;
type LoginFn = Arc<dyn Fn() -> LoginFuture + Send + Sync>;

/// The last successful refresh: which refresh token it spent and what it got.
struct Rotation {
    spent: RefreshToken,
    received: Token,
}

/// Keeps a bo session alive. Use it with `tokenkit_core::TokenCache`.
///
/// ```no_run
/// use tokenkit_bo::{BoClient, BoProvider, BoSession, VerifySigner};
/// use tokenkit_core::TokenCache;
/// # async fn f(access: String, refresh: String) -> Result<(), tokenkit_core::Error> {
/// let signer = VerifySigner::builder("12345678").build()?;
/// let client = BoClient::builder("https://bo.example.com", "demo-owner", signer).build()?;
/// let provider = BoProvider::new(client, BoSession::new(access, refresh));
/// let cache = TokenCache::new(provider);
/// let token = cache.token().await?;
/// # Ok(()) }
/// ```
pub struct BoProvider {
    client: BoClient,
    initial: Mutex<Option<BoSession>>,
    login: Option<LoginFn>,
    last: Mutex<Option<Rotation>>,
}

impl BoProvider {
    /// A provider that starts from the session the application's login returned.
    pub fn new(client: BoClient, session: BoSession) -> Self {
        Self {
            client,
            initial: Mutex::new(Some(session)),
            login: None,
            last: Mutex::new(None),
        }
    }

    /// A provider for a session kept in a shared store by another process (the CLI's
    /// `bo token --session`): it refreshes the stored session; without a login
    /// function, needing a new session is a re-authentication error.
    pub fn resume(client: BoClient) -> Self {
        Self {
            client,
            initial: Mutex::new(None),
            login: None,
            last: Mutex::new(None),
        }
    }

    /// A provider with no session yet: the first token comes from `login`.
    pub fn from_login<F, Fut>(client: BoClient, login: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BoSession, Error>> + Send + 'static,
    {
        Self {
            client,
            initial: Mutex::new(None),
            login: None,
            last: Mutex::new(None),
        }
        .with_login(login)
    }

    /// How to log in again when the refresh token is refused (for a service account,
    /// say). Without it, such a refusal is a re-authentication error for the caller.
    pub fn with_login<F, Fut>(mut self, login: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BoSession, Error>> + Send + 'static,
    {
        self.login = Some(Arc::new(move || Box::pin(login())));
        self
    }

    /// The client.
    pub fn client(&self) -> &BoClient {
        &self.client
    }

    /// A session as a token; a session whose expiry is unknown or past is refreshed at
    /// once rather than handed out dead.
    async fn start_session(&self, session: BoSession) -> Result<Token, Error> {
        match session.to_token() {
            Some(token) if !token.expiry().is_expired() => Ok(token),
            _ => self.spend(session.refresh_token()).await,
        }
    }

    /// One refresh, remembered as the last rotation.
    async fn spend(&self, refresh_token: &RefreshToken) -> Result<Token, Error> {
        let token = self.client.refresh(refresh_token).await?;
        *lock(&self.last) = Some(Rotation {
            spent: refresh_token.clone(),
            received: token.clone(),
        });
        Ok(token)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl TokenProvider for BoProvider {
    async fn fetch(&self) -> Result<Token, Error> {
        let initial = lock(&self.initial).take();
        let session = match (initial, &self.login) {
            (Some(session), _) => session,
            (None, Some(login)) => {
                tracing::info!(platform = PLATFORM, "bo: logging in again");
                login().await?
            }
            (None, None) => {
                return Err(Error::reauth(
                    PLATFORM,
                    "the session can no longer be refreshed and no login function is configured: the user must log in again",
                ));
            }
        };
        self.start_session(session).await
    }

    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        let Some(mut refresh_token) = current.refresh_token().cloned() else {
            return Err(Error::reauth(PLATFORM, "the token has no refresh token"));
        };
        let already = {
            let last = lock(&self.last);
            match last.as_ref() {
                Some(r) if r.spent == refresh_token => Some(r.received.clone()),
                _ => None,
            }
        };
        if let Some(received) = already {
            // This refresh token was spent already; its successor is what counts.
            if !received.expiry().is_expired() && !received.same_access_token(current) {
                tracing::info!(
                    platform = PLATFORM,
                    "bo: refresh token already spent; handing out the token it bought"
                );
                return Ok(received);
            }
            if let Some(next) = received.refresh_token() {
                refresh_token = next.clone();
            }
        }
        self.spend(&refresh_token).await
    }

    fn platform(&self) -> &'static str {
        PLATFORM
    }
}

impl fmt::Debug for BoProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoProvider")
            .field("client", &self.client)
            .field("initial_session_pending", &lock(&self.initial).is_some())
            .field("login", &self.login.as_ref().map(|_| "<fn>"))
            .finish_non_exhaustive()
    }
}
