//! A Redis Cluster losing a node while the fleet uses it: a master killed while a cache
//! holds the refresh lease of a key it serves (its replica takes over), and a master
//! restarted empty (no replica, no persistence: its data is lost). The stores report
//! transient errors meanwhile — never a panic or a hang — and afterwards the fleet
//! converges without ever spending an ilab budget twice: after the data loss the
//! budget-limited grant fails closed.
//!
//! Each test has a cluster of its own.

mod scenarios;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use scenarios::{Forgetful, OnCluster, keys_on_each_master, went_back};
use support::cluster::RedisCluster;
use tokenkit_core::{
    Arrival, Error, Expiry, RefreshPolicy, Token, TokenCache, TokenProvider, TokenStore,
    async_trait,
};
use tokenkit_redis::RedisStore;
use tokio::sync::{Notify, watch};

/// Generous: a failover takes a node timeout (2 s) and an election.
const DEADLINE: Duration = Duration::from_secs(60);

const LIFETIME: Duration = Duration::from_millis(1500);

/// An ilab-like platform: one fetch (the launch ticket is single-use), refreshes
/// counted; a refresh waits for the test's go once it has told the test it started.
#[derive(Debug)]
struct Gated {
    fetches: Arc<AtomicU32>,
    refreshes: Arc<AtomicU32>,
    started: Arc<Notify>,
    go: watch::Receiver<bool>,
}

#[async_trait]
impl TokenProvider for Gated {
    async fn fetch(&self) -> Result<Token, Error> {
        if self.fetches.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(Error::reauth("test", "the ticket was used: relaunch"));
        }
        Ok(Token::new(
            "fetched",
            Expiry::after(Arrival::now(), LIFETIME),
        ))
    }

    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        self.started.notify_one();
        let mut go = self.go.clone();
        let _ = go.wait_for(|go| *go).await;
        Ok(Token::new(
            format!("refreshed-{n}"),
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        ))
    }

    fn policy(&self) -> RefreshPolicy {
        RefreshPolicy::default()
            .with_refresh_budget(2)
            .with_background_refresh(false)
    }
}

/// `token()`, which must answer (a token or a transient error) within the deadline.
async fn answer(cache: &TokenCache, who: &str) -> Result<Token, Error> {
    let result = tokio::time::timeout(DEADLINE, cache.token())
        .await
        .unwrap_or_else(|_| panic!("{who}: token() hung"))
        .map(|guard| (*guard).clone());
    if let Err(e) = &result {
        assert!(e.is_transient(), "{who}: {e}");
    }
    result
}

