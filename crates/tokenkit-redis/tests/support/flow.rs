//! Every store operation and a fleet's flow, on two stores of one server (two
//! "processes"): run over TLS and as an ACL user to show that they change nothing of
//! what a store does.
//!
//! Declared beside `support` by the tests that need it:
//! `#[path = "support/flow.rs"] mod flow;` (it uses `crate::support`).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokenkit_core::{
    Arrival, CasOutcome, Error, Expiry, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};
use tokenkit_redis::{Change, Changes, RedisStore, Spend};

use crate::support::budgeted;

/// Generous: the machine may be loaded.
const WAIT: Duration = Duration::from_secs(10);

/// A platform that takes a moment to answer, so the other cache waits behind the lease.
#[derive(Debug, Default)]
struct Counting {
    fetches: Arc<AtomicUsize>,
}

#[async_trait]
impl TokenProvider for Counting {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Token::new(
            format!("fleet-token-{n}"),
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        ))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

/// Runs it all on `a` and `b` under keys starting with `key`.
pub async fn every_operation(a: &RedisStore, b: &RedisStore, key: &str) {
    a.ping().await.expect("ping a");
    b.ping().await.expect("ping b");
    two_caches_share_one_fetch(a, b, &format!("{key}:cache")).await;
    the_lease_is_exclusive(a, b, &format!("{key}:lease")).await;
    the_budget_is_counted_once(a, b, &format!("{key}:spend")).await;
    pending_records_are_shared(a, b, &format!("{key}:pending")).await;
}

async fn next_change(changes: &mut Changes) -> Change {
    tokio::time::timeout(WAIT, changes.next())
        .await
        .expect("a change hint in time")
        .expect("the subscription is open")
}

async fn two_caches_share_one_fetch(a: &RedisStore, b: &RedisStore, key: &str) {
    let mut changes = b.subscribe(key).await.expect("subscribe");
    let fetches = Arc::new(AtomicUsize::new(0));
    let cache = |store: &RedisStore| {
        TokenCache::builder(Counting {
            fetches: Arc::clone(&fetches),
        })
        .store(Arc::new(store.clone()))
        .key(key)
        .poll_interval(Duration::from_millis(50))
        .build()
    };
    let (first, second) = (cache(a), cache(b));
    let (x, y) = tokio::join!(first.token(), second.token());
    let (x, y) = (x.expect("token in a"), y.expect("token in b"));
    assert_eq!(x.access_token().expose_secret(), "fleet-token-0");
    assert_eq!(y.access_token().expose_secret(), "fleet-token-0");
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "one fetch for the fleet");
    assert!(matches!(
        next_change(&mut changes).await,
        Change::Written(_)
    ));

    let stored = b.load(key).await.expect("load").expect("stored");
    assert_eq!(stored.token.access_token().expose_secret(), "fleet-token-0");
    a.remove(key).await.expect("remove");
    assert!(b.load(key).await.expect("load").is_none());
}

async fn the_lease_is_exclusive(a: &RedisStore, b: &RedisStore, key: &str) {
    let mut changes = b.subscribe(key).await.expect("subscribe");
    let ttl = Duration::from_secs(30);
    let lease = a.try_lease(key, ttl).await.expect("lease").expect("free");
    assert!(b.try_lease(key, ttl).await.expect("lease").is_none());
    assert!(a.renew_lease(&lease, ttl).await.expect("renew"));
    a.release_lease(lease).await.expect("release");
    assert_eq!(next_change(&mut changes).await, Change::LeaseReleased);
    let lease = b
        .try_lease(key, ttl)
        .await
        .expect("lease")
        .expect("free again");
    b.release_lease(lease).await.expect("release");
}

async fn the_budget_is_counted_once(a: &RedisStore, b: &RedisStore, key: &str) {
    assert!(matches!(
        a.compare_and_set(key, 0, &budgeted("ilab-token", 0, 2))
            .await,
        Ok(CasOutcome::Written(1))
    ));
    assert!(matches!(
        b.spend(key, 2).await,
        Ok(Spend::Spent {
            refreshes_spent: 1,
            ..
        })
    ));
    assert!(matches!(
        a.spend(key, 2).await,
        Ok(Spend::Spent {
            refreshes_spent: 2,
            ..
        })
    ));
    assert!(matches!(b.spend(key, 2).await, Ok(Spend::Exhausted { .. })));
    assert!(matches!(
        a.spend(&format!("{key}:none"), 2).await,
        Ok(Spend::Missing)
    ));
}

async fn pending_records_are_shared(a: &RedisStore, b: &RedisStore, key: &str) {
    a.put_pending(key, "r1", "{\"score\":1}")
        .await
        .expect("put");
    a.put_pending(key, "r2", "{\"score\":2}")
        .await
        .expect("put");
    let records = b.pending(key).await.expect("pending");
    let ids: Vec<_> = records.iter().map(|r| r.id()).collect();
    assert_eq!(ids, ["r1", "r2"]);
    assert!(
        b.pending_keys()
            .await
            .expect("keys")
            .contains(&key.to_owned())
    );
    assert!(b.remove_pending(key, "r1").await.expect("remove"));
    assert!(a.remove_pending(key, "r2").await.expect("remove"));
    assert!(
        !a.pending_keys()
            .await
            .expect("keys")
            .contains(&key.to_owned())
    );
}
