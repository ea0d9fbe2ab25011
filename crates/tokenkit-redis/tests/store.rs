//! The TokenStore contract, against a real redis-server.

mod support;

use std::time::Duration;

use redis::AsyncCommands;
use tokenkit_core::{CasOutcome, TokenStore};
use tokenkit_redis::{Change, KeyTtl, Spend};

use support::{budgeted, token};

#[tokio::test]
async fn compare_and_set_is_versioned_and_a_stale_writer_loses() {
    let server = redis_or_skip!();
    let store = server.store().await;
    assert!(store.load("k").await.expect("load").is_none());
    assert!(matches!(
        store.compare_and_set("k", 0, &token("a", 600)).await,
        Ok(CasOutcome::Written(1))
    ));
    // A stale writer (still at 0) loses and is told what is there, in the same reply.
    match store.compare_and_set("k", 0, &token("b", 600)).await {
        Ok(CasOutcome::Conflict(Some(v))) => {
            assert_eq!(v.generation, 1);
            assert_eq!(v.token.access_token().expose_secret(), "a");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        store.compare_and_set("k", 1, &token("c", 600)).await,
        Ok(CasOutcome::Written(2))
    ));
    // A writer ahead of the store loses too.
    assert!(matches!(
        store.compare_and_set("k", 5, &token("d", 600)).await,
        Ok(CasOutcome::Conflict(Some(_)))
    ));
    let v = store.load("k").await.expect("load").expect("present");
    assert_eq!(
        (v.generation, v.token.access_token().expose_secret()),
        (2, "c")
    );
    assert!(store.load("other").await.expect("load").is_none());
}

#[tokio::test]
async fn the_generation_only_grows_even_across_a_removal() {
    let server = redis_or_skip!();
    let store = server.store().await;
    store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect("cas");
    store.remove("k").await.expect("remove");
    assert!(store.load("k").await.expect("load").is_none());
    // A writer that read generation 1 before the removal must not win now.
    assert!(matches!(
        store.compare_and_set("k", 1, &token("stale", 600)).await,
        Ok(CasOutcome::Conflict(None))
    ));
    // "Nothing stored" is still generation 0 for writers, but the new token is written
    // above the tombstone.
    assert!(matches!(
        store.compare_and_set("k", 0, &token("b", 600)).await,
        Ok(CasOutcome::Written(2))
    ));
    store.remove("nothing-there").await.expect("remove");
}

#[tokio::test]
async fn the_state_is_one_hash_with_a_key_ttl_of_the_refresh_token() {
    let server = redis_or_skip!();
    let store = server
        .builder()
        .key_ttl(
            KeyTtl::default()
                .with_grace(Duration::from_secs(60))
                .with_refresh_token_lifetime(Duration::from_secs(3600)),
        )
        .connect()
        .await
        .expect("connect");
    let t = budgeted("SENTINEL-ACCESS", 1, 2).with_refresh_token("SENTINEL-REFRESH");
    store.compare_and_set("ilab:u1", 0, &t).await.expect("cas");
    let mut admin = server.admin().await;
    let state = store.state_key("ilab:u1");
    assert_eq!(state, "tokenkit:{ilab:u1}:state");
    let fields: std::collections::HashMap<String, String> =
        admin.hgetall(&state).await.expect("hgetall");
    assert_eq!(fields["gen"], "1");
    assert_eq!(fields["spent"], "1");
    assert_eq!(fields["budget"], "2");
    assert_eq!(fields["unknown"], "0");
    assert!(fields["record"].contains("SENTINEL-REFRESH"));
    assert!(fields["expires_at_ms"].parse::<i64>().is_ok());
    // The key lives as long as the refresh token (1 h), not the access token (10 min).
    let ttl: i64 = admin.pttl(&state).await.expect("pttl");
    assert!(ttl > 3_590_000 && ttl <= 3_600_000, "{ttl}");
    // The accounting fields are authoritative when read back.
    let () = admin.hset(&state, "spent", 2).await.expect("hset");
    let v = store.load("ilab:u1").await.expect("load").expect("present");
    assert_eq!(v.token.grant().refreshes_spent, 2);
    assert_eq!(v.token.grant().refresh_budget, Some(2));
    assert_eq!(
        v.token.refresh_token().map(|r| r.expose_secret()),
        Some("SENTINEL-REFRESH")
    );
    assert!(v.token.remaining() > Duration::from_secs(590));
}

