//! The `TokenStore` contract of `RedisStore` against real servers: versioned
//! compare-and-set, the generation, the budget check of the script, spend, the lease,
//! change hints, what Redis holds, and corrupt state. Each scenario works on `key`
//! (and names derived from it).

use std::time::Duration;

use redis::AsyncCommands;
use tokenkit_core::{CasOutcome, TokenStore};
use tokenkit_redis::{Change, KeyTtl, Spend};

use super::Backend;
use crate::support::{budgeted, token};

pub async fn compare_and_set_is_versioned_and_a_stale_writer_loses(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend.store().await;
    assert!(store.load(key).await.expect("load").is_none());
    assert!(matches!(
        store.compare_and_set(key, 0, &token("a", 600)).await,
        Ok(CasOutcome::Written(1))
    ));
    // A stale writer (still at 0) loses and is told what is there, in the same reply.
    match store.compare_and_set(key, 0, &token("b", 600)).await {
        Ok(CasOutcome::Conflict(Some(v))) => {
            assert_eq!(v.generation, 1);
            assert_eq!(v.token.access_token().expose_secret(), "a");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        store.compare_and_set(key, 1, &token("c", 600)).await,
        Ok(CasOutcome::Written(2))
    ));
    // A writer ahead of the store loses too.
    assert!(matches!(
        store.compare_and_set(key, 5, &token("d", 600)).await,
        Ok(CasOutcome::Conflict(Some(_)))
    ));
    let v = store.load(key).await.expect("load").expect("present");
    assert_eq!(
        (v.generation, v.token.access_token().expose_secret()),
        (2, "c")
    );
    assert!(
        store
            .load(&format!("{key}-other"))
            .await
            .expect("load")
            .is_none()
    );
}

pub async fn the_generation_only_grows_even_across_a_removal(backend: &impl Backend, key: &str) {
    let store = backend.store().await;
    store
        .compare_and_set(key, 0, &token("a", 600))
        .await
        .expect("cas");
    store.remove(key).await.expect("remove");
    assert!(store.load(key).await.expect("load").is_none());
    // A writer that read generation 1 before the removal must not win now.
    assert!(matches!(
        store.compare_and_set(key, 1, &token("stale", 600)).await,
        Ok(CasOutcome::Conflict(None))
    ));
    // "Nothing stored" is still generation 0 for writers, but the new token is written
    // above the tombstone.
    assert!(matches!(
        store.compare_and_set(key, 0, &token("b", 600)).await,
        Ok(CasOutcome::Written(2))
    ));
    store
        .remove(&format!("{key}-nothing-there"))
        .await
        .expect("remove");
}

pub async fn the_state_is_one_hash_with_a_key_ttl_of_the_refresh_token(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend
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
    store.compare_and_set(key, 0, &t).await.expect("cas");
    let mut admin = backend.admin().await;
    let state = store.state_key(key);
    assert_eq!(state, format!("{}:{{{key}}}:state", backend.prefix()));
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
    let v = store.load(key).await.expect("load").expect("present");
    assert_eq!(v.token.grant().refreshes_spent, 2);
    assert_eq!(v.token.grant().refresh_budget, Some(2));
    assert_eq!(
        v.token.refresh_token().map(|r| r.expose_secret()),
        Some("SENTINEL-REFRESH")
    );
    assert!(v.token.remaining() > Duration::from_secs(590));
}

pub async fn the_script_refuses_a_token_beyond_its_budget_whoever_holds_the_lease(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend.store().await;
    store
        .compare_and_set(key, 0, &budgeted("a", 2, 2))
        .await
        .expect("cas");
    let err = store
        .compare_and_set(key, 1, &budgeted("SENTINEL-ACCESS", 3, 2))
        .await
        .expect_err("over budget");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("3 refreshes of a budget of 2"), "{text}");
    assert!(!text.contains("SENTINEL"), "{text}");
    let v = store.load(key).await.expect("load").expect("present");
    assert_eq!(
        (v.generation, v.token.access_token().expose_secret()),
        (1, "a")
    );
    // A new grant starts again at 0 spent.
    assert!(matches!(
        store.compare_and_set(key, 1, &budgeted("b", 0, 2)).await,
        Ok(CasOutcome::Written(2))
    ));
}

pub async fn spend_counts_atomically_against_the_budget(backend: &impl Backend, key: &str) {
    let store = backend.store().await;
    assert_eq!(store.spend(key, 2).await.expect("spend"), Spend::Missing);
    store
        .compare_and_set(key, 0, &budgeted("a", 0, 2))
        .await
        .expect("cas");
    // Ten racing spenders: exactly two win.
    let results = futures_util::future::join_all((0..10).map(|_| store.spend(key, 2))).await;
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
    let v = store.load(key).await.expect("load").expect("present");
    assert_eq!(v.generation, 3);
    assert_eq!(v.token.grant().refreshes_spent, 2);
    assert!(v.token.grant().outcome_unknown);
    // A writer that read before the spends loses.
    assert!(matches!(
        store.compare_and_set(key, 1, &budgeted("b", 1, 2)).await,
        Ok(CasOutcome::Conflict(Some(_)))
    ));
    // The stored budget applies when it is stricter than the caller's.
    assert!(matches!(
        store.spend(key, 5).await,
        Ok(Spend::Exhausted {
            generation: 3,
            refreshes_spent: 2
        })
    ));
}

