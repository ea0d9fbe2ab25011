//! Absurd expiries and TTLs against a real redis-server: a compare-and-set writes the
//! record, its key TTL and its change hint together, with every span clamped to
//! [`KeyTtl::MAX`] (Redis refuses an expiry whose absolute time overflows, and a script
//! failing at its `PEXPIRE` would leave the record written without a TTL, unannounced).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use tokenkit_core::{
    Arrival, CasOutcome, Error, Expiry, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};
use tokenkit_redis::{Change, KeyTtl};

/// Far beyond the 64-bit millisecond range, yet constructible (`Instant + Duration`
/// does not overflow).
const ABSURD: Duration = Duration::from_secs(u64::MAX / 4);

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// Only a guard against a hang: a hint published by the write arrives at once.
const HANG_GUARD: Duration = Duration::from_secs(10);

fn absurd(access: &str) -> Token {
    Token::new(access, Expiry::after(Arrival::now(), ABSURD))
}

/// The key's TTL in ms as Redis reports it, asserted to be set and clamped.
async fn assert_clamped_ttl(admin: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    let pttl: i64 = admin.pttl(key).await.expect("pttl");
    let max = i64::try_from(KeyTtl::MAX.as_millis()).expect("fits");
    assert!(pttl > 0 && pttl <= max, "PTTL of {key} is {pttl} ms");
    pttl
}

#[tokio::test]
async fn a_token_of_absurd_expiry_is_written_with_its_ttl_and_announced() {
    let server = redis_or_skip!();
    let store = server.store().await;
    let mut changes = store.subscribe("k").await.expect("subscribe");
    let outcome = store
        .compare_and_set("k", 0, &absurd("forever"))
        .await
        .expect("the write succeeds as one");
    assert!(matches!(outcome, CasOutcome::Written(1)), "{outcome:?}");
    let mut admin = server.admin().await;
    assert_clamped_ttl(&mut admin, &store.state_key("k")).await;
    let change = tokio::time::timeout(HANG_GUARD, changes.next()).await;
    assert_eq!(change.expect("announced"), Some(Change::Written(1)));
    // Stored clamped, read back valid: not wrapped into the past.
    let loaded = store.load("k").await.expect("load").expect("present").token;
    assert!(!loaded.expiry().is_expired());
    assert!(loaded.remaining() > YEAR, "{:?}", loaded.remaining());
    assert!(loaded.remaining() <= KeyTtl::MAX);
    assert!(loaded.expiry().lifetime() > YEAR, "lifetime wrapped");
}

#[tokio::test]
async fn the_most_extreme_spans_the_store_accepts_are_clamped() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    let policies = [
        KeyTtl::fixed(Duration::MAX),
        KeyTtl::default()
            .with_grace(Duration::MAX)
            .with_refresh_token_lifetime(Duration::MAX),
        KeyTtl::default().with_grace(Duration::MAX),
    ];
    for (i, policy) in policies.into_iter().enumerate() {
        let store = server
            .builder()
            .key_ttl(policy)
            .connect()
            .await
            .expect("connect");
        let key = format!("k{i}");
        for (expected, token) in [(0, absurd("a")), (1, support::token("b", 60))] {
            let outcome = store
                .compare_and_set(&key, expected, &token)
                .await
                .unwrap_or_else(|e| panic!("policy {policy:?}: {e}"));
            assert!(matches!(outcome, CasOutcome::Written(_)), "{outcome:?}");
            assert_clamped_ttl(&mut admin, &store.state_key(&key)).await;
        }
    }
    let store = server.store().await;
    let lease = store
        .try_lease("k", Duration::MAX)
        .await
        .expect("lease")
        .expect("granted");
    assert_clamped_ttl(&mut admin, &store.lease_key("k")).await;
    assert!(
        store
            .renew_lease(&lease, Duration::MAX)
            .await
            .expect("renew")
    );
    assert_clamped_ttl(&mut admin, &store.lease_key("k")).await;
    store.release_lease(lease).await.expect("release");
}

/// A platform whose tokens claim an absurd lifetime; counts its calls.
#[derive(Debug, Default)]
struct Absurd {
    calls: AtomicUsize,
}

#[async_trait]
impl TokenProvider for Absurd {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(absurd(&format!("absurd-{n}")))
    }

    async fn refresh(&self, _current: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

#[tokio::test]
async fn a_second_cache_over_redis_does_not_call_the_platform_again() {
    let server = redis_or_skip!();
    let provider = Arc::new(Absurd::default());
    for run in 0..2 {
        // Each run is a new "process": a new cache on a new connection.
        let store = Arc::new(server.store().await);
        let cache = TokenCache::builder(Arc::clone(&provider))
            .store(store)
            .key("k")
            .build();
        let token = cache.token().await.expect("token");
        assert_eq!(
            token.access_token().expose_secret(),
            "absurd-0",
            "run {run}"
        );
    }
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
}
