//! [`TokenStore`] for [`RedisStore`]: each operation goes to Redis, or — with
//! [`Fallback::Local`](crate::Fallback::Local) while Redis is unreachable — to the
//! in-process fallback store. Pending records always go to Redis (see
//! [`crate::pending`]).

use std::time::Duration;

use async_trait::async_trait;
use tokenkit_core::{CasOutcome, Error, Lease, PendingRecord, Token, TokenStore, Versioned};

use crate::RedisStore;
use crate::fallback::{LOCAL_FENCE, Local, fail_closed};

/// Where one operation goes.
enum Route<'a> {
    Redis,
    Local(&'a Local),
}

impl RedisStore {
    /// Redis, unless the fallback is active and Redis failed recently; hands locally
    /// written tokens back to Redis first when it is reachable again.
    async fn route(&self, key: &str) -> Route<'_> {
        let Some(local) = self.local() else {
            return Route::Redis;
        };
        if local.is_down() {
            return Route::Local(local);
        }
        if local.is_dirty(key)
            && let Err(e) = self.reconcile(local, key).await
            && local.takes_over(&e)
        {
            return Route::Local(local);
        }
        Route::Redis
    }

    /// The fallback store for an operation that failed with `error`, if it applies.
    fn fallback_for(&self, error: &Error) -> Option<&Local> {
        self.local().filter(|l| l.takes_over(error))
    }
}

fn local_lease(lease: Lease) -> Lease {
    Lease {
        fence: format!("{LOCAL_FENCE}{}", lease.fence),
        ..lease
    }
}

fn unwrap_local(lease: &Lease) -> Option<Lease> {
    lease.fence.strip_prefix(LOCAL_FENCE).map(|fence| Lease {
        key: lease.key.clone(),
        fence: fence.to_owned(),
        guard: None,
    })
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn load(&self, key: &str) -> Result<Option<Versioned>, Error> {
        let result = match self.route(key).await {
            Route::Local(local) => return local.memory.load(key).await,
            Route::Redis => self.redis_load(key).await,
        };
        if let Ok(Some(v)) = &result {
            self.inner.seen.note(key, v.generation, &v.token);
        }
        match (result, self.local()) {
            (Ok(Some(v)), Some(local)) if v.token.grant().refresh_budget.is_some() => {
                local.mark_budgeted(key);
                Ok(Some(v))
            }
            (Err(e), _) => match self.fallback_for(&e) {
                Some(local) => local.memory.load(key).await,
                None => Err(e),
            },
            (result, _) => result,
        }
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error> {
        let budgeted = token.grant().refresh_budget.is_some();
        if let Some(local) = self.local()
            && budgeted
        {
            local.mark_budgeted(key);
        }
        let (local, cause) = match self.route(key).await {
            Route::Local(local) => (local, None),
            Route::Redis => match self.redis_compare_and_set_seen(key, expected, token).await {
                Ok(outcome) => return Ok(outcome),
                Err(e) => match self.fallback_for(&e) {
                    Some(local) => (local, Some(e)),
                    None => return Err(e),
                },
            },
        };
        if budgeted {
            // A refresh counted only here would be invisible to the other processes.
            return Err(fail_closed(cause));
        }
        let outcome = local.memory.compare_and_set(key, expected, token).await?;
        if matches!(outcome, CasOutcome::Written(_)) {
            local.mark_dirty(key);
        }
        Ok(outcome)
    }

    async fn try_lease(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, Error> {
        let (local, cause) = match self.route(key).await {
            Route::Local(local) => (local, None),
            Route::Redis => match self.redis_try_lease(key, ttl).await {
                Ok(lease) => return Ok(lease),
                Err(e) => match self.fallback_for(&e) {
                    Some(local) => (local, Some(e)),
                    None => return Err(e),
                },
            },
        };
        if local.is_budgeted(key) {
            // Without a shared lease a budgeted grant must not refresh, nor fetch (an
            // ilab ticket is single-use).
            return Err(fail_closed(cause));
        }
        Ok(local.memory.try_lease(key, ttl).await?.map(local_lease))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, Error> {
        match (unwrap_local(lease), self.local()) {
            (Some(inner), Some(local)) => local.memory.renew_lease(&inner, ttl).await,
            _ => self.redis_renew_lease(lease, ttl).await,
        }
    }

    async fn release_lease(&self, lease: Lease) -> Result<(), Error> {
        match (unwrap_local(&lease), self.local()) {
            (Some(inner), Some(local)) => local.memory.release_lease(inner).await,
            _ => self.redis_release_lease(&lease).await.map(drop),
        }
    }

    /// Wakes on the key's pub/sub change hint (a commit, a counted refresh, a released
    /// lease) or after `timeout`, whichever comes first. A hint missed (published before
    /// the subscription, or Redis unreachable) costs only the timeout.
    async fn wait_for_change(&self, key: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let hint = async {
            match self.subscribe(key).await {
                Ok(mut changes) => {
                    changes.next().await;
                }
                Err(_) => tokio::time::sleep_until(deadline).await,
            }
        };
        let _ = tokio::time::timeout_at(deadline, hint).await;
    }

    async fn remove(&self, key: &str) -> Result<(), Error> {
        if let Some(local) = self.local() {
            local.memory.remove(key).await?;
        }
        // Not skipped while Redis is down: a removal that did not reach Redis would
        // come back, so the caller is told.
        self.redis_remove(key).await?;
        self.inner.seen.forget(key);
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    /// Keeps the record in Redis, beside the grant's token but not under its key TTL:
    /// it stays until [`remove_pending`](TokenStore::remove_pending).
    ///
    /// Never uses the in-process fallback, whatever [`Fallback`](crate::Fallback) says:
    /// a record the other processes cannot see must not be reported as kept. While
    /// Redis is unreachable this fails as a transient store error within the operation
    /// timeout; the record may still have been written (putting it again is harmless).
    async fn put_pending(&self, key: &str, id: &str, data: &str) -> Result<(), Error> {
        self.redis_put_pending(key, id, data).await
    }

    /// The records in Redis, oldest first; no fallback (see
    /// [`put_pending`](TokenStore::put_pending)).
    async fn pending(&self, key: &str) -> Result<Vec<PendingRecord>, Error> {
        self.redis_pending(key).await
    }

    /// Removes the record from Redis; no fallback (see
    /// [`put_pending`](TokenStore::put_pending)).
    async fn remove_pending(&self, key: &str, id: &str) -> Result<bool, Error> {
        self.redis_remove_pending(key, id).await
    }

    /// The keys with records in Redis, from an index set of such keys (no `KEYS` or
    /// `SCAN`); listed keys found empty are dropped from the index. No fallback (see
    /// [`put_pending`](TokenStore::put_pending)).
    async fn pending_keys(&self) -> Result<Vec<String>, Error> {
        self.redis_pending_keys().await
    }
}
