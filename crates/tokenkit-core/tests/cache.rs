//! The token cache on a paused clock with a scripted provider.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Answer, Scripted, outcome_unknown, reauth, server_error};
use tokenkit_core::{Backoff, RefreshPolicy, TokenCache, TokenStore};
use tokio::time::{Instant, advance, sleep};

const HOUR: Duration = Duration::from_secs(3600);

fn cache(provider: Arc<Scripted>) -> TokenCache {
    TokenCache::builder_arc(provider).build()
}

/// Steps the paused clock 10 ms at a time until the provider has seen `n` refreshes;
/// the instant it got there.
async fn time_attempt(provider: &Scripted, n: u32) -> Instant {
    for _ in 0..1000 {
        if provider.refreshes() >= n {
            return Instant::now();
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("no refresh number {n} within 10 s");
}

async fn settle() {
    // Let spawned tasks run (the paused clock auto-advances only when all are idle).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_callers_on_an_empty_cache_cause_one_fetch() {
    let provider = Arc::new(Scripted::new(HOUR));
    let cache = Arc::new(cache(Arc::clone(&provider)));
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .token()
                    .await
                    .map(|t| t.access_token().expose_secret().to_owned())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("token"), "fetched-1");
    }
    assert_eq!((provider.fetches(), provider.refreshes()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_callers_on_an_expired_cache_cause_one_refresh() {
    let provider = Arc::new(Scripted::new(Duration::from_secs(60)));
    let cache = Arc::new(cache(Arc::clone(&provider)));
    cache.token().await.expect("first");
    advance(Duration::from_secs(61)).await;
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .token()
                    .await
                    .map(|t| t.access_token().expose_secret().to_owned())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("token"), "refreshed-2");
    }
    assert_eq!((provider.fetches(), provider.refreshes()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn advisory_window_refreshes_once_in_the_background_and_nobody_waits() {
    // 100 s lifetime: advisory margin min(300 s, 20 s) = 20 s, mandatory 5 s.
    let mut scripted = Scripted::new(Duration::from_secs(100));
    scripted.delay = Duration::from_secs(2);
    let provider = Arc::new(scripted);
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(85)).await; // inside the advisory window
    let started = Instant::now();
    for _ in 0..1000 {
        let token = cache.token().await.expect("token");
        assert_eq!(
            token.access_token().expose_secret(),
            "fetched-1",
            "callers get the current token at once"
        );
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "no caller waited");
    sleep(Duration::from_secs(3)).await; // the background refresh completes
    assert_eq!(
        cache
            .token()
            .await
            .expect("token")
            .access_token()
            .expose_secret(),
        "refreshed-2"
    );
    assert_eq!(provider.refreshes(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_while_valid_keeps_serving_and_backs_off() {
    let provider = Arc::new(
        Scripted::new(Duration::from_secs(100))
            .then_refresh(Answer::Fail(server_error()))
            .then_refresh(Answer::Fail(server_error()))
            .then_refresh(Answer::Fail(server_error())),
    );
    let cache = TokenCache::builder_arc(provider.clone())
        .backoff(Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        })
        .build();
    cache.token().await.expect("first");
    advance(Duration::from_secs(81)).await; // advisory
    for _ in 0..100 {
        assert_eq!(
            cache
                .token()
                .await
                .expect("valid token")
                .access_token()
                .expose_secret(),
            "fetched-1"
        );
    }
    settle().await;
    sleep(Duration::from_millis(60)).await;
    assert_eq!(provider.refreshes(), 1, "one attempt, then backoff");
    // Each retry waits a jittered time in its band: [1 s, 2 s] after the first failure,
    // [2 s, 4 s] after the second. The attempts are timed as they happen (10 ms steps
    // of the paused clock), so the bands are checked whatever the jitter drew; a gap
    // between two attempts also holds the 50 ms the failing call took.
    let first = Instant::now();
    let second = time_attempt(&provider, 2).await;
    let gap = second - first;
    assert!(
        gap >= Duration::from_millis(940) && gap <= Duration::from_millis(2010),
        "first backoff {gap:?}"
    );
    let third = time_attempt(&provider, 3).await;
    let gap = third - second;
    assert!(
        gap >= Duration::from_millis(1990) && gap <= Duration::from_millis(4100),
        "second backoff {gap:?}"
    );
    // Meanwhile, callers were never refused while the token was valid, even in the
    // mandatory window.
    assert_eq!(
        cache
            .token()
            .await
            .expect("valid")
            .access_token()
            .expose_secret(),
        "fetched-1"
    );
    sleep(Duration::from_secs(10)).await;
    assert_eq!(
        cache
            .token()
            .await
            .expect("refreshed")
            .access_token()
            .expose_secret(),
        "refreshed-2"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_expiry_is_shared_by_all_waiters_then_backs_off() {
    let provider =
        Arc::new(Scripted::new(Duration::from_secs(60)).then_refresh(Answer::Fail(server_error())));
    let cache = Arc::new(
        TokenCache::builder_arc(provider.clone())
            .backoff(Backoff {
                base: Duration::from_secs(4),
                max: Duration::from_secs(60),
            })
            .build(),
    );
    cache.token().await.expect("first");
    advance(Duration::from_secs(61)).await;
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.token().await.map(|_| ()).map_err(|e| e.to_string()) })
        })
        .collect();
    let mut errors = std::collections::HashSet::new();
    for task in tasks {
        errors.insert(task.await.expect("task").expect_err("no valid token"));
    }
    assert_eq!(
        errors.len(),
        1,
        "all waiters get the same error: {errors:?}"
    );
    assert_eq!(provider.refreshes(), 1);
    // Before the backoff ends, callers get the error without a new attempt.
    assert!(cache.token().await.is_err());
    assert_eq!(provider.refreshes(), 1);
    advance(Duration::from_secs(5)).await;
    assert_eq!(
        cache
            .token()
            .await
            .expect("retry succeeds")
            .access_token()
            .expose_secret(),
        "refreshed-2"
    );
    assert_eq!(provider.refreshes(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_is_a_reauth_error_without_another_refresh() {
    let policy = RefreshPolicy::default()
        .with_refresh_budget(2)
        .with_background_refresh(false);
    let provider = Arc::new(
        Scripted::new(Duration::from_secs(60))
            .with_policy(policy)
            .then_fetch(Answer::Token(Duration::from_secs(60)))
            .then_fetch(Answer::Fail(reauth())),
    );
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("exchange");
    for n in 1..=2 {
        advance(Duration::from_secs(61)).await;
        let token = cache.token().await.expect("refresh within budget");
        assert_eq!(token.grant().refreshes_spent, n);
        assert_eq!(token.grant().refreshes_left(), Some(2 - n));
    }
    advance(Duration::from_secs(61)).await;
    let err = cache.token().await.expect_err("budget spent");
    assert!(err.is_reauth_required(), "{err}");
    assert_eq!(provider.refreshes(), 2, "no third refresh");
    assert_eq!(provider.fetches(), 2, "the fetch was asked and refused");
}

#[tokio::test(start_paused = true)]
async fn background_refresh_off_means_refresh_only_when_about_to_expire() {
    let policy = RefreshPolicy::default().with_background_refresh(false);
    let provider = Arc::new(Scripted::new(Duration::from_secs(100)).with_policy(policy));
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(90)).await; // would be advisory; not for this policy
    cache.token().await.expect("token");
    settle().await;
    assert_eq!(provider.refreshes(), 0);
    advance(Duration::from_secs(6)).await; // mandatory margin is 5 s
    assert_eq!(
        cache
            .token()
            .await
            .expect("token")
            .access_token()
            .expose_secret(),
        "refreshed-2"
    );
    assert_eq!(provider.refreshes(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_outcome_is_not_retried_while_the_token_is_valid() {
    let policy = RefreshPolicy::default().with_refresh_budget(2);
    let provider = Arc::new(
        Scripted::new(Duration::from_secs(100))
            .with_policy(policy)
            .then_refresh(Answer::Fail(outcome_unknown())),
    );
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(96)).await; // mandatory window
    let token = cache.token().await.expect("old token still valid");
    assert_eq!(token.access_token().expose_secret(), "fetched-1");
    assert!(
        token.grant().outcome_unknown,
        "the grant records the unknown outcome"
    );
    assert_eq!(token.grant().refreshes_spent, 1, "counted as spent");
    for _ in 0..5 {
        advance(Duration::from_millis(500)).await;
        cache.token().await.expect("still valid");
    }
    assert_eq!(
        provider.refreshes(),
        1,
        "never repeated while the token works"
    );
    // After expiry, one more refresh is allowed because the conservative count leaves
    // one in the budget.
    advance(Duration::from_secs(5)).await;
    let token = cache.token().await.expect("second refresh");
    assert_eq!(token.grant().refreshes_spent, 2);
    assert!(!token.grant().outcome_unknown);
    assert_eq!(provider.refreshes(), 2);
}

#[tokio::test(start_paused = true)]
async fn invalidating_a_superseded_token_does_nothing() {
    let provider = Arc::new(Scripted::new(HOUR));
    let cache = cache(Arc::clone(&provider));
    let first = cache.token().await.expect("first").to_owned_token();
    let second = cache
        .invalidate(&first)
        .await
        .expect("renewed")
        .to_owned_token();
    assert_eq!(second.access_token().expose_secret(), "refreshed-2");
    assert_eq!(provider.refreshes(), 1);
    // Late 401s for the first token (many requests were in flight) change nothing.
    for _ in 0..100 {
        let current = cache.invalidate(&first).await.expect("current");
        assert_eq!(current.access_token().expose_secret(), "refreshed-2");
    }
    assert_eq!(provider.refreshes(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_falls_back_to_fetch() {
    let provider =
        Arc::new(Scripted::new(Duration::from_secs(60)).then_refresh(Answer::Fail(reauth())));
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(61)).await;
    assert_eq!(
        cache
            .token()
            .await
            .expect("fetched again")
            .access_token()
            .expose_secret(),
        "fetched-2"
    );
    assert_eq!((provider.fetches(), provider.refreshes()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn renewal_window_closed_means_fetch() {
    let policy = RefreshPolicy::default().with_renewal_grace(Duration::from_secs(24 * 3600));
    let provider = Arc::new(Scripted::new(Duration::from_secs(60)).with_policy(policy));
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(3600)).await; // expired, within 24 h: renew
    cache.token().await.expect("renewed");
    assert_eq!((provider.fetches(), provider.refreshes()), (1, 1));
    advance(Duration::from_secs(25 * 3600)).await; // window closed: log in
    cache.token().await.expect("fetched");
    assert_eq!((provider.fetches(), provider.refreshes()), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn every_new_token_is_stored_before_callers_see_it_and_subscribers_are_told() {
    let provider = Arc::new(Scripted::new(Duration::from_secs(60)));
    let store = Arc::new(tokenkit_core::MemoryStore::new());
    let cache = TokenCache::builder_arc(provider.clone())
        .store(store.clone())
        .key("grant-1")
        .build();
    let mut changes = cache.subscribe();
    let token = cache.token().await.expect("first");
    let stored = store.load("grant-1").await.expect("load").expect("stored");
    assert!(stored.token.same_access_token(&token));
    assert_eq!(stored.generation, token.generation());
    assert!(changes.has_changed().expect("open"));
    let seen = changes.borrow_and_update().clone().expect("a token");
    assert!(seen.same_access_token(&token));
}

#[tokio::test(start_paused = true)]
async fn a_second_cache_adopts_the_stored_token_instead_of_fetching() {
    let provider = Arc::new(Scripted::new(HOUR));
    let store: Arc<dyn TokenStore> = Arc::new(tokenkit_core::MemoryStore::new());
    let a = TokenCache::builder_arc(provider.clone())
        .store(Arc::clone(&store))
        .key("k")
        .build();
    let b = TokenCache::builder_arc(provider.clone())
        .store(store)
        .key("k")
        .build();
    let ta = a.token().await.expect("a").to_owned_token();
    let tb = b.token().await.expect("b").to_owned_token();
    assert!(ta.same_access_token(&tb));
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_cache_stops_its_background_task() {
    let mut scripted = Scripted::new(Duration::from_secs(100));
    scripted.delay = Duration::from_secs(30);
    let provider = Arc::new(scripted);
    let cache = cache(Arc::clone(&provider));
    cache.token().await.expect("first");
    advance(Duration::from_secs(85)).await;
    cache.token().await.expect("advisory"); // starts the background refresh (30 s long)
    settle().await;
    assert!(Arc::strong_count(&provider) > 1);
    drop(cache);
    settle().await;
    assert_eq!(
        Arc::strong_count(&provider),
        1,
        "the task and its provider handle are gone"
    );
    assert_eq!(provider.refreshes(), 1, "the call had started");
}
