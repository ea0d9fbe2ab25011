//! Pending records beside a grant, against a real redis-server: the core's contract,
//! several processes, awkward names and data, the index of keys and a model (the
//! scenarios, shared with the cluster tests, are in `scenarios/pending.rs`), and
//! outages.

mod scenarios;
mod support;

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use scenarios::pending;
use tokenkit_core::TokenStore;
use tokenkit_redis::Fallback;

const INDEX: &str = "tokenkit:pending-keys";

#[tokio::test]
async fn records_are_kept_in_order_beside_the_token() {
    let server = redis_or_skip!();
    pending::records_are_kept_in_order_beside_the_token(&server).await;
}

#[tokio::test]
async fn records_are_a_hash_and_an_order_under_the_grant_tag_without_a_ttl() {
    let server = redis_or_skip!();
    pending::records_are_a_hash_and_an_order_under_the_grant_tag_without_a_ttl(&server).await;
}

#[tokio::test]
async fn two_processes_see_each_others_records() {
    let server = redis_or_skip!();
    pending::two_processes_see_each_others_records(&server).await;
}

#[tokio::test]
async fn awkward_keys_ids_and_data_round_trip() {
    let server = redis_or_skip!();
    pending::awkward_keys_ids_and_data_round_trip(&server).await;
}

#[tokio::test]
async fn a_stale_index_entry_is_not_reported_and_is_cleaned() {
    let server = redis_or_skip!();
    pending::a_stale_index_entry_is_not_reported_and_is_cleaned(&server).await;
}

#[test]
fn random_puts_and_removals_match_a_model() {
    let Some(server) = support::RedisServer::start() else {
        return;
    };
    pending::random_puts_and_removals_match_a_model(&server);
}

#[tokio::test]
async fn a_stopped_redis_gives_transient_errors_in_time_even_with_the_local_fallback() {
    let mut server = redis_or_skip!();
    let fail_closed = server.store().await; // operation timeout 400 ms
    let local = server
        .builder()
        .fallback(Fallback::Local)
        .connect()
        .await
        .expect("connect");
    fail_closed.put_pending("k", "r1", "x").await.expect("put");
    server.kill();
    for store in [&fail_closed, &local] {
        for err in [
            in_time(store.put_pending("k", "r2", "y")).await,
            in_time(store.pending("k")).await,
            in_time(store.remove_pending("k", "r1")).await,
            in_time(store.pending_keys()).await,
        ] {
            assert!(
                matches!(
                    err,
                    tokenkit_core::Error::Store {
                        transient: true,
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
    // The fallback kept nothing either: back on an (empty) Redis, nothing is reported.
    server.restart();
    assert!(recover(|| local.pending("k")).await.is_empty());
    assert!(recover(|| local.pending_keys()).await.is_empty());
}

#[tokio::test]
async fn a_paused_redis_times_out_and_leaves_at_worst_a_stale_entry() {
    let server = redis_or_skip!();
    let store = server.store().await; // operation timeout 400 ms
    let mut admin = server.admin().await;
    let () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "1000", "ALL"])
        .query_async(&mut admin)
        .await
        .expect("pause");
    let started = Instant::now();
    let err = store.put_pending("k", "r1", "x").await.expect_err("paused");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_transient(), "{err}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // The first SADD was sent and ran after the pause; the script never was. The key
    // is listed without records: not reported, and dropped from the index.
    let listed: bool = admin.sismember(INDEX, "k").await.expect("sismember");
    assert!(listed, "the SADD sent before the timeout did not run");
    let keys = recover(|| store.pending_keys()).await;
    assert!(keys.is_empty(), "{keys:?}");
    assert!(store.pending("k").await.expect("pending").is_empty());
    let listed: bool = admin.sismember(INDEX, "k").await.expect("sismember");
    assert!(!listed);
    // And the put, tried again, is kept.
    store.put_pending("k", "r1", "x").await.expect("put");
    assert_eq!(store.pending_keys().await.expect("keys"), ["k"]);
}

/// The error of `op`, which must fail within a second (the operation timeout is 400 ms).
async fn in_time<T: std::fmt::Debug>(
    op: impl Future<Output = Result<T, tokenkit_core::Error>>,
) -> tokenkit_core::Error {
    let started = Instant::now();
    let err = op.await.expect_err("redis is down");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}: {err}",
        started.elapsed()
    );
    err
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