/// Polls `check` on the node `port` until it holds.
fn until_on_node(
    cluster: &RedisCluster,
    port: u16,
    what: &str,
    check: impl Fn(&mut redis::Connection) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    let mut node = cluster.node(port);
    while !check(&mut node) {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_master_killed_during_a_lease_fails_over_and_no_refresh_is_spent_twice() {
    let Some(mut cluster) = RedisCluster::start(3, 1, Duration::from_secs(2)) else {
        return;
    };
    let store = |c: &RedisCluster| c.builder().prefix("failover").connect();
    let (store_a, store_b) = (
        store(&cluster).await.expect("a"),
        store(&cluster).await.expect("b"),
    );
    let key = keys_on_each_master(&cluster, &store_a, "ilab:failover").remove(0);
    let state = store_a.state_key(&key);
    let master = cluster.master_of(&state);
    let replica = cluster
        .shards()
        .into_iter()
        .find(|s| s.master == master)
        .and_then(|s| s.replicas.first().copied())
        .expect("the master has a replica");

    let (fetches, refreshes) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let started = Arc::new(Notify::new());
    let (go, gate) = watch::channel(false);
    let provider = || Gated {
        fetches: Arc::clone(&fetches),
        refreshes: Arc::clone(&refreshes),
        started: Arc::clone(&started),
        go: gate.clone(),
    };
    let cache = |store: &RedisStore| {
        TokenCache::builder(provider())
            .store(Arc::new(store.clone()))
            .key(&key)
            // A lease that outlasts the failover (A cannot renew it meanwhile), and a
            // short wait behind it: B answers (a transient error) while A is held in
            // its refresh.
            .lease(Duration::from_secs(30), Duration::from_secs(2))
            .poll_interval(Duration::from_millis(50))
            .build()
    };
    let (a, b) = (Arc::new(cache(&store_a)), cache(&store_b));
    answer(&a, "a").await.expect("fetched");
    answer(&b, "b").await.expect("adopted");

    // A subscriber on the doomed master: its subscription ends with the node.
    let mut seeds = vec![format!("redis://127.0.0.1:{master}")];
    seeds.extend(cluster.seeds());
    let listener = RedisStore::cluster_builder(seeds)
        .prefix("failover")
        .connect()
        .await
        .expect("listener");
    let mut changes = listener.subscribe(&key).await.expect("subscribe");

    // A takes the lease, counts its refresh (replicated before the master dies) and
    // is held inside the refresh call.
    tokio::time::sleep(LIFETIME).await;
    let refreshing = {
        let a = Arc::clone(&a);
        tokio::spawn(async move {
            answer(&a, "a refreshing")
                .await
                .map(|t| t.grant().refreshes_spent)
        })
    };
    tokio::time::timeout(DEADLINE, started.notified())
        .await
        .expect("a's refresh started");
    until_on_node(&cluster, replica, "the count reached the replica", |node| {
        let _: redis::RedisResult<()> = redis::cmd("READONLY").query(node);
        redis::cmd("HGET")
            .arg(&state)
            .arg("spent")
            .query::<Option<String>>(node)
            .is_ok_and(|spent| spent.as_deref() == Some("1"))
    });

    let killed = Instant::now();
    cluster.kill(master);
    // The subscriber learns it lost its node (and would subscribe again), after the
    // hints published before.
    let end = tokio::time::timeout(DEADLINE, async { while changes.next().await.is_some() {} });
    end.await.expect("the subscription ended");

    // Meanwhile B gets transient errors (or waits behind A's lease), never a panic,
    // a hang or a second refresh.
    let mut errors = 0;
    let failed_over = {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if answer(&b, "b during the failover").await.is_err() {
                errors += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let settled = cluster.shards().iter().any(|s| s.master == replica);
            if settled || Instant::now() > deadline {
                break settled;
            }
        }
    };
    assert!(failed_over, "the replica took over");
    let took_over = killed.elapsed();
    cluster.wait_until_failed_over(&state, master);
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        1,
        "only a's refresh was sent"
    );

    // A's refresh answers; the fleet converges on its token.
    go.send(true).expect("open the gate");
    let deadline = Instant::now() + DEADLINE;
    let _ = refreshing.await.expect("task");
    let (ta, tb) = loop {
        let (ra, rb) = (answer(&a, "a after").await, answer(&b, "b after").await);
        if let (Ok(ta), Ok(tb)) = (&ra, &rb)
            && ta.same_access_token(tb)
        {
            break (ta.clone(), tb.clone());
        }
        assert!(Instant::now() < deadline, "no convergence: {ra:?} {rb:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let sent = refreshes.load(Ordering::SeqCst);
    assert!(sent <= 2, "{sent} refreshes sent");
    assert!(
        ta.grant().refreshes_spent >= sent && tb.grant().refreshes_spent >= sent,
        "every refresh sent is counted: {sent} sent, {:?} counted",
        ta.grant()
    );
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the ticket was used once"
    );
    let stored = store_a.load(&key).await.expect("load").expect("stored");
    assert!(stored.token.grant().refreshes_spent >= sent);
    eprintln!(
        "the replica took over {took_over:?} after the kill; b saw {errors} transient errors"
    );

    // The old master comes back as a replica of the new one; the fleet goes on.
    cluster.restart(master);
    cluster.wait_until_settled(3);
    answer(&a, "a at the end").await.expect("a token");
    answer(&b, "b at the end").await.expect("a token");
    let fresh = store(&cluster).await.expect("a new process");
    let seen = fresh.load(&key).await.expect("load").expect("stored");
    assert!(seen.token.same_access_token(&ta));

    // A replica down does not stop a master that lost its scripts (as a restarted or
    // newly promoted one has) from being given them again.
    let other = keys_on_each_master(&cluster, &store_a, "ilab:failover").remove(1);
    let shard = cluster
        .shards()
        .into_iter()
        .find(|s| s.master == cluster.master_of(&store_a.state_key(&other)))
        .expect("its shard");
    cluster.kill(shard.replicas[0]);
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut cluster.node(shard.master))
        .expect("SCRIPT FLUSH");
    fresh
        .compare_and_set(&other, 0, &support::token("after", 600))
        .await
        .expect("the scripts are loaded on the master again");
    assert!(fresh.load(&other).await.expect("load").is_some());
}

/// A cluster backend whose master of a key can lose its data.
struct Owned(Box<RedisCluster>);

impl std::ops::Deref for Owned {
    type Target = RedisCluster;
    fn deref(&self) -> &RedisCluster {
        &self.0
    }
}

impl Forgetful for OnCluster<Owned> {
    async fn lose_data_of(&mut self, name: &str) {
        let master = self.cluster.master_of(name);
        self.cluster.0.restart(master);
        self.cluster.wait_until_settled(3);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_master_restarted_empty_makes_budgeted_grants_fail_closed() {
    let Some(cluster) = RedisCluster::start(3, 0, Duration::from_secs(15)) else {
        return;
    };
    let mut backend = OnCluster {
        cluster: Owned(Box::new(cluster)),
        prefix: "restarted".to_owned(),
    };
    // Both grants on the master that loses its data.
    let names = backend
        .cluster
        .builder()
        .prefix("restarted")
        .build()
        .expect("names");
    let keys = keys_on_each_master(&backend.cluster, &names, "ilab");
    let master = backend.cluster.master_of(&names.state_key(&keys[0]));
    let free = (0..)
        .map(|n| format!("ac-{n}"))
        .find(|k| backend.cluster.master_of(&names.state_key(k)) == master)
        .expect("a key on the same master");
    went_back::after_a_data_loss_budgeted_grants_fail_closed(&mut backend, &keys[0], &free).await;
}