#[tokio::test]
async fn the_script_refuses_a_token_beyond_its_budget_whoever_holds_the_lease() {
    let server = redis_or_skip!();
    let store = server.store().await;
    store
        .compare_and_set("k", 0, &budgeted("a", 2, 2))
        .await
        .expect("cas");
    let err = store
        .compare_and_set("k", 1, &budgeted("SENTINEL-ACCESS", 3, 2))
        .await
        .expect_err("over budget");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("3 refreshes of a budget of 2"), "{text}");
    assert!(!text.contains("SENTINEL"), "{text}");
    let v = store.load("k").await.expect("load").expect("present");
    assert_eq!(
        (v.generation, v.token.access_token().expose_secret()),
        (1, "a")
    );
    // A new grant starts again at 0 spent.
    assert!(matches!(
        store.compare_and_set("k", 1, &budgeted("b", 0, 2)).await,
        Ok(CasOutcome::Written(2))
    ));
}

#[tokio::test]
async fn spend_counts_atomically_against_the_budget() {
    let server = redis_or_skip!();
    let store = server.store().await;
    assert_eq!(store.spend("k", 2).await.expect("spend"), Spend::Missing);
    store
        .compare_and_set("k", 0, &budgeted("a", 0, 2))
        .await
        .expect("cas");
    // Ten racing spenders: exactly two win.
    let results = futures_util::future::join_all((0..10).map(|_| store.spend("k", 2))).await;
    let spent = results
        .iter()
        .filter(|r| matches!(r, Ok(Spend::Spent { .. })))
        .count();
    assert_eq!(spent, 2, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Spend::Spent { .. } | Spend::Exhausted { .. })))
    );
    let v = store.load("k").await.expect("load").expect("present");
    assert_eq!(v.generation, 3);
    assert_eq!(v.token.grant().refreshes_spent, 2);
    assert!(v.token.grant().outcome_unknown);
    // A writer that read before the spends loses.
    assert!(matches!(
        store.compare_and_set("k", 1, &budgeted("b", 1, 2)).await,
        Ok(CasOutcome::Conflict(Some(_)))
    ));
    // The stored budget applies when it is stricter than the caller's.
    assert!(matches!(
        store.spend("k", 5).await,
        Ok(Spend::Exhausted {
            generation: 3,
            refreshes_spent: 2
        })
    ));
}

