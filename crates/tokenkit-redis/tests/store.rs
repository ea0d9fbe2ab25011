//! The TokenStore contract, against a real redis-server (the scenarios, shared with
//! the cluster tests, are in `scenarios/contract.rs`).

mod scenarios;
mod support;

use std::time::Duration;

use scenarios::contract;
use tokenkit_core::TokenStore;

use support::budgeted;

/// One test per scenario of `scenarios/contract.rs`, on a server of its own.
macro_rules! on_a_server {
    ($($scenario:ident($key:literal);)*) => {$(
        #[tokio::test]
        async fn $scenario() {
            let server = redis_or_skip!();
            contract::$scenario(&server, $key).await;
        }
    )*};
}

on_a_server! {
    compare_and_set_is_versioned_and_a_stale_writer_loses("k");
    the_generation_only_grows_even_across_a_removal("k");
    the_state_is_one_hash_with_a_key_ttl_of_the_refresh_token("ilab:u1");
    the_script_refuses_a_token_beyond_its_budget_whoever_holds_the_lease("k");
    spend_counts_atomically_against_the_budget("k");
    the_lease_is_exclusive_and_only_its_holder_renews_or_releases_it("k");
    an_expired_lease_is_taken_over_and_its_old_holder_loses_it("k");
    a_holder_whose_lease_lapsed_during_a_slow_refresh_loses_its_commit("k");
    changes_are_announced("k");
    corrupt_or_foreign_state_is_an_error_not_a_panic("k");
    a_writer_whose_clock_runs_an_hour_fast_cannot_stretch_the_expiry("skew");
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let server = redis_or_skip!();
    let builder = tokenkit_redis::RedisStore::builder("redis://:SENTINEL-PASSWORD@127.0.0.1:1/");
    assert!(!format!("{builder:?}").contains("SENTINEL"));
    let store = builder
        .operation_timeout(Duration::from_millis(300))
        .build()
        .expect("lazy");
    assert!(!format!("{store:?}").contains("SENTINEL"));
    let t = budgeted("SENTINEL-ACCESS", 0, 2).with_refresh_token("SENTINEL-REFRESH");
    let errors = [
        store.load("k").await.expect_err("unreachable"),
        store
            .compare_and_set("k", 0, &t)
            .await
            .expect_err("unreachable"),
        store
            .try_lease("k", Duration::from_secs(1))
            .await
            .expect_err("unreachable"),
    ];
    for e in &errors {
        assert!(e.is_transient(), "{e}");
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("SENTINEL"), "{text}");
        }
    }
    let bad = tokenkit_redis::RedisStore::builder("SENTINEL-PASSWORD://nonsense")
        .build()
        .expect_err("bad url");
    assert!(!bad.to_string().contains("SENTINEL"), "{bad}");
    // Through a real server: a lease and a conflict.
    let real = server.store().await;
    real.compare_and_set("k", 0, &t).await.expect("cas");
    let lease = real
        .try_lease("k", Duration::from_secs(5))
        .await
        .expect("ok")
        .expect("granted");
    let conflict = real.compare_and_set("k", 0, &t).await.expect("cas");
    for text in [
        format!("{lease:?}"),
        format!("{conflict:?}"),
        format!("{real:?}"),
    ] {
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}
