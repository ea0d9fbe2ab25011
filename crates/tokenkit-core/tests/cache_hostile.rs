//! The cache against providers whose answers cannot be right or got lost (issue
//! "hostile and faulty platforms"), on a paused clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Answer, Scripted, outcome_unknown, server_error};
use tokenkit_core::{Backoff, MemoryStore, RefreshPolicy, TokenCache, TokenStore};
use tokio::time::{Instant, advance, sleep};

const HOUR: Duration = Duration::from_secs(3600);

async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn budgeted() -> RefreshPolicy {
    RefreshPolicy::default()
        .with_refresh_budget(2)
        .with_background_refresh(false)
}

/// Defect: a budgeted refresh answered with a token already expired was installed, the
/// next caller found it expired and spent the second refresh on the same bogus answer
/// (and every later run of `ilab token` did the same). Now the answer is implausible,
/// its refresh stays counted, and no process spends another one on the grant.
#[tokio::test(start_paused = true)]
async fn a_token_expired_on_arrival_spends_no_second_budgeted_refresh_in_any_process() {
    let provider = Arc::new(
        Scripted::new(Duration::from_secs(10))
            .with_policy(budgeted())
            .then_refresh(Answer::Token(Duration::ZERO))
            .then_refresh(Answer::Token(Duration::ZERO)),
    );
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let run = |key: &str| {
        TokenCache::builder_arc(provider.clone())
            .store(Arc::clone(&store))
            .key(key)
            .build()
    };
    let first = run("grant");
    first.token().await.expect("fetched");
    advance(Duration::from_secs(11)).await;

    let err = first.token().await.expect_err("implausible");
    assert!(err.is_implausible(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("implausible") && message.contains("already expired"),
        "{message}"
    );
    assert!(!message.contains("token store"), "{message}");
    assert_eq!(provider.refreshes(), 1);

    // Again, and from another process sharing the store: no refresh is spent.
    assert!(first.token().await.expect_err("still").is_implausible());
    let second = run("grant");
    let err = second.token().await.expect_err("another process");
    assert!(err.is_implausible(), "{err:?}");
    assert_eq!(provider.refreshes(), 1, "no second refresh spent");
    assert_eq!(provider.fetches(), 1, "no fetch either");

    let stored = store.load("grant").await.expect("load").expect("kept");
    let grant = stored.token.grant();
    assert_eq!(grant.refreshes_spent, 1, "the answered refresh stays spent");
    assert!(grant.implausible && !grant.outcome_unknown, "{grant:?}");
}

/// Defect: a provider handing over an expired token made the cache say "token store:
/// no valid token after a successful refresh", though no store was involved. Now it is
/// an implausible answer of that provider, retried after a (short) backoff since the
/// grant is not budgeted.
#[tokio::test(start_paused = true)]
async fn an_expired_token_from_an_unbudgeted_provider_is_implausible_and_retried() {
    let provider = Arc::new(
        Scripted::new(HOUR)
            .with_policy(RefreshPolicy::default())
            .then_fetch(Answer::Token(Duration::ZERO)),
    );
    let cache = TokenCache::builder_arc(provider.clone()).build();
    let err = cache.token().await.expect_err("expired on arrival");
    assert!(err.is_implausible(), "{err:?}");
    assert_eq!(err.platform(), Some("provider"));
    assert!(!err.to_string().contains("token store"), "{err}");
    advance(Duration::from_secs(2)).await;
    let token = cache.token().await.expect("the next fetch is plausible");
    assert_eq!(token.access_token().expose_secret(), "fetched-2");
    assert_eq!(provider.fetches(), 2);
}

/// Defect: the backoff after expiry doubled up to 60 s whatever the token's lifetime:
/// a grant of 2 s tokens sat out half a minute after six failures. Bounded by the
/// lifetime, the retries follow each other within a fraction of it.
#[tokio::test(start_paused = true)]
async fn backoff_after_expiry_is_bounded_by_the_token_lifetime() {
    let lifetime = Duration::from_secs(2);
    let mut provider = Scripted::new(lifetime)
        .with_policy(RefreshPolicy::default().with_background_refresh(false));
    for _ in 0..6 {
        provider = provider.then_refresh(Answer::Fail(server_error()));
    }
    let provider = Arc::new(provider);
    let cache = TokenCache::builder_arc(provider.clone())
        .backoff(Backoff::default())
        .build();
    cache.token().await.expect("fetched");
    advance(lifetime).await;
    let expired_at = Instant::now();
    let mut calls = 0;
    let recovered = loop {
        calls += 1;
        if let Ok(token) = cache.token().await {
            break token;
        }
        assert!(calls < 10_000, "never recovered");
        sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(recovered.access_token().expose_secret(), "refreshed-2");
    assert_eq!(provider.refreshes(), 7);
    // Six backoffs of at most lifetime/8 each (plus the provider's 50 ms per call and
    // the 20 ms polling): well under the 31 s that the unbounded doubling waits.
    let outage = expired_at.elapsed();
    assert!(outage < Duration::from_secs(3), "outage {outage:?}");
}

/// Defect: after a renewal whose answer was lost, the cache kept serving the old token,
/// which the renewal may have revoked at the platform. On a platform whose renewal
/// revokes, the token is suspect: stored so, and renewed before it is served again, in
/// this process and in any other sharing the store.
#[tokio::test(start_paused = true)]
async fn after_a_lost_renewal_a_revoking_platform_s_token_is_renewed_before_it_is_served() {
    let provider = Arc::new(
        Scripted::new(HOUR)
            .with_policy(RefreshPolicy::default().with_renewal_revokes(true))
            .then_refresh(Answer::Fail(outcome_unknown())),
    );
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let cache = TokenCache::builder_arc(provider.clone())
        .store(Arc::clone(&store))
        .build();
    let old = cache.token().await.expect("fetched").to_owned_token();
    // Into the advisory window: a background renewal starts, and its answer is lost.
    advance(HOUR - Duration::from_secs(200)).await;
    cache
        .token()
        .await
        .expect("still served while the renewal runs");
    for _ in 0..100 {
        settle().await;
        sleep(Duration::from_millis(10)).await;
        if provider.refreshes() >= 1 {
            break;
        }
    }
    sleep(Duration::from_millis(100)).await;
    settle().await;
    assert_eq!(provider.refreshes(), 1);
    let stored = store.load("default").await.expect("load").expect("kept");
    assert!(stored.token.grant().suspect, "the suspicion is stored");

    // Another process sharing the store does not serve it either.
    let other = TokenCache::builder_arc(provider.clone())
        .store(Arc::clone(&store))
        .build();
    let renewed = other.token().await.expect("renewed");
    assert!(!renewed.same_access_token(&old));
    assert_eq!(provider.refreshes(), 2);

    // This process shares its failure until its (short) backoff ends, then adopts the
    // stored renewal instead of renewing again.
    advance(Duration::from_secs(2)).await;
    let served = cache.token().await.expect("served");
    assert!(
        !served.same_access_token(&old),
        "the suspect token was served"
    );
    assert!(served.same_access_token(&renewed));
    assert_eq!(provider.refreshes(), 2, "one renewal for both");
}

/// Without the revoking rule, an unknown outcome keeps the old token in use until its
/// deadline (it may have spent a refresh; nothing says the token died).
#[tokio::test(start_paused = true)]
async fn without_revocation_a_lost_renewal_leaves_the_token_in_use() {
    let provider = Arc::new(
        Scripted::new(HOUR)
            .with_policy(RefreshPolicy::default())
            .then_refresh(Answer::Fail(outcome_unknown())),
    );
    let cache = TokenCache::builder_arc(provider.clone()).build();
    let old = cache.token().await.expect("fetched").to_owned_token();
    advance(HOUR - Duration::from_secs(200)).await;
    cache.token().await.expect("served");
    for _ in 0..20 {
        settle().await;
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(provider.refreshes(), 1);
    let served = cache.token().await.expect("served");
    assert!(served.same_access_token(&old));
    assert_eq!(provider.refreshes(), 1);
}