#[tokio::test]
async fn the_lease_is_exclusive_and_only_its_holder_renews_or_releases_it() {
    let server = redis_or_skip!();
    let store = server.store().await;
    let other_process = server.store().await;
    let ttl = Duration::from_secs(30);
    let lease = store
        .try_lease("k", ttl)
        .await
        .expect("ok")
        .expect("granted");
    assert!(
        other_process
            .try_lease("k", ttl)
            .await
            .expect("ok")
            .is_none()
    );
    assert!(
        other_process
            .try_lease("other", ttl)
            .await
            .expect("ok")
            .is_some()
    );
    assert!(store.renew_lease(&lease, ttl).await.expect("renew"));
    // A forged fence can neither renew nor release.
    let forged = tokenkit_core::Lease {
        key: "k".into(),
        fence: "0000".into(),
        guard: None,
    };
    assert!(
        !other_process
            .renew_lease(&forged, ttl)
            .await
            .expect("renew")
    );
    other_process.release_lease(forged).await.expect("release");
    assert!(
        other_process
            .try_lease("k", ttl)
            .await
            .expect("ok")
            .is_none()
    );
    store.release_lease(lease).await.expect("release");
    assert!(
        other_process
            .try_lease("k", ttl)
            .await
            .expect("ok")
            .is_some()
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_its_old_holder_loses_it() {
    let server = redis_or_skip!();
    let store = server.store().await;
    let old = store
        .try_lease("k", Duration::from_millis(100))
        .await
        .expect("ok")
        .expect("granted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new = store
        .try_lease("k", Duration::from_secs(30))
        .await
        .expect("ok")
        .expect("taken over");
    assert_ne!(old.fence, new.fence);
    assert!(
        !store
            .renew_lease(&old, Duration::from_secs(30))
            .await
            .expect("ok")
    );
    store.release_lease(old).await.expect("ok");
    assert!(
        store
            .try_lease("k", Duration::from_secs(30))
            .await
            .expect("ok")
            .is_none(),
        "the old holder released the new holder's lease"
    );
    store.release_lease(new).await.expect("ok");
}

#[tokio::test]
async fn a_holder_whose_lease_lapsed_during_a_slow_refresh_loses_its_commit() {
    let server = redis_or_skip!();
    let slow = server.store().await;
    let fast = server.store().await;
    slow.compare_and_set("k", 0, &budgeted("t0", 0, 2))
        .await
        .expect("cas");
    let base = slow.load("k").await.expect("load").expect("present");
    let _slow_lease = slow
        .try_lease("k", Duration::from_millis(50))
        .await
        .expect("ok")
        .expect("granted");
    // The slow holder counts its refresh, then stalls past its lease.
    let counted = match slow
        .compare_and_set("k", base.generation, &budgeted("t0", 1, 2))
        .await
    {
        Ok(CasOutcome::Written(g)) => g,
        other => panic!("{other:?}"),
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another process takes over, sees the counted refresh, spends the second one and
    // commits.
    let lease = fast
        .try_lease("k", Duration::from_secs(30))
        .await
        .expect("ok")
        .expect("taken over");
    let seen = fast.load("k").await.expect("load").expect("present");
    assert_eq!(seen.token.grant().refreshes_spent, 1);
    let g = match fast
        .compare_and_set("k", seen.generation, &budgeted("t0", 2, 2))
        .await
    {
        Ok(CasOutcome::Written(g)) => g,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        fast.compare_and_set("k", g, &budgeted("t-fast", 2, 2))
            .await,
        Ok(CasOutcome::Written(_))
    ));
    fast.release_lease(lease).await.expect("release");
    // The slow holder's commit is stale and loses; the winner's token stays.
    match slow
        .compare_and_set("k", counted, &budgeted("t-slow", 1, 2))
        .await
    {
        Ok(CasOutcome::Conflict(Some(v))) => {
            assert_eq!(v.token.access_token().expose_secret(), "t-fast");
        }
        other => panic!("a stale commit won: {other:?}"),
    }
    let v = slow.load("k").await.expect("load").expect("present");
    assert_eq!(v.token.access_token().expose_secret(), "t-fast");
    assert_eq!(v.token.grant().refreshes_spent, 2);
}

#[tokio::test]
async fn changes_are_announced() {
    let server = redis_or_skip!();
    let store = server.store().await;
    let mut changes = store.subscribe("k").await.expect("subscribe");
    store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect("cas");
    let lease = store
        .try_lease("k", Duration::from_secs(5))
        .await
        .expect("ok")
        .expect("granted");
    store.release_lease(lease).await.expect("release");
    store.remove("k").await.expect("remove");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let change = tokio::time::timeout(Duration::from_secs(2), changes.next())
            .await
            .expect("a change within 2 s");
        seen.push(change);
    }
    assert_eq!(
        seen,
        [
            Some(Change::Written(1)),
            Some(Change::LeaseReleased),
            Some(Change::Removed)
        ]
    );
}

#[tokio::test]
async fn corrupt_or_foreign_state_is_an_error_not_a_panic() {
    let server = redis_or_skip!();
    let store = server.store().await;
    let mut admin = server.admin().await;
    let state = store.state_key("k");
    let () = admin
        .hset_multiple(
            &state,
            &[
                ("gen", "1"),
                ("record", "{\"access_token\":\"SENTINEL-ACCESS\","),
            ],
        )
        .await
        .expect("hset");
    let err = store.load("k").await.expect_err("corrupt");
    assert!(
        !err.is_transient() && err.to_string().contains("corrupt"),
        "{err}"
    );
    assert!(!err.to_string().contains("SENTINEL"), "{err}");
    // A conflict that returns the corrupt state is an error too.
    let err = store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect_err("corrupt");
    assert!(err.to_string().contains("corrupt"), "{err}");
    // The key holds something else entirely.
    let () = admin.set(store.state_key("s"), "x").await.expect("set");
    let err = store.load("s").await.expect_err("wrong type");
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
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

#[tokio::test]
async fn a_writer_whose_clock_runs_an_hour_fast_cannot_stretch_the_expiry() {
    let server = redis_or_skip!();
    let store = server.store().await;
    // The writer's wall clock is an hour ahead; the token has 10 minutes left.
    let skewed = tokenkit_core::Arrival {
        instant: tokio::time::Instant::now(),
        wall: std::time::SystemTime::now() + Duration::from_secs(3600),
        server_date: None,
    };
    let token = tokenkit_core::Token::new(
        "skewed-writer",
        tokenkit_core::Expiry::after(skewed, Duration::from_secs(600)),
    );
    assert!(matches!(
        store.compare_and_set("skew", 0, &token).await.expect("cas"),
        tokenkit_core::CasOutcome::Written(1)
    ));
    let read = store.load("skew").await.expect("load").expect("stored");
    let left = read.token.expiry().remaining();
    assert!(
        left <= Duration::from_secs(600) && left > Duration::from_secs(590),
        "time left is measured on Redis's clock: {left:?}"
    );
    assert_eq!(read.token.expiry().lifetime(), Duration::from_secs(600));
}
