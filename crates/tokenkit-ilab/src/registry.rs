//! Many users at once: one grant per platform user (`un`), created from a launch ticket
//! and looked up by `un`. Sessions whose grant is over are evicted, so memory is bounded
//! by the users active within a token lifetime.
//!
//! A [`TokenCache`]'s store key must be known when it is built, but `un` is known only
//! after the exchange. So [`SessionRegistry::launch`] exchanges first, then builds the
//! cache under key `un` around [`IlabProvider::from_exchanged`].
//!
//! A user's results pending delivery live in the registry's store under the same key
//! `un`: a relaunch replaces the user's grant and keeps them, so the new grant
//! delivers them ([`SessionRegistry::flush_pending`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokenkit_core::{
    CachedToken, Error, MemoryStore, Token, TokenCache, TokenGuard, TokenStore, UserIdentity,
};
use tokio::time::Instant;

use crate::codes::RELAUNCH;
use crate::{FlushReport, IlabClient, IlabProvider, PLATFORM, Reporter, Retry, Ticket};

/// One user's experiment session: their identity and the cache of their grant.
#[derive(Debug)]
pub struct Session {
    user: UserIdentity,
    cache: TokenCache,
    /// Milliseconds since the registry's epoch of the last lookup.
    last_used: AtomicU64,
}

impl Session {
    /// The platform user id (`un`).
    pub fn un(&self) -> &str {
        &self.user.id
    }

    /// The user's display name (`dis`), when the platform gave one.
    pub fn display_name(&self) -> Option<&str> {
        self.user.display_name.as_deref()
    }

    /// A valid token of this user's grant (refreshed at most twice, near expiry).
    pub async fn token(&self) -> Result<TokenGuard, Error> {
        self.cache.token().await
    }

    /// The cache of this user's grant (to `invalidate` a token an API rejected).
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// The latest token the cache installed, without any waiting or refreshing.
    pub fn current(&self) -> Option<Arc<CachedToken>> {
        self.cache.subscribe().borrow().clone()
    }

    /// Whether the grant is over: its token has expired, and either both refreshes
    /// are spent or nobody has used the session for `max_idle`.
    fn is_over(&self, now_ms: u64, max_idle: Duration) -> bool {
        let Some(current) = self.current() else {
            return true;
        };
        if !current.expiry().is_expired() {
            return false;
        }
        let no_refresh_left = current.grant().refreshes_left() == Some(0);
        let idle = now_ms.saturating_sub(self.last_used.load(Ordering::Relaxed));
        no_refresh_left || u128::from(idle) >= max_idle.as_millis()
    }
}

/// A session holds its grant's cache: `client.calls(session)` makes authenticated data
/// calls with this user's tokens.
impl AsRef<TokenCache> for Session {
    fn as_ref(&self) -> &TokenCache {
        &self.cache
    }
}

/// The sessions of one experiment, keyed by platform user (`un`).
///
/// ```no_run
/// use tokenkit_ilab::{IlabClient, SessionRegistry, Ticket};
/// # async fn demo(raw_ticket: &str) -> Result<(), tokenkit_ilab::Error> {
/// let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
/// let sessions = SessionRegistry::new(client);
/// let session = sessions.launch(Ticket::from_url_value(raw_ticket)?).await?;
/// // later, in another request of the same user:
/// let token = sessions.token(session.un()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SessionRegistry {
    client: IlabClient,
    store: Arc<dyn TokenStore>,
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Serialises launches so a relaunch cannot interleave with another of the same user.
    launching: tokio::sync::Mutex<()>,
    epoch: Instant,
    max_idle: Duration,
    sweep_every: Duration,
    last_sweep: Mutex<Instant>,
}

impl SessionRegistry {
    /// An empty registry whose grants live in one shared [`MemoryStore`].
    pub fn new(client: IlabClient) -> Self {
        Self::with_store(client, Arc::new(MemoryStore::new()))
    }

    /// An empty registry whose grants live in `store` (e.g. shared by several
    /// processes, so that they never spend a refresh twice).
    pub fn with_store(client: IlabClient, store: Arc<dyn TokenStore>) -> Self {
        let now = Instant::now();
        Self {
            client,
            store,
            sessions: RwLock::new(HashMap::new()),
            launching: tokio::sync::Mutex::new(()),
            epoch: now,
            max_idle: Duration::from_secs(3600),
            sweep_every: Duration::from_secs(60),
            last_sweep: Mutex::new(now),
        }
    }

    /// How long a session whose token has expired (with a refresh left) is kept
    /// without being used (default 1 h).
    pub fn max_idle(mut self, idle: Duration) -> Self {
        self.max_idle = idle;
        self
    }

