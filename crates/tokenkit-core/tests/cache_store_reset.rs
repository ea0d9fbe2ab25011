//! The cache when its grant's record is removed or rewritten under it by another holder
//! of the store (a session registry evicting an idle user, a relaunch by another
//! process, an operator deleting a key).
//!
//! Defect: a budgeted refresh counts its spend with a compare-and-set on the generation
//! the cache holds. With the record gone (or rewritten at a lower generation) that
//! compare-and-set conflicted for ever, and the cache retried at once: a hot loop that
//! never returned and held its runtime thread. Each test runs the cache on a runtime of
//! its own thread, so the old code fails the test (no answer within the bound) instead
//! of hanging the suite.

mod support;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use support::Scripted;
use tokenkit_core::{Arrival, Expiry, MemoryStore, RefreshPolicy, Token, TokenCache, TokenStore};

/// Far more than the cache needs (a few scripted calls of 50 ms).
const BOUND: Duration = Duration::from_secs(20);

fn budgeted() -> RefreshPolicy {
    RefreshPolicy::default()
        .with_refresh_budget(2)
        .with_background_refresh(false)
}

/// Runs `scenario` on its own runtime thread; its result, or a panic naming the hang.
fn bounded<T: Send + 'static>(
    scenario: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let _ = tx.send(runtime.block_on(scenario));
    });
    rx.recv_timeout(BOUND)
        .expect("the cache did not answer: it loops on the removed record")
}

/// A cache over `store` whose first token lives `lifetime`, and the provider.
fn cache(store: &Arc<MemoryStore>, lifetime: Duration) -> (Arc<Scripted>, TokenCache) {
    let provider = Arc::new(Scripted::new(lifetime).with_policy(budgeted()));
    let cache = TokenCache::builder_arc(provider.clone())
        .store(store.clone())
        .key("grant")
        .build();
    (provider, cache)
}

#[test]
fn a_budgeted_grant_whose_record_was_removed_is_refreshed_once_and_stored_again() {
    let (refreshes, stored) = bounded(async {
        let store = Arc::new(MemoryStore::new());
        let (provider, cache) = cache(&store, Duration::from_millis(300));
        cache.token().await.expect("first token");
        store.remove("grant").await.expect("remove");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let token = cache.token().await.expect("refreshed");
        assert_eq!(token.access_token().expose_secret(), "refreshed-2");
        let stored = store
            .load("grant")
            .await
            .expect("load")
            .expect("stored again");
        (provider.refreshes(), stored.token)
    });
    assert_eq!(refreshes, 1);
    assert_eq!(stored.access_token().expose_secret(), "refreshed-2");
    assert_eq!(stored.grant().refreshes_spent, 1, "the spend is counted");
}

#[test]
fn a_record_rewritten_at_a_lower_generation_is_the_grant_now() {
    let (refreshes, token) = bounded(async {
        let store = Arc::new(MemoryStore::new());
        // The grant has been refreshed before: its record is at generation 3.
        let ours = token("ours", Duration::from_millis(300));
        for generation in 0..3 {
            store
                .compare_and_set("grant", generation, &ours)
                .await
                .expect("cas");
        }
        let (provider, cache) = cache(&store, Duration::from_secs(3600));
        let adopted = cache.token().await.expect("adopted");
        assert_eq!(adopted.access_token().expose_secret(), "ours");
        drop(adopted);
        // The key starts over with another holder's grant at generation 1.
        store.remove("grant").await.expect("remove");
        let theirs = token("theirs", Duration::from_secs(3600));
        store
            .compare_and_set("grant", 0, &theirs)
            .await
            .expect("cas");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let token = cache.token().await.expect("a token");
        (
            provider.refreshes() + provider.fetches(),
            token.access_token().expose_secret().to_owned(),
        )
    });
    assert_eq!(token, "theirs", "the store's grant is adopted");
    assert_eq!(refreshes, 0, "nothing spent on the replaced grant");
}

fn token(access: &str, lifetime: Duration) -> Token {
    Token::new(access, Expiry::after(Arrival::now(), lifetime))
}
