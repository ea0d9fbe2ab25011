//! Many users at once: one grant per platform user (`un`), created from a launch ticket
//! and looked up by `un`. Sessions whose grant is over are evicted, so memory is bounded
//! by the users active within a token lifetime.
//!
//! A [`TokenCache`]'s store key must be known when it is built, but `un` is known only
//! after the exchange. So [`SessionRegistry::launch`] exchanges first, writes the new
//! grant over whatever the store held for the user, then builds the cache around it.
//!
//! **Store keys.** The store key of a user's grant is `{prefix}{un}`: by default the bare
//! `un`; [`SessionRegistry::key_prefix`] sets a prefix, so that many experiments share
//! one store. With the prefix `ilab:{appid}:` the keys are the CLI's
//! (`tokenkit ilab token --session UN`): a grant the registry launched can be read by the
//! CLI, and one the CLI exchanged can be resumed here. The sessions in memory are keyed
//! by the bare `un`.
//!
//! **Resuming.** [`SessionRegistry::session`] (and so [`SessionRegistry::token`]) also
//! knows the grants kept in the store by another process sharing it, or by this process
//! before a restart: a user without a session here gets one resumed from the stored
//! grant, which spends what is left of that grant's refresh budget (the store counts
//! every refresh, so the processes sharing a grant never spend more than two between
//! them). Only a user with no grant in the store must relaunch.
//!
//! A relaunch writes its new grant as the next generation of the key (never by removing
//! the old one first): a holder of the old grant in this or another process sees a newer
//! generation at its next refresh and adopts the new grant instead of refreshing the old.
//!
//! A user's results pending delivery live in the registry's store under the same key: a
//! relaunch replaces the user's grant and keeps them, so the new grant delivers them
//! ([`SessionRegistry::flush_pending`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokenkit_core::{
    CasOutcome, Error, Grant, MemoryStore, Token, TokenCache, TokenGuard, TokenStore, UserIdentity,
};
use tokio::time::Instant;

