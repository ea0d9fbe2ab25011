//! [`Fallback::Local`](crate::Fallback::Local): an in-process store used while Redis
//! is unreachable, and the hand-back to Redis when it answers again.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokenkit_core::{Error, MemoryStore, TokenStore};
use tokio::time::Instant;

use crate::RedisStore;

/// Fences of leases taken from the local store start with this, so renew and release
/// go back to it.
pub(crate) const LOCAL_FENCE: &str = "local:";

/// The local side of [`Fallback::Local`](crate::Fallback::Local).
#[derive(Debug)]
pub(crate) struct Local {
    pub(crate) memory: MemoryStore,
    probe_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Until then, do not try Redis (it failed recently).
    down_until: Option<Instant>,
    /// Keys with a token written locally, to be handed to Redis when it is back.
    dirty: HashSet<String>,
    /// Keys seen with a refresh budget: these never use the local store.
    budgeted: HashSet<String>,
}

impl Local {
    pub(crate) fn new(probe_interval: Duration) -> Self {
        Self {
            memory: MemoryStore::new(),
            probe_interval,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update is a single insert or assignment: a poisoned lock holds
        // consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether Redis failed so recently that it is not worth trying.
    pub(crate) fn is_down(&self) -> bool {
        self.state()
            .down_until
            .is_some_and(|until| Instant::now() < until)
    }

    /// Whether `error` sends this operation to the local store (and marks Redis down).
    pub(crate) fn takes_over(&self, error: &Error) -> bool {
        if !error.is_transient() {
            return false;
        }
        let mut state = self.state();
        if state.down_until.is_none_or(|until| Instant::now() >= until) {
            tracing::warn!(%error, "redis unreachable; using the in-process fallback store");
        }
        state.down_until = Some(Instant::now() + self.probe_interval);
        true
    }

    pub(crate) fn mark_budgeted(&self, key: &str) {
        let mut state = self.state();
        if !state.budgeted.contains(key) {
            state.budgeted.insert(key.to_owned());
        }
    }

    pub(crate) fn is_budgeted(&self, key: &str) -> bool {
        self.state().budgeted.contains(key)
    }

    pub(crate) fn mark_dirty(&self, key: &str) {
        self.state().dirty.insert(key.to_owned());
    }

    pub(crate) fn is_dirty(&self, key: &str) -> bool {
        self.state().dirty.contains(key)
    }

    fn clear_dirty(&self, key: &str) {
        self.state().dirty.remove(key);
    }
}

/// The error of an operation that budget-limited grants may not do locally.
pub(crate) fn fail_closed(cause: Option<Error>) -> Error {
    let reason = match cause {
        Some(e) => format!("{e}; budget-limited grants do not fall back to a local store"),
        None => {
            "redis unreachable; budget-limited grants do not fall back to a local store".to_owned()
        }
    };
    Error::store(reason, true)
}

impl RedisStore {
    /// Hands a locally written token of `key` to Redis (if Redis holds none or an older
    /// one) and forgets the local copy. A conflict means another process wrote a newer
    /// token meanwhile: theirs wins.
    pub(crate) async fn reconcile(&self, local: &Local, key: &str) -> Result<(), Error> {
        if let Some(mine) = local.memory.load(key).await? {
            let theirs = self.redis_load(key).await?;
            let mine_is_newer = theirs
                .as_ref()
                .is_none_or(|t| t.token.expiry().wall() < mine.token.expiry().wall());
            if mine_is_newer {
                let expected = theirs.map_or(0, |t| t.generation);
                self.redis_compare_and_set(key, expected, &mine.token)
                    .await?;
                tracing::info!(key, "token written during the redis outage handed to redis");
            }
            local.memory.remove(key).await?;
        }
        local.clear_dirty(key);
        Ok(())
    }
}
