//! The fleet scenarios (`scenarios/`) on a real Redis Cluster of three masters, started
//! once for this file (each test under a prefix of its own), on grant keys that land on
//! every master; and what only a cluster has: its URL forms, the first connection made
//! lazily and retried, hints heard on a node that does not serve the key, and never a
//! command across two slots.

mod scenarios;
mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use redis::AsyncCommands;
use scenarios::{Backend, OnCluster, cache, contract, holder, model, pending};
use support::cluster::RedisCluster;
use tokenkit_core::TokenStore;
use tokenkit_redis::{Change, RedisStore};

static CLUSTER: OnceLock<Option<RedisCluster>> = OnceLock::new();

/// Tests that count the commands of the whole cluster run alone; the others share it.
static COUNTING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The cluster of this file: three masters without replicas (nothing here fails a
/// node over), with the default node timeout, so that a loaded machine never has a
/// node declared failed.
fn cluster() -> Option<&'static RedisCluster> {
    CLUSTER
        .get_or_init(|| RedisCluster::start(3, 0, Duration::from_secs(15)))
        .as_ref()
}

/// The cluster under the prefix `$prefix`, or a return from the test (no tools,
/// outside CI).
macro_rules! on_cluster {
    ($prefix:expr) => {
        match cluster() {
            Some(cluster) => OnCluster {
                cluster,
                prefix: $prefix.to_owned(),
            },
            None => return,
        }
    };
}

/// Every node's count of `CROSSSLOT` refusals: none of our commands may touch two
/// slots, so it is 0 whenever it is read.
fn assert_no_cross_slot(cluster: &RedisCluster) {
    for port in cluster.ports() {
        let info: String = redis::cmd("INFO")
            .arg("errorstats")
            .query(&mut cluster.node(port))
            .expect("INFO errorstats");
        assert!(
            !info.contains("errorstat_CROSSSLOT"),
            "node {port} refused a command across slots: {info}"
        );
    }
}

/// One test per store scenario, run on a key on each master at once.
macro_rules! on_every_master {
    ($($scenario:ident;)*) => {$(
        #[tokio::test]
        async fn $scenario() {
            let backend = on_cluster!(stringify!($scenario));
            let _shared = COUNTING.read().await;
            let keys = backend.keys_on_each_master("k").await;
            join_all(keys.iter().map(|key| contract::$scenario(&backend, key))).await;
            assert_no_cross_slot(backend.cluster);
        }
    )*};
}

on_every_master! {
    compare_and_set_is_versioned_and_a_stale_writer_loses;
    the_generation_only_grows_even_across_a_removal;
    the_state_is_one_hash_with_a_key_ttl_of_the_refresh_token;
    the_script_refuses_a_token_beyond_its_budget_whoever_holds_the_lease;
    spend_counts_atomically_against_the_budget;
    the_lease_is_exclusive_and_only_its_holder_renews_or_releases_it;
    an_expired_lease_is_taken_over_and_its_old_holder_loses_it;
    a_holder_whose_lease_lapsed_during_a_slow_refresh_loses_its_commit;
    changes_are_announced;
    corrupt_or_foreign_state_is_an_error_not_a_panic;
    a_writer_whose_clock_runs_an_hour_fast_cannot_stretch_the_expiry;
}

/// One test per pending-records scenario (their keys are their own, spread over the
/// slots; the index of keys is in a slot of its own).
macro_rules! with_pending_records {
    ($($scenario:ident;)*) => {$(
        #[tokio::test]
        async fn $scenario() {
            let backend = on_cluster!(stringify!($scenario));
            let _shared = COUNTING.read().await;
            pending::$scenario(&backend).await;
            assert_no_cross_slot(backend.cluster);
        }
    )*};
}

with_pending_records! {
    records_are_kept_in_order_beside_the_token;
    records_are_a_hash_and_an_order_under_the_grant_tag_without_a_ttl;
    two_processes_see_each_others_records;
    awkward_keys_ids_and_data_round_trip;
    a_stale_index_entry_is_not_reported_and_is_cleaned;
}

