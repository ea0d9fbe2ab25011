//! The in-process store: the default, for one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{CasOutcome, Lease, PendingRecord, TokenStore, Versioned};
use crate::{Error, Token};

/// Tokens kept in this process's memory.
///
/// ```
/// use tokenkit_core::MemoryStore;
/// let store = MemoryStore::new();
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tokens: HashMap<String, Versioned>,
    leases: HashMap<String, (String, Instant)>,
    next_fence: u64,
    /// Key → its pending records, oldest first. A handful per key: a vector is the
    /// cheapest ordered map here.
    pending: HashMap<String, Vec<PendingRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps half-updated: every
        // update is a single insert or remove.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn load(&self, key: &str) -> Result<Option<Versioned>, Error> {
        Ok(self.state().tokens.get(key).cloned())
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error> {
        let mut state = self.state();
        let current = state.tokens.get(key).map_or(0, |v| v.generation);
        if current != expected {
            return Ok(CasOutcome::Conflict(state.tokens.get(key).cloned()));
        }
        let generation = expected + 1;
        state.tokens.insert(
            key.to_owned(),
            Versioned {
                generation,
                token: token.clone(),
            },
        );
        Ok(CasOutcome::Written(generation))
    }

    async fn try_lease(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, Error> {
        let mut state = self.state();
        let now = Instant::now();
        if let Some((_, until)) = state.leases.get(key)
            && *until > now
        {
            return Ok(None);
        }
        state.next_fence += 1;
        let fence = state.next_fence.to_string();
        state
            .leases
            .insert(key.to_owned(), (fence.clone(), now + ttl));
        Ok(Some(Lease {
            key: key.to_owned(),
            fence,
            guard: None,
        }))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, Error> {
        let mut state = self.state();
        match state.leases.get_mut(&lease.key) {
            Some((fence, until)) if *fence == lease.fence => {
                *until = Instant::now() + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(&self, lease: Lease) -> Result<(), Error> {
        let mut state = self.state();
        if state
            .leases
            .get(&lease.key)
            .is_some_and(|(fence, _)| *fence == lease.fence)
        {
            state.leases.remove(&lease.key);
        }
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), Error> {
        self.state().tokens.remove(key);
        Ok(())
    }

    async fn put_pending(&self, key: &str, id: &str, data: &str) -> Result<(), Error> {
        let mut state = self.state();
        let records = state.pending.entry(key.to_owned()).or_default();
        match records.iter_mut().find(|r| r.id() == id) {
            Some(record) => *record = PendingRecord::new(id, data),
            None => records.push(PendingRecord::new(id, data)),
        }
        Ok(())
    }

    async fn pending(&self, key: &str) -> Result<Vec<PendingRecord>, Error> {
        Ok(self.state().pending.get(key).cloned().unwrap_or_default())
    }

    async fn remove_pending(&self, key: &str, id: &str) -> Result<bool, Error> {
        let mut state = self.state();
        let Some(records) = state.pending.get_mut(key) else {
            return Ok(false);
        };
        let before = records.len();
        records.retain(|r| r.id() != id);
        let removed = records.len() != before;
        if records.is_empty() {
            state.pending.remove(key);
        }
        Ok(removed)
    }

    async fn pending_keys(&self) -> Result<Vec<String>, Error> {
        Ok(self.state().pending.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    #[tokio::test]
    async fn compare_and_set_is_versioned() {
        conformance::compare_and_set_is_versioned(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn lease_is_exclusive() {
        conformance::lease_is_exclusive(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn pending_records_are_kept_beside_the_token() {
        conformance::pending_records_are_kept_beside_the_token(&MemoryStore::new()).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_lease_can_be_taken_over_and_the_old_fence_cannot_release_it() {
        let store = MemoryStore::new();
        let old = store
            .try_lease("k", Duration::from_secs(1))
            .await
            .expect("ok")
            .expect("granted");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let new = store
            .try_lease("k", Duration::from_secs(10))
            .await
            .expect("ok")
            .expect("granted");
        assert!(
            !store
                .renew_lease(&old, Duration::from_secs(10))
                .await
                .expect("ok")
        );
        store.release_lease(old).await.expect("ok");
        assert!(
            store
                .try_lease("k", Duration::from_secs(10))
                .await
                .expect("ok")
                .is_none()
        );
        store.release_lease(new).await.expect("ok");
    }
}
