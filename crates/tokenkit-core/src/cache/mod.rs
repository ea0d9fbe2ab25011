//! The token cache: the only place that decides *when* to call the provider.
//!
//! - **fresh**: [`TokenCache::token`] returns the cached token — one atomic load, one
//!   clock read, one compare; no lock, no allocation, no await.
//! - **advisory** (inside the refresh-ahead margin): one background refresh on a task
//!   the cache owns; callers keep getting the current token at once.
//! - **mandatory / expired**: callers wait on a single in-flight refresh; N callers
//!   cause one upstream call and all receive its result.
//! - a failed refresh while the token is valid: keep serving it, retry with jittered
//!   exponential backoff bounded by the token's lifetime. A failure after expiry: every
//!   waiter gets the same error, and the next attempt waits for the backoff.
//! - a provider's token that is already expired is [`Error::Implausible`], never
//!   cached; for a budgeted grant the refresh stays spent and none is spent on the
//!   grant again automatically.
//! - after a renewal whose answer was lost, on a platform whose renewal revokes
//!   ([`RefreshPolicy::renewal_revokes`]), the current token is suspect: renewed (or
//!   replaced by a login) before it is served again.
//! - refresh budget spent or renewal window closed: [`TokenProvider::fetch`]; if the
//!   provider cannot, its re-authentication error.
//! - every new token is written to the [`TokenStore`] before any caller sees it.

mod background;
mod backoff;
mod entry;
mod refresh;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

pub use backoff::Backoff;
pub use entry::{CachedToken, TokenGuard};

use crate::{AccessToken, Error, MemoryStore, RefreshPolicy, Token, TokenProvider, TokenStore};

/// Settings of a [`TokenCache`] that do not belong to the provider.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacheConfig {
    /// The store key of this grant.
    pub key: String,
    /// Backoff between failed refreshes.
    pub backoff: Backoff,
    /// How long a refresh lease lasts before it must be renewed.
    pub lease_ttl: Duration,
    /// How long a caller with no valid token waits for another holder of the lease.
    pub lease_wait: Duration,
    /// How often such a caller looks at the store (jittered).
    pub poll_interval: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            key: "default".into(),
            backoff: Backoff::default(),
            lease_ttl: Duration::from_secs(30),
            lease_wait: Duration::from_secs(30),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Builds a [`TokenCache`].
#[derive(Debug)]
pub struct TokenCacheBuilder {
    provider: Arc<dyn TokenProvider>,
    store: Arc<dyn TokenStore>,
    config: CacheConfig,
}

impl TokenCacheBuilder {
    /// The store (default: a private [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }

    /// The key of this grant in the store (default `default`).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.config.key = key.into();
        self
    }

    /// The backoff between failed refreshes.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// The lease lifetime and how long to wait for another lease holder.
    pub fn lease(mut self, ttl: Duration, wait: Duration) -> Self {
        self.config.lease_ttl = ttl;
        self.config.lease_wait = wait;
        self
    }

    /// How often a waiting caller polls the store.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval;
        self
    }

    /// Builds the cache. No network call is made until the first [`TokenCache::token`].
    pub fn build(self) -> TokenCache {
        let policy = self.provider.policy();
        let (changes, _) = watch::channel(None);
        TokenCache {
            shared: Arc::new(Shared {
                provider: self.provider,
                policy,
                store: self.store,
                config: self.config,
                current: ArcSwapOption::empty(),
                flight: tokio::sync::Mutex::new(refresh::Flight::default()),
                wake: Notify::new(),
                background_pending: AtomicBool::new(false),
                changes,
            }),
            background: OnceLock::new(),
        }
    }
}

/// Caches the token of one grant and renews it as its provider's policy says.
///
/// ```
/// # use std::time::Duration;
/// # use tokenkit_core::{async_trait, Arrival, Error, Expiry, Token, TokenCache, TokenProvider};
/// #[derive(Debug)]
/// struct Fixed;
/// #[async_trait]
/// impl TokenProvider for Fixed {
///     async fn fetch(&self) -> Result<Token, Error> {
///         Ok(Token::new("t-1", Expiry::after(Arrival::now(), Duration::from_secs(3600))))
///     }
///     async fn refresh(&self, _: &Token) -> Result<Token, Error> { self.fetch().await }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let cache = TokenCache::new(Fixed);
/// let token = cache.token().await?;
/// assert_eq!(token.access_token().expose_secret(), "t-1");
/// # Ok(()) }
/// ```
pub struct TokenCache {
    shared: Arc<Shared>,
    background: OnceLock<tokio::task::JoinHandle<()>>,
}

pub(crate) struct Shared {
    provider: Arc<dyn TokenProvider>,
    policy: RefreshPolicy,
    store: Arc<dyn TokenStore>,
    config: CacheConfig,
    current: ArcSwapOption<CachedToken>,
    flight: tokio::sync::Mutex<refresh::Flight>,
    wake: Notify,
    background_pending: AtomicBool,
    changes: watch::Sender<Option<Arc<CachedToken>>>,
}

impl TokenCache {
    /// A cache over `provider` with a private [`MemoryStore`].
    pub fn new(provider: impl TokenProvider + 'static) -> Self {
        Self::builder(provider).build()
    }

