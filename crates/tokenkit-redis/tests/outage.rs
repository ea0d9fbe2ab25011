//! Redis paused, killed and restarted: transient errors within the timeout, then
//! recovery; the local fallback and its fail-closed rule for budgeted grants.

mod scenarios;
mod support;

use std::time::{Duration, Instant};

use tokenkit_core::{CasOutcome, TokenStore};
use tokenkit_redis::Fallback;

use support::{budgeted, token};

#[tokio::test]
async fn a_paused_redis_gives_transient_errors_in_time_then_recovers() {
    let server = redis_or_skip!();
    let store = server.store().await; // operation timeout 400 ms
    store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect("cas");
    let mut admin = server.admin().await;
    let () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "1500", "ALL"])
        .query_async(&mut admin)
        .await
        .expect("pause");
    let started = Instant::now();
    let err = store.load("k").await.expect_err("paused");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_transient(), "{err}");
    assert!(matches!(
        err,
        tokenkit_core::Error::Store {
            transient: true,
            ..
        }
    ));
    let err = store
        .try_lease("k", Duration::from_secs(5))
        .await
        .expect_err("paused");
    assert!(err.is_transient(), "{err}");
    // After the pause the same store works again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v = recover(|| store.load("k")).await.expect("present");
    assert_eq!(v.token.access_token().expose_secret(), "a");
    // The timed-out lease request may still have been granted when the pause ended
    // (a write whose answer was lost); it lapses by itself. Either way, leases answer.
    let _ = recover(|| store.try_lease("k", Duration::from_secs(5))).await;
}

#[tokio::test]
async fn a_killed_and_restarted_redis_is_reconnected_to() {
    let mut server = redis_or_skip!();
    let store = server.store().await;
    store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect("cas");
    server.kill();
    let started = Instant::now();
    let err = store.load("k").await.expect_err("down");
    assert!(err.is_transient(), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    server.restart();
    // No persistence: the restarted server is empty; the store reconnects (and
    // reloads its scripts) by itself.
    assert!(recover(|| store.load("k")).await.is_none());
    let b = token("b", 600);
    assert!(matches!(
        recover(|| store.compare_and_set("k", 0, &b)).await,
        CasOutcome::Written(1)
    ));
    assert!(
        store
            .try_lease("k", Duration::from_secs(5))
            .await
            .expect("lease")
            .is_some()
    );
}

#[tokio::test]
async fn fail_closed_is_the_default() {
    let mut server = redis_or_skip!();
    let store = server.store().await;
    server.kill();
    for err in [
        store.load("k").await.expect_err("down"),
        store
            .compare_and_set("k", 0, &token("a", 600))
            .await
            .expect_err("down"),
        store
            .try_lease("k", Duration::from_secs(1))
            .await
            .expect_err("down"),
    ] {
        assert!(err.is_transient(), "{err}");
    }
}

#[tokio::test]
async fn the_local_fallback_serves_while_redis_is_down_and_hands_back_after() {
    let mut server = redis_or_skip!();
    let store = server
        .builder()
        .fallback(Fallback::Local)
        .connect()
        .await
        .expect("connect");
    store
        .compare_and_set("k", 0, &token("old", 60))
        .await
        .expect("cas");
    server.kill();
    // Redis is down: this process goes on alone with its in-process store.
    assert!(store.load("k").await.expect("local load").is_none());
    let lease = store
        .try_lease("k", Duration::from_secs(5))
        .await
        .expect("local lease")
        .expect("granted");
    assert!(
        store
            .renew_lease(&lease, Duration::from_secs(5))
            .await
            .expect("renew")
    );
    assert!(matches!(
        store.compare_and_set("k", 0, &token("new", 600)).await,
        Ok(CasOutcome::Written(1))
    ));
    store.release_lease(lease).await.expect("release");
    let v = store.load("k").await.expect("load").expect("local token");
    assert_eq!(v.token.access_token().expose_secret(), "new");
    // Redis comes back empty; the locally written token is handed to it.
    server.restart();
    tokio::time::sleep(Duration::from_millis(300)).await; // the probe interval
    let v = recover(|| store.load("k")).await.expect("handed back");
    assert_eq!(v.token.access_token().expose_secret(), "new");
    let other_process = server.store().await;
    let v = other_process
        .load("k")
        .await
        .expect("load")
        .expect("in redis");
    assert_eq!(v.token.access_token().expose_secret(), "new");
}

#[tokio::test]
async fn budgeted_grants_fail_closed_even_with_the_local_fallback() {
    let mut server = redis_or_skip!();
    let store = server
        .builder()
        .fallback(Fallback::Local)
        .connect()
        .await
        .expect("connect");
    store
        .compare_and_set("ilab", 0, &budgeted("a", 1, 2))
        .await
        .expect("cas");
    assert!(store.load("ilab").await.expect("load").is_some());
    server.kill();
    // Counting a refresh locally would let another process spend it again.
    let err = store
        .compare_and_set("ilab", 1, &budgeted("a", 2, 2))
        .await
        .expect_err("fails closed");
    assert!(
        err.is_transient() && err.to_string().contains("budget-limited"),
        "{err}"
    );
    // Nor may it take a local lease (and so fetch with a single-use ticket).
    let err = store
        .try_lease("ilab", Duration::from_secs(5))
        .await
        .expect_err("fails closed");
    assert!(err.to_string().contains("budget-limited"), "{err}");
    // A key first seen with a budget during the outage fails closed at its first write.
    let err = store
        .compare_and_set("ilab-2", 0, &budgeted("b", 0, 2))
        .await
        .expect_err("fails closed");
    assert!(err.to_string().contains("budget-limited"), "{err}");
}

/// Retries `op` for up to 5 s while it fails transiently (the reconnect happens in the
/// background).
async fn recover<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tokenkit_core::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("did not recover: {e}"),
        }
    }
}

#[tokio::test]
async fn a_restarted_empty_redis_makes_budgeted_grants_fail_closed() {
    let mut server = redis_or_skip!();
    scenarios::went_back::after_a_data_loss_budgeted_grants_fail_closed(
        &mut server,
        "ilab:u1",
        "ac:u1",
    )
    .await;
}
