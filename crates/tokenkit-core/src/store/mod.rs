//! Where tokens are remembered, and how several caches (threads, processes, hosts)
//! agree on one refresh.
//!
//! A store is keyed (one key per grant), versioned (every write bumps a *generation*,
//! and writes are compare-and-set on it, so a stale writer loses), and hands out a
//! *lease* for the refresh so that only one holder calls the platform at a time. The
//! lease is an optimisation; correctness of the ilab budget rests on the
//! compare-and-set: a refresh is counted in the store before it is sent.

mod file;
mod memory;

use std::any::Any;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use file::FileStore;
pub use memory::MemoryStore;

use crate::{Error, Token};

/// A stored token and the generation it was written at (generations start at 1).
#[derive(Debug, Clone)]
pub struct Versioned {
    /// Bumped by every write.
    pub generation: u64,
    /// The token.
    pub token: Token,
}

/// The result of a compare-and-set.
#[derive(Debug, Clone)]
pub enum CasOutcome {
    /// Written; this is the new generation.
    Written(u64),
    /// Someone else wrote first; this is what the store holds now.
    Conflict(Option<Versioned>),
}

/// The right to refresh one key for a while. Dropping it without
/// [`TokenStore::release_lease`] lets it lapse at its expiry (or, for a file lock, at
/// once).
pub struct Lease {
    /// The key leased.
    pub key: String,
    /// A value unique to this holder, so only it can renew or release the lease.
    pub fence: String,
    /// Whatever the store keeps alive for the lease (a locked file, …).
    pub guard: Option<Box<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

/// A keyed, versioned token store with a refresh lease.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token stored under `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<Versioned>, Error>;

    /// Stores `token` as generation `expected + 1` if the store is at `expected`
    /// (`0` = nothing stored yet); otherwise reports what it holds.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error>;

    /// Tries to take the refresh lease for `ttl`; `None` if someone else holds it.
    async fn try_lease(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, Error>;

    /// Extends a lease this holder still owns; `false` if it was lost.
    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, Error> {
        let _ = (lease, ttl);
        Ok(true)
    }

    /// Gives the lease back (only if this holder still owns it).
    async fn release_lease(&self, lease: Lease) -> Result<(), Error>;

    /// Waits until the token under `key` may have changed, or `timeout` passes. Only a
    /// hint (a store with change notifications wakes early): the caller looks at the
    /// store again either way. The default simply waits out `timeout`.
    async fn wait_for_change(&self, key: &str, timeout: Duration) {
        let _ = key;
        tokio::time::sleep(timeout).await;
    }

    /// Removes the token stored under `key`.
    async fn remove(&self, key: &str) -> Result<(), Error>;

    /// Whether other processes may share this store (and so may refresh too).
    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Behaviour every store must show; run against each store's tests.
    use std::time::Duration;

    use super::*;
    use crate::{Arrival, Expiry};

    pub(crate) fn token(access: &str) -> Token {
        Token::new(
            access,
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        )
    }

    pub(crate) async fn compare_and_set_is_versioned(store: &dyn TokenStore) {
        assert!(store.load("k").await.expect("load").is_none());
        assert!(matches!(
            store
                .compare_and_set("k", 0, &token("a"))
                .await
                .expect("cas"),
            CasOutcome::Written(1)
        ));
        // A stale writer (still at 0) loses and is told what is there.
        match store
            .compare_and_set("k", 0, &token("b"))
            .await
            .expect("cas")
        {
            CasOutcome::Conflict(Some(v)) => {
                assert_eq!(v.generation, 1);
                assert_eq!(v.token.access_token().expose_secret(), "a");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(matches!(
            store
                .compare_and_set("k", 1, &token("c"))
                .await
                .expect("cas"),
            CasOutcome::Written(2)
        ));
        let v = store.load("k").await.expect("load").expect("present");
        assert_eq!(
            (v.generation, v.token.access_token().expose_secret()),
            (2, "c")
        );
        assert!(store.load("other").await.expect("load").is_none());
        store.remove("k").await.expect("remove");
        assert!(store.load("k").await.expect("load").is_none());
    }

    pub(crate) async fn lease_is_exclusive(store: &dyn TokenStore) {
        let ttl = Duration::from_secs(30);
        let lease = store
            .try_lease("k", ttl)
            .await
            .expect("lease")
            .expect("granted");
        assert!(store.try_lease("k", ttl).await.expect("lease").is_none());
        assert!(
            store
                .try_lease("other", ttl)
                .await
                .expect("lease")
                .is_some()
        );
        assert!(store.renew_lease(&lease, ttl).await.expect("renew"));
        store.release_lease(lease).await.expect("release");
        assert!(store.try_lease("k", ttl).await.expect("lease").is_some());
    }
}