pub async fn the_lease_is_exclusive_and_only_its_holder_renews_or_releases_it(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend.store().await;
    let other_process = backend.store().await;
    let ttl = Duration::from_secs(30);
    let lease = store
        .try_lease(key, ttl)
        .await
        .expect("ok")
        .expect("granted");
    assert!(
        other_process
            .try_lease(key, ttl)
            .await
            .expect("ok")
            .is_none()
    );
    assert!(
        other_process
            .try_lease(&format!("{key}-other"), ttl)
            .await
            .expect("ok")
            .is_some()
    );
    assert!(store.renew_lease(&lease, ttl).await.expect("renew"));
    // A forged fence can neither renew nor release.
    let forged = tokenkit_core::Lease {
        key: key.into(),
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
            .try_lease(key, ttl)
            .await
            .expect("ok")
            .is_none()
    );
    store.release_lease(lease).await.expect("release");
    assert!(
        other_process
            .try_lease(key, ttl)
            .await
            .expect("ok")
            .is_some()
    );
}

pub async fn an_expired_lease_is_taken_over_and_its_old_holder_loses_it(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend.store().await;
    let old = store
        .try_lease(key, Duration::from_millis(100))
        .await
        .expect("ok")
        .expect("granted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new = store
        .try_lease(key, Duration::from_secs(30))
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
            .try_lease(key, Duration::from_secs(30))
            .await
            .expect("ok")
            .is_none(),
        "the old holder released the new holder's lease"
    );
    store.release_lease(new).await.expect("ok");
}

pub async fn a_holder_whose_lease_lapsed_during_a_slow_refresh_loses_its_commit(
    backend: &impl Backend,
    key: &str,
) {
    let slow = backend.store().await;
    let fast = backend.store().await;
    slow.compare_and_set(key, 0, &budgeted("t0", 0, 2))
        .await
        .expect("cas");
    let base = slow.load(key).await.expect("load").expect("present");
    let _slow_lease = slow
        .try_lease(key, Duration::from_millis(50))
        .await
        .expect("ok")
        .expect("granted");
    // The slow holder counts its refresh, then stalls past its lease.
    let counted = match slow
        .compare_and_set(key, base.generation, &budgeted("t0", 1, 2))
        .await
    {
        Ok(CasOutcome::Written(g)) => g,
        other => panic!("{other:?}"),
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another process takes over, sees the counted refresh, spends the second one and
    // commits.
    let lease = fast
        .try_lease(key, Duration::from_secs(30))
        .await
        .expect("ok")
        .expect("taken over");
    let seen = fast.load(key).await.expect("load").expect("present");
    assert_eq!(seen.token.grant().refreshes_spent, 1);
    let g = match fast
        .compare_and_set(key, seen.generation, &budgeted("t0", 2, 2))
        .await
    {
        Ok(CasOutcome::Written(g)) => g,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        fast.compare_and_set(key, g, &budgeted("t-fast", 2, 2))
            .await,
        Ok(CasOutcome::Written(_))
    ));
    fast.release_lease(lease).await.expect("release");
    // The slow holder's commit is stale and loses; the winner's token stays.
    match slow
        .compare_and_set(key, counted, &budgeted("t-slow", 1, 2))
        .await
    {
        Ok(CasOutcome::Conflict(Some(v))) => {
            assert_eq!(v.token.access_token().expose_secret(), "t-fast");
        }
        other => panic!("a stale commit won: {other:?}"),
    }
    let v = slow.load(key).await.expect("load").expect("present");
    assert_eq!(v.token.access_token().expose_secret(), "t-fast");
    assert_eq!(v.token.grant().refreshes_spent, 2);
}

pub async fn changes_are_announced(backend: &impl Backend, key: &str) {
    let store = backend.store().await;
    let mut changes = store.subscribe(key).await.expect("subscribe");
    store
        .compare_and_set(key, 0, &token("a", 600))
        .await
        .expect("cas");
    let lease = store
        .try_lease(key, Duration::from_secs(5))
        .await
        .expect("ok")
        .expect("granted");
    store.release_lease(lease).await.expect("release");
    store.remove(key).await.expect("remove");
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

pub async fn corrupt_or_foreign_state_is_an_error_not_a_panic(backend: &impl Backend, key: &str) {
    let store = backend.store().await;
    let mut admin = backend.admin().await;
    let state = store.state_key(key);
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
    let err = store.load(key).await.expect_err("corrupt");
    assert!(
        !err.is_transient() && err.to_string().contains("corrupt"),
        "{err}"
    );
    assert!(!err.to_string().contains("SENTINEL"), "{err}");
    // A conflict that returns the corrupt state is an error too.
    let err = store
        .compare_and_set(key, 0, &token("a", 600))
        .await
        .expect_err("corrupt");
    assert!(err.to_string().contains("corrupt"), "{err}");
    // The key holds something else entirely.
    let () = admin
        .set(store.state_key(&format!("{key}-s")), "x")
        .await
        .expect("set");
    let err = store
        .load(&format!("{key}-s"))
        .await
        .expect_err("wrong type");
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
}

pub async fn a_writer_whose_clock_runs_an_hour_fast_cannot_stretch_the_expiry(
    backend: &impl Backend,
    key: &str,
) {
    let store = backend.store().await;
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
        store.compare_and_set(key, 0, &token).await.expect("cas"),
        tokenkit_core::CasOutcome::Written(1)
    ));
    let read = store.load(key).await.expect("load").expect("stored");
    let left = read.token.expiry().remaining();
    assert!(
        left <= Duration::from_secs(600) && left > Duration::from_secs(590),
        "time left is measured on Redis's clock: {left:?}"
    );
    assert_eq!(read.token.expiry().lifetime(), Duration::from_secs(600));
}