    /// How often `launch` sweeps out sessions that are over (default every 60 s).
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// Exchanges a launch ticket and makes (or replaces) the user's session.
    pub async fn launch(&self, ticket: Ticket) -> Result<Arc<Session>, Error> {
        let token = self.client.exchange(&ticket).await?;
        self.insert(token).await
    }

    /// Makes (or replaces) a session from a token exchanged elsewhere. A relaunch of
    /// the same user replaces the old grant: its stored token is removed first, so the
    /// new cache cannot adopt it.
    pub async fn insert(&self, token: Token) -> Result<Arc<Session>, Error> {
        let user = token.user().cloned().ok_or_else(|| Error::Malformed {
            platform: PLATFORM,
            reason: "the exchange answer names no user (`un`)".into(),
            excerpt: String::new(),
        })?;
        self.maybe_sweep().await;
        let _launching = self.launching.lock().await;
        self.store.remove(&user.id).await?;
        let provider = IlabProvider::compact_from_exchanged(self.client.clone(), token);
        let cache = TokenCache::builder(provider)
            .store(Arc::clone(&self.store))
            .key(user.id.clone())
            .build();
        // Installs the exchanged token now (no network: the provider hands it out).
        cache.token().await?;
        let session = Arc::new(Session {
            user,
            cache,
            last_used: AtomicU64::new(self.now_ms()),
        });
        let key: Arc<str> = Arc::from(session.un());
        self.write().insert(key, Arc::clone(&session));
        Ok(session)
    }

    /// The session of user `un`, if there is one.
    pub fn get(&self, un: &str) -> Option<Arc<Session>> {
        let session = self.read().get(un).cloned()?;
        session.last_used.store(self.now_ms(), Ordering::Relaxed);
        Some(session)
    }

    /// A valid token of user `un`; a re-authentication error when the user has no
    /// session (never launched, or evicted).
    pub async fn token(&self, un: &str) -> Result<TokenGuard, Error> {
        match self.get(un) {
            Some(session) => session.token().await,
            None => Err(Error::reauth(
                PLATFORM,
                format!("no experiment session for this user; {RELAUNCH}"),
            )),
        }
    }

    /// A reporter of user `un`'s results, if the user has a session.
    pub fn reporter(&self, un: &str) -> Option<Reporter> {
        self.get(un)
            .map(|session| Reporter::for_session(&self.client, session))
    }

    /// Delivers every pending result in the registry's store: through the user's
    /// session when there is one, else by resuming the grant kept in the store (a
    /// shared store holds the grants of the fleet's other processes and of a process
    /// that died). A user with records pending and no grant anywhere gets them
    /// reported as undeliverable, still kept, until they relaunch.
    pub async fn flush_pending(&self, retry: Retry) -> Result<Vec<FlushReport>, Error> {
        let mut keys = self.store.pending_keys().await?;
        keys.sort();
        let mut reports = Vec::with_capacity(keys.len());
        for key in keys {
            let reporter = match self.get(&key) {
                Some(session) => Reporter::for_session(&self.client, session),
                None => Reporter::resume(&self.client, Arc::clone(&self.store), &key),
            };
            reports.push(reporter.retry(retry).flush().await?);
        }
        Ok(reports)
    }

    /// The number of sessions.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there is no session.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Removes the sessions whose grant is over (see [`SessionRegistry::max_idle`]) and
    /// their stored tokens; returns how many.
    pub async fn evict_expired(&self) -> usize {
        let now_ms = self.now_ms();
        let over: Vec<Arc<str>> = self
            .read()
            .iter()
            .filter(|(_, s)| s.is_over(now_ms, self.max_idle))
            .map(|(k, _)| Arc::clone(k))
            .collect();
        let mut evicted = 0;
        for key in over {
            let removed = {
                let mut sessions = self.write();
                // Look again: the user may have relaunched meanwhile.
                match sessions.get(&key) {
                    Some(s) if s.is_over(now_ms, self.max_idle) => sessions.remove(&key),
                    _ => None,
                }
            };
            if removed.is_some() {
                evicted += 1;
                if let Err(e) = self.store.remove(&key).await {
                    tracing::warn!(platform = PLATFORM, error = %e, "could not remove an evicted grant from the store");
                }
            }
        }
        if evicted > 0 {
            tracing::debug!(platform = PLATFORM, evicted, "expired sessions evicted");
        }
        evicted
    }

    async fn maybe_sweep(&self) {
        let due = {
            let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.elapsed() >= self.sweep_every;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.evict_expired().await;
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        // Every update is one insert or remove: a poisoned map is still consistent.
        self.sessions.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        self.sessions.write().unwrap_or_else(|p| p.into_inner())
    }
}