    /// A builder over `provider`.
    pub fn builder(provider: impl TokenProvider + 'static) -> TokenCacheBuilder {
        Self::builder_arc(Arc::new(provider))
    }

    /// A builder over a shared provider.
    pub fn builder_arc(provider: Arc<dyn TokenProvider>) -> TokenCacheBuilder {
        TokenCacheBuilder {
            provider,
            store: Arc::new(MemoryStore::new()),
            config: CacheConfig::default(),
        }
    }

    /// The provider's policy, as the cache applies it.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.shared.policy
    }

    /// The store key of this grant.
    pub fn key(&self) -> &str {
        &self.shared.config.key
    }

    /// The store this grant lives in (where its pending records live too).
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.shared.store
    }

    /// A valid token: the cached one when fresh, else the result of the one refresh in
    /// flight (or of the fetch when there is no token yet).
    pub async fn token(&self) -> Result<TokenGuard, Error> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        self.shared.acquire(None).await?;
        self.cached_or_valid()
    }

    /// The cached token if it needs no waiting: fresh, or in the advisory window (which
    /// starts a background refresh). The hot path: no lock, no allocation, no await.
    #[inline]
    pub fn cached(&self) -> Option<TokenGuard> {
        let guard = self.shared.current.load();
        let (advisory_at, mandatory_at) = match guard.as_ref() {
            Some(entry) => (entry.advisory_at(), entry.mandatory_at()),
            None => return None,
        };
        let now = Instant::now();
        if now < advisory_at {
            return Some(TokenGuard(guard));
        }
        if now < mandatory_at {
            self.request_background_refresh();
            return Some(TokenGuard(guard));
        }
        None
    }

    /// After a wait: the current token if it is valid at all (a refresh that failed
    /// while the token was valid leaves it in use).
    fn cached_or_valid(&self) -> Result<TokenGuard, Error> {
        let guard = self.shared.current.load();
        let platform = self.shared.provider.platform();
        match guard.as_ref() {
            Some(entry) if entry.is_valid_at(Instant::now()) => Ok(TokenGuard(guard)),
            // The token arrived usable and expired before it could be handed out: a
            // lifetime shorter than the time it took to get here.
            Some(entry) => Err(Error::Implausible {
                platform,
                reason: format!(
                    "the new token expired before it could be handed out (its lifetime was {:.1}s)",
                    entry.expiry().lifetime().as_secs_f64()
                ),
            }),
            None => Err(Error::Implausible {
                platform,
                reason: "the provider's answer left no token".to_owned(),
            }),
        }
    }

    /// Reports that `token` was rejected by an API (HTTP 401, ac 10008): if it is still
    /// the current token, it is renewed (callers wait for that one renewal); if it was
    /// already replaced, the current token is returned without any upstream call.
    pub async fn invalidate(&self, token: &Token) -> Result<TokenGuard, Error> {
        let current = self.shared.current.load_full();
        match current {
            Some(entry) if entry.same_access_token(token) => {
                self.shared.acquire(Some(entry.generation())).await?;
                let guard = self.shared.current.load();
                match guard.as_ref() {
                    Some(e) if e.generation() != entry.generation() => Ok(TokenGuard(guard)),
                    _ => Err(Error::Implausible {
                        platform: self.shared.provider.platform(),
                        reason: "the refused token was not replaced: the provider gave \
                                 the same token again"
                            .to_owned(),
                    }),
                }
            }
            _ => self.token().await,
        }
    }

    /// Like [`invalidate`](Self::invalidate), for a caller that holds only the access
    /// token the platform refused (a script, another process, an agent's client): if it
    /// is the current token, that is renewed once however many callers report it; if it
    /// is not (already replaced, or never this grant's), the current token is returned
    /// without an upstream call.
    pub async fn refused(&self, refused: &AccessToken) -> Result<TokenGuard, Error> {
        let current = self.token().await?;
        if current.access_token() != refused {
            return Ok(current);
        }
        let refused = current.to_owned_token();
        drop(current);
        self.invalidate(&refused).await
    }

    /// Told of every new token (after it is stored).
    ///
    /// ```
    /// # fn f(cache: &tokenkit_core::TokenCache) {
    /// let mut changes = cache.subscribe();
    /// # }
    /// ```
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<CachedToken>>> {
        self.shared.changes.subscribe()
    }

    /// Asks the background task for one refresh, unless one is already asked for.
    fn request_background_refresh(&self) {
        if !self.shared.policy.background_refresh
            || self.shared.background_pending.load(Ordering::Relaxed)
        {
            return;
        }
        if self.shared.background_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.background.get().is_none() {
            // Outside a runtime there is no background: the mandatory path refreshes.
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                self.shared
                    .background_pending
                    .store(false, Ordering::Release);
                return;
            };
            let shared = Arc::clone(&self.shared);
            let _ = self.background.set(handle.spawn(background::run(shared)));
        }
        self.shared.wake.notify_one();
    }
}

/// So authenticated calls can take a shared `TokenCache` or anything that holds one.
impl AsRef<TokenCache> for TokenCache {
    fn as_ref(&self) -> &TokenCache {
        self
    }
}

impl Drop for TokenCache {
    fn drop(&mut self) {
        if let Some(task) = self.background.get() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("key", &self.shared.config.key)
            .field("provider", &self.shared.provider)
            .field("store", &self.shared.store)
            .finish_non_exhaustive()
    }
}
