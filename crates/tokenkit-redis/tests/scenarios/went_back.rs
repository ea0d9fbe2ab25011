//! A store that lost its data — a restart without persistence, or a failover that lost
//! a master's last writes — fails closed for a budget-limited grant: the processes that
//! had seen its state count no refresh on what is left (a re-authentication error,
//! nothing sent upstream), while a grant without a budget carries on, and a new grant
//! (a relaunch) is accepted.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokenkit_core::{Arrival, Expiry, Grant, Token, TokenCache, TokenStore};

use super::Forgetful;
use super::cache::{Scripted, Upstream, cache};

/// Generous: the restarted node must settle, and the caches back off meanwhile.
const DEADLINE: Duration = Duration::from_secs(30);

const LIFETIME: Duration = Duration::from_millis(1500);

/// Calls `token()` until `done` accepts a result; every other result must be a token
/// or a transient error (Redis unreachable, the cluster settling).
async fn until(
    cache: &TokenCache,
    what: &str,
    done: impl Fn(&Result<Token, tokenkit_core::Error>) -> bool,
) -> Result<Token, tokenkit_core::Error> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let result = tokio::time::timeout(DEADLINE, cache.token())
            .await
            .unwrap_or_else(|_| panic!("{what}: token() hung"))
            .map(|guard| (*guard).clone());
        if done(&result) {
            return result;
        }
        if let Err(e) = &result {
            assert!(e.is_transient(), "{what}: {e}");
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {DEADLINE:?}: {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn access(result: &Result<Token, tokenkit_core::Error>) -> Option<&str> {
    result
        .as_ref()
        .ok()
        .map(|t| t.access_token().expose_secret())
}

/// Two processes share a budgeted grant (`budgeted_key`) that has spent one of its two
/// refreshes, and a grant without a budget (`free_key`, on the same node); then the
/// node loses its data.
pub async fn after_a_data_loss_budgeted_grants_fail_closed(
    backend: &mut impl Forgetful,
    budgeted_key: &str,
    free_key: &str,
) {
    let upstream = Arc::new(Upstream::default());
    let provider = |budget| Scripted {
        upstream: Arc::clone(&upstream),
        lifetime: LIFETIME,
        budget,
    };
    let (store_a, store_b) = (backend.store().await, backend.store().await);
    let a = cache(Arc::new(store_a.clone()), budgeted_key, provider(Some(2)));
    let b = cache(Arc::new(store_b.clone()), budgeted_key, provider(Some(2)));
    let free = cache(Arc::new(store_a.clone()), free_key, provider(None));
    // One fetch, then one refresh, seen by both processes.
    until(&a, "a fetches", |r| access(r) == Some("g0-0"))
        .await
        .expect("a token");
    until(&b, "b adopts", |r| access(r) == Some("g0-0"))
        .await
        .expect("a token");
    until(&a, "a refreshes", |r| access(r) == Some("g0-1"))
        .await
        .expect("a token");
    until(&b, "b adopts the refresh", |r| access(r) == Some("g0-1"))
        .await
        .expect("a token");
    let free_before = until(&free, "the free grant", Result::is_ok)
        .await
        .expect("a token");
    assert_eq!(upstream.fetches.load(Ordering::SeqCst), 2);
    assert_eq!(upstream.refreshes.load(Ordering::SeqCst), 1);

    backend.lose_data_of(&store_a.state_key(budgeted_key)).await;

    // Both processes still hold the grant (spent 1 of 2) in memory, and Redis holds
    // nothing: counting the second refresh could spend the budget twice (another
    // process may have counted it in the lost writes). Both refuse, nothing is sent.
    for (process, cache) in [("a", &a), ("b", &b)] {
        let err = until(cache, process, |r| {
            r.as_ref().is_err_and(|e| e.is_reauth_required())
        })
        .await
        .expect_err("fails closed");
        assert!(err.to_string().contains("went back"), "{process}: {err}");
    }
    assert_eq!(
        upstream.refreshes.load(Ordering::SeqCst),
        1,
        "no refresh was counted on the lost state"
    );

    // A grant without a budget has nothing to overspend: it is renewed.
    let renewed = until(&free, "the free grant after the loss", |r| {
        r.as_ref().is_ok_and(|t| !t.same_access_token(&free_before))
    })
    .await;
    assert!(renewed.is_ok());

    // A relaunch writes a new grant over whatever is stored; the processes that refused
    // take it, and may spend its budget again.
    let relaunched =
        Token::new("relaunched", Expiry::after(Arrival::now(), LIFETIME)).with_grant(Grant {
            refresh_budget: Some(2),
            ..Grant::default()
        });
    let expected = store_b
        .load(budgeted_key)
        .await
        .expect("load")
        .map_or(0, |v| v.generation);
    store_b
        .compare_and_set(budgeted_key, expected, &relaunched)
        .await
        .expect("a new grant is accepted");
    let again = cache(Arc::new(store_a.clone()), budgeted_key, provider(Some(2)));
    until(&again, "the relaunched grant", |r| {
        access(r) == Some("relaunched")
    })
    .await
    .expect("a token");
    let refreshed = until(&again, "a refresh of the relaunched grant", |r| {
        r.as_ref()
            .is_ok_and(|t| t.access_token().expose_secret() != "relaunched")
    })
    .await
    .expect("refreshed");
    assert_eq!(refreshed.grant().refreshes_spent, 1);
}