use crate::codes::RELAUNCH;
use crate::session::Session;
use crate::{
    FlushReport, IlabClient, IlabProvider, PLATFORM, REFRESH_BUDGET, Reporter, Retry, Ticket,
};

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
///
/// Several processes sharing one store (here a directory; a `RedisStore` serves a
/// fleet), under the CLI's keys:
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_core::FileStore;
/// use tokenkit_ilab::{IlabClient, SessionRegistry};
/// # async fn demo() -> Result<(), tokenkit_ilab::Error> {
/// let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
/// let store = Arc::new(FileStore::open("/var/lib/lab/grants")?);
/// let sessions = SessionRegistry::with_store(client, store).key_prefix("ilab:1681600222748241929:");
/// // A user launched by another process: resumed from the store, no relaunch.
/// let token = sessions.token("1701808169793138690").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SessionRegistry {
    client: IlabClient,
    store: Arc<dyn TokenStore>,
    /// Put before `un` in every store key (`ilab:{appid}:`, as the CLI's keys).
    prefix: String,
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Serialises launches so a relaunch cannot interleave with another of the same user;
    /// a resume that finds no grant waits for the launches in progress before it says so.
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
            prefix: String::new(),
            sessions: RwLock::new(HashMap::new()),
            launching: tokio::sync::Mutex::new(()),
            epoch: now,
            max_idle: Duration::from_secs(3600),
            sweep_every: Duration::from_secs(60),
            last_sweep: Mutex::new(now),
        }
    }

    /// What comes before `un` in the store key of every user's grant (default: nothing,
    /// the key is the bare `un`). With `ilab:{appid}:` the keys are those of the CLI
    /// (`tokenkit ilab token --session UN`), and many experiments can share one store.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
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
    /// the same user replaces the old grant: the new token is written over the stored
    /// one as its next generation, so the new cache, and every holder of the old grant
    /// in this or another process, adopts it.
    pub async fn insert(&self, token: Token) -> Result<Arc<Session>, Error> {
        let user = token.user().cloned().ok_or_else(|| Error::Malformed {
            platform: PLATFORM,
            reason: "the exchange answer names no user (`un`)".into(),
            excerpt: String::new(),
        })?;
        if token.expiry().is_expired() {
            // What the cache says of a provider's token that arrives expired.
            return Err(Error::Implausible {
                platform: PLATFORM,
                reason: format!(
                    "the exchanged token had already expired (its lifetime was {:.1}s)",
                    token.expiry().lifetime().as_secs_f64()
                ),
            });
        }
        self.maybe_sweep().await;
        let _launching = self.launching.lock().await;
        let key = self.key(&user.id);
        // A new grant: the whole budget, as the cache counts a fetched token's.
        let token = crate::compact(token).with_grant(Grant {
            refresh_budget: Some(REFRESH_BUDGET),
            ..Grant::default()
        });
        // Written over the old grant, never after removing it: removing would start the
        // key's generations again at 1, and a holder of the old grant at a higher
        // generation would then take the new grant for an older one.
        replace(&*self.store, &key, &token).await?;
        let cache = TokenCache::builder(IlabProvider::compact_launched(self.client.clone()))
            .store(Arc::clone(&self.store))
            .key(key)
            .build();
        // Adopts the token just stored (no network).
        cache.token().await?;
        let session = Arc::new(Session {
            user,
            cache,
            last_used: AtomicU64::new(self.now_ms()),
        });
        let un: Arc<str> = Arc::from(session.un());
        self.write().insert(un, Arc::clone(&session));
        Ok(session)
    }

    /// The session of user `un` in this process, if there is one (no store lookup; see
    /// [`SessionRegistry::session`]).
    pub fn get(&self, un: &str) -> Option<Arc<Session>> {
        let session = self.read().get(un).cloned()?;
        session.last_used.store(self.now_ms(), Ordering::Relaxed);
        Some(session)
    }

    /// The session of user `un`: the one in this process, else one resumed from the
    /// grant kept in the store under the user's key (launched by another process sharing
    /// the store, or by this one before a restart), which then stays in this registry.
    /// A re-authentication error when the store holds no grant of the user, or only one
    /// that is over (expired with both refreshes spent).
    ///
    /// A resumed session refreshes the stored grant only when its token is about to
    /// expire, within what is left of the grant's budget: the store counts each refresh
    /// before it is sent, so all holders of a grant spend two refreshes between them.
    pub async fn session(&self, un: &str) -> Result<Arc<Session>, Error> {
        if let Some(session) = self.get(un) {
            return Ok(session);
        }
        match self.resume(un).await {
            Ok(session) => Ok(session),
            Err(error) if error.is_reauth_required() => {
                // A launch of this user may be under way (its new grant not stored yet):
                // wait for the launches in progress, then look again.
                drop(self.launching.lock().await);
                self.get(un).ok_or(error)
            }
            Err(error) => Err(error),
        }
    }

    /// A valid token of user `un` (resumed from the store if need be, see
    /// [`SessionRegistry::session`]); a re-authentication error when the user has no
    /// grant (never launched, evicted, or both refreshes spent).
    pub async fn token(&self, un: &str) -> Result<TokenGuard, Error> {
        self.session(un).await?.token().await
    }

    /// A snapshot of the sessions in this registry (for metrics, e.g. the sum of
    /// [`Session::refreshes_spent`]).
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.read().values().cloned().collect()
    }

    /// A reporter of user `un`'s results, if the user has a session.
    pub fn reporter(&self, un: &str) -> Option<Reporter> {
        self.get(un)
            .map(|session| Reporter::for_session(&self.client, session))
    }

    /// A reporter of user `un`'s results: through the user's session (resumed from the
    /// store if need be); with no grant of the user anywhere, or only one that is over,
    /// a reporter over the user's key whose records are kept pending, undeliverable
    /// until the user relaunches (the relaunched session delivers them: see
    /// [`SessionRegistry::flush_pending`]). So a result handed over is never lost.
    pub async fn reporter_for(&self, un: &str) -> Result<Reporter, Error> {
        match self.session(un).await {
            Ok(session) => Ok(Reporter::for_session(&self.client, session)),
            Err(error) if error.is_reauth_required() => {
                Ok(
                    Reporter::resume(&self.client, Arc::clone(&self.store), &self.key(un))
                        .username(un),
                )
            }
            Err(error) => Err(error),
        }
    }

    /// Delivers every pending result in the registry's store: through the user's
    /// session when there is one, else by resuming the grant kept in the store (a
    /// shared store holds the grants of the fleet's other processes and of a process
    /// that died). A user with records pending and no grant anywhere gets them
    /// reported as undeliverable, still kept, until they relaunch.
    pub async fn flush_pending(&self, retry: Retry) -> Result<Vec<FlushReport>, Error> {
        // Only this registry's keys: other experiments may share the store.
        let mut keys: Vec<String> = self
            .store
            .pending_keys()
            .await?
            .into_iter()
            .filter(|key| key.starts_with(&self.prefix))
            .collect();
        keys.sort();
        let mut reports = Vec::with_capacity(keys.len());
        for key in keys {
            let un = &key[self.prefix.len()..];
            let reporter = match self.get(un) {
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
    /// their stored tokens; returns how many. A stored grant that another holder has
    /// moved on since the session last saw it (a newer generation in the store: another
    /// process sharing the store refreshed or relaunched it) is left there, in use.
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
            if let Some(session) = removed {
                evicted += 1;
                self.remove_stored(&session).await;
            }
        }
        if evicted > 0 {
            tracing::debug!(platform = PLATFORM, evicted, "expired sessions evicted");
        }
        evicted
    }

    /// Makes a session for `un` around the grant the store keeps, unless one appeared
    /// here meanwhile (a concurrent launch or resume): never two sessions of a user,
    /// and never one replacing a launch.
    async fn resume(&self, un: &str) -> Result<Arc<Session>, Error> {
        let key = self.key(un);
        let Some(stored) = self.store.load(&key).await? else {
            return Err(no_session());
        };
        let user = match stored.token.user() {
            Some(user) if user.id == un => user.clone(),
            other => {
                if let Some(user) = other {
                    tracing::warn!(platform = PLATFORM, key = %key, stored_un = %user.id, "the stored grant names another user; its session is named after the key");
                }
                UserIdentity {
                    id: un.to_owned(),
                    display_name: None,
                }
            }
        };
        drop(stored);
        let cache = TokenCache::builder(IlabProvider::compact_resume(self.client.clone()))
            .store(Arc::clone(&self.store))
            .key(key)
            .build();
        // Adopts the stored token, or refreshes it if it is about to expire. The store is
        // read outside the launch lock: a resume must not wait behind other users'
        // launches, nor they behind its refresh.
        if let Err(error) = cache.token().await {
            // A grant that is over is not kept. Neither is a cache that could not even
            // read the store (it holds nothing: eviction would take it for over). Any
            // other failure is kept with the cache's backoff, so that the next call does
            // not repeat a refresh at once; the caller's `token()` reports it.
            if error.is_reauth_required() || cache.subscribe().borrow().is_none() {
                return Err(error);
            }
        }
        let session = Arc::new(Session {
            user,
            cache,
            last_used: AtomicU64::new(self.now_ms()),
        });
        let mut sessions = self.write();
        if let Some(existing) = sessions.get(un) {
            return Ok(Arc::clone(existing));
        }
        sessions.insert(Arc::from(un), Arc::clone(&session));
        tracing::debug!(platform = PLATFORM, "session resumed from the store");
        Ok(session)
    }

    /// Removes an evicted session's grant from the store, unless another holder has
    /// moved it on since this session last saw it (refreshed it, or relaunched the user
    /// in another process sharing the store): that grant is still in use.
    async fn remove_stored(&self, session: &Session) {
        let key = session.cache.key();
        let ours = session.current().map_or(0, |c| c.generation());
        let stored = match self.store.load(key).await {
            Ok(Some(stored)) => stored.generation,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(platform = PLATFORM, error = %e, "could not read an evicted grant in the store");
                return;
            }
        };
        if stored > ours {
            tracing::debug!(
                platform = PLATFORM,
                "an evicted grant was moved on by another holder; kept in the store"
            );
            return;
        }
        if let Err(e) = self.store.remove(key).await {
            tracing::warn!(platform = PLATFORM, error = %e, "could not remove an evicted grant from the store");
        }
    }

    /// The store key of user `un`'s grant.
    fn key(&self, un: &str) -> String {
        format!("{}{un}", self.prefix)
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

/// The answer for a user with no grant anywhere.
fn no_session() -> Error {
    Error::reauth(
        PLATFORM,
        format!("no experiment session for this user; {RELAUNCH}"),
    )
}

/// Stores `token` under `key` as the next generation of whatever the store holds.
async fn replace(store: &dyn TokenStore, key: &str, token: &Token) -> Result<(), Error> {
    let mut expected = store.load(key).await?.map_or(0, |v| v.generation);
    loop {
        match store.compare_and_set(key, expected, token).await? {
            CasOutcome::Written(_) => return Ok(()),
            CasOutcome::Conflict(now) => expected = now.map_or(0, |v| v.generation),
        }
    }
}