#[test]
fn random_puts_and_removals_match_a_model() {
    let backend = on_cluster!("pending-model");
    let _shared = COUNTING.blocking_read();
    pending::random_puts_and_removals_match_a_model(&backend);
    assert_no_cross_slot(backend.cluster);
}

#[test]
fn random_interleavings_never_overspend_nor_let_a_stale_commit_win() {
    let backend = on_cluster!("model");
    let _shared = COUNTING.blocking_read();
    model::random_interleavings_never_overspend_nor_let_a_stale_commit_win(&backend, "model");
    assert_no_cross_slot(backend.cluster);
}

#[tokio::test]
async fn many_callers_in_two_processes_cause_one_upstream_call() {
    let backend = on_cluster!("one-call");
    // Counts the commands of the whole cluster: alone.
    let _alone = COUNTING.write().await;
    for key in backend.keys_on_each_master("grant").await {
        cache::many_callers_in_two_processes_cause_one_upstream_call(&backend, &key).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_never_exceed_the_refresh_budget_of_a_grant() {
    let backend = on_cluster!("budget");
    let _shared = COUNTING.read().await;
    let keys = backend.keys_on_each_master("grant").await;
    // Three grants at once, beside the other tests: twice the single server's
    // lifetime, so that a loaded machine still hands each token out in time.
    join_all(keys.iter().map(|key| {
        cache::two_processes_never_exceed_the_refresh_budget_of_a_grant(
            &backend,
            key,
            Duration::from_millis(1200),
        )
    }))
    .await;
    assert_no_cross_slot(backend.cluster);
}

/// The seed URLs with a master that does not serve `key` first: a store built on
/// them subscribes on that node.
fn seeds_elsewhere(backend: &OnCluster<&RedisCluster>, key: &str) -> (u16, Vec<String>) {
    let store = backend.builder().build().expect("names");
    let owner = backend.cluster.master_of(&store.state_key(key));
    let elsewhere = *backend
        .cluster
        .masters()
        .iter()
        .find(|&&m| m != owner)
        .expect("another master");
    let mut seeds = vec![format!("redis://127.0.0.1:{elsewhere}")];
    seeds.extend(backend.cluster.seeds());
    (elsewhere, seeds)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiter_subscribed_on_a_node_that_does_not_serve_the_key_wakes_on_the_hint() {
    let backend = on_cluster!("hinted");
    let _shared = COUNTING.read().await;
    for key in backend.keys_on_each_master("hinted").await {
        let (elsewhere, seeds) = seeds_elsewhere(&backend, &key);
        let waiter = RedisStore::cluster_builder(seeds)
            .prefix(backend.prefix())
            .connect()
            .await
            .expect("connect");
        // The change hints of the key reach a subscription on that node.
        let mut changes = waiter.subscribe(&key).await.expect("subscribe");
        let channel = waiter.channel(&key);
        let (_, here): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query(&mut backend.cluster.node(elsewhere))
            .expect("PUBSUB NUMSUB");
        assert_eq!(
            here, 1,
            "subscribed on the node that does not serve the key"
        );
        let writer = backend.store().await;
        writer
            .compare_and_set(&key, 0, &support::token("a", 600))
            .await
            .expect("cas");
        let change = tokio::time::timeout(Duration::from_secs(10), changes.next())
            .await
            .expect("a hint within 10 s");
        assert_eq!(change, Some(Change::Written(1)));
        writer.remove(&key).await.expect("remove");
        // And a cache waiting behind another process's lease wakes on it.
        cache::a_waiter_wakes_on_the_change_hint_not_at_its_next_poll(
            &backend,
            backend.store().await,
            waiter,
            &key,
        )
        .await;
    }
}

/// Not a test of its own: the body of the holder process of `scenarios/holder.rs`.
#[test]
fn holder_entry() {
    holder::holder_entry();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_before_spending_only_delays_the_fleet_by_its_lease() {
    let backend = on_cluster!("killed-before");
    let _shared = COUNTING.read().await;
    let keys = backend.keys_on_each_master("ilab:killed-holder").await;
    join_all(keys.iter().map(|key| {
        holder::a_holder_killed_before_spending_only_delays_the_fleet_by_its_lease(&backend, key)
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_after_spending_never_lets_the_fleet_exceed_the_budget() {
    let backend = on_cluster!("killed-after");
    let _shared = COUNTING.read().await;
    let keys = backend.keys_on_each_master("ilab:killed-holder").await;
    join_all(keys.iter().map(|key| {
        holder::a_holder_killed_after_spending_never_lets_the_fleet_exceed_the_budget(&backend, key)
    }))
    .await;
}

#[tokio::test]
async fn every_url_form_reaches_the_cluster_and_secrets_stay_out_of_debug() {
    let backend = on_cluster!("urls");
    let _shared = COUNTING.read().await;
    let cluster = backend.cluster;
    let ports = cluster.ports();
    // One seed suffices; a dead seed before a live one is skipped; /0 is database 0.
    let dead = format!("127.0.0.1:{}", support::free_port());
    let urls = [
        format!("redis+cluster://127.0.0.1:{}/", ports[0]),
        format!("redis+cluster://{dead},127.0.0.1:{}/0", ports[1]),
        cluster.url(),
    ];
    for url in &urls {
        let store = RedisStore::builder(url)
            .prefix("urls")
            .connect()
            .await
            .expect("connect");
        store.ping().await.expect("ping");
        for key in backend.keys_on_each_master("u").await {
            store
                .compare_and_set(&key, 0, &support::token("a", 600))
                .await
                .expect("cas");
            assert!(store.load(&key).await.expect("load").is_some());
            store.remove(&key).await.expect("remove");
        }
        assert!(format!("{store:?}").contains("cluster"), "{store:?}");
    }
    // A password is never shown, and a wrong one is a clear error.
    let with_password = format!("redis+cluster://:SENTINEL-PW@127.0.0.1:{}/", ports[0]);
    let builder = RedisStore::builder(&with_password).operation_timeout(Duration::from_secs(3));
    assert!(!format!("{builder:?}").contains("SENTINEL"), "{builder:?}");
    let store = builder.build().expect("lazy");
    assert!(!format!("{store:?}").contains("SENTINEL"), "{store:?}");
    let err = store.ping().await.expect_err("no password is set");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("SENTINEL"), "{text}");
    }
    let err = RedisStore::builder(format!("redis+cluster://127.0.0.1:{}/1", ports[0]))
        .build()
        .expect_err("db 1");
    assert!(err.to_string().contains("only database 0"), "{err}");
    let err = RedisStore::cluster_builder(["redis://:SENTINEL-PW@127.0.0.1:1/2"])
        .build()
        .expect_err("db 2");
    assert!(!err.to_string().contains("SENTINEL"), "{err}");
}

/// A proxy on `port` to the node `to`, until dropped.
async fn proxy(port: u16, to: u16) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the proxy");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

#[tokio::test]
async fn the_first_connection_is_made_lazily_and_retried_after_a_failure() {
    let backend = on_cluster!("lazy");
    let _shared = COUNTING.read().await;
    // The only seed is not there yet: building works, the first operation fails in
    // time as a transient error, and a later one connects.
    let port = support::free_port();
    let store = RedisStore::cluster_builder([format!("redis://127.0.0.1:{port}")])
        .prefix("lazy")
        .operation_timeout(Duration::from_millis(1500))
        .connect_timeout(Duration::from_millis(300))
        .build()
        .expect("lazy");
    let started = Instant::now();
    let err = store.load("k").await.expect_err("no seed answers");
    assert!(err.is_transient(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the operation timeout: {:?}",
        started.elapsed()
    );
    let _proxy = proxy(port, backend.cluster.ports()[0]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let v = loop {
        match store.load("k").await {
            Ok(v) => break v,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("did not connect: {e}"),
        }
    };
    assert!(v.is_none());
    let mut changes = store
        .subscribe("k")
        .await
        .expect("subscribe through the seed");
    store
        .compare_and_set("k", 0, &support::token("a", 600))
        .await
        .expect("cas");
    let change = tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("a hint");
    assert_eq!(change, Some(Change::Written(1)));
    let mut admin = backend.admin().await;
    let exists: bool = admin.exists(store.state_key("k")).await.expect("exists");
    assert!(exists);
}
