//! Where tokens are remembered, and how several caches (threads, processes, hosts)
//! agree on one refresh.
//!
//! A store is keyed (one key per grant), versioned (every write bumps a *generation*,
//! and writes are compare-and-set on it, so a stale writer loses), and hands out a
//! *lease* for the refresh so that only one holder calls the platform at a time. The
//! lease is an optimisation; correctness of the ilab budget rests on the
//! compare-and-set: a refresh is counted in the store before it is sent.
//!
//! Beside each grant a store keeps its *pending records* ([`PendingRecord`]): what a
//! platform call that uses the grant's tokens must still deliver (an ilab result not
//! yet acknowledged). They live in the same backend as the token, so a record survives
//! a restart exactly when the token does, and another process sharing the store can
//! finish the delivery.
//!
//! [`FileStore`] and the Redis store can seal the secrets they keep with a key the user
//! provides ([`seal`]).

mod file;
mod memory;
mod pending;
pub mod seal;
mod temp_file;

use std::any::Any;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use file::FileStore;
pub use memory::MemoryStore;
pub use pending::{PendingRecord, pending_lease_key};

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

    /// Keeps `data` as the pending record `id` of `key`, replacing a record of that id,
    /// as durably as this store keeps tokens. Removing the token of `key`
    /// ([`TokenStore::remove`]) leaves its pending records alone: a relaunched grant of
    /// the same key delivers them.
    ///
    /// The default says this store keeps no pending records (all of tokenkit's stores
    /// do keep them).
    async fn put_pending(&self, key: &str, id: &str, data: &str) -> Result<(), Error> {
        let _ = (key, id, data);
        Err(pending::unsupported())
    }

    /// The pending records of `key`, oldest first (by their first `put_pending`).
    async fn pending(&self, key: &str) -> Result<Vec<PendingRecord>, Error> {
        let _ = key;
        Err(pending::unsupported())
    }

    /// Removes the pending record `id` of `key`; whether it was there.
    async fn remove_pending(&self, key: &str, id: &str) -> Result<bool, Error> {
        let _ = (key, id);
        Err(pending::unsupported())
    }

    /// The keys that have at least one pending record, in no particular order.
    async fn pending_keys(&self) -> Result<Vec<String>, Error> {
        Err(pending::unsupported())
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

    pub(crate) async fn pending_records_are_kept_beside_the_token(store: &dyn TokenStore) {
        assert!(store.pending("k").await.expect("pending").is_empty());
        store.put_pending("k", "r1", "one").await.expect("put");
        store.put_pending("k", "r2", "二").await.expect("put");
        store
            .put_pending("other key/2", "r1", "x")
            .await
            .expect("put");
        // Replacing keeps the record's place.
        store
            .put_pending("k", "r1", "one again")
            .await
            .expect("put");
        let kept = store.pending("k").await.expect("pending");
        let pairs: Vec<(&str, &str)> = kept.iter().map(|r| (r.id(), r.data())).collect();
        assert_eq!(pairs, [("r1", "one again"), ("r2", "二")]);
        let mut keys = store.pending_keys().await.expect("keys");
        keys.sort();
        assert_eq!(keys, ["k", "other key/2"]);
        // The token's removal leaves the records; the records' removal leaves the token.
        store
            .compare_and_set("k", 0, &token("a"))
            .await
            .expect("cas");
        store.remove("k").await.expect("remove");
        assert_eq!(store.pending("k").await.expect("pending").len(), 2);
        store
            .compare_and_set("k", 0, &token("b"))
            .await
            .expect("cas");
        assert!(store.remove_pending("k", "r1").await.expect("remove"));
        assert!(!store.remove_pending("k", "r1").await.expect("remove"));
        assert!(!store.remove_pending("nobody", "r1").await.expect("remove"));
        assert!(store.load("k").await.expect("load").is_some());
        assert!(store.remove_pending("k", "r2").await.expect("remove"));
        assert!(store.pending("k").await.expect("pending").is_empty());
        assert_eq!(store.pending_keys().await.expect("keys"), ["other key/2"]);
        assert!(
            store
                .remove_pending("other key/2", "r1")
                .await
                .expect("remove")
        );
        assert!(store.pending_keys().await.expect("keys").is_empty());
        store.remove("k").await.expect("remove");
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
