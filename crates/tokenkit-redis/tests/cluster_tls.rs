//! `rediss+cluster://` against a real Redis Cluster whose nodes speak TLS only (to
//! clients, on the bus, for replication), with certificates generated at test time:
//! the fleet works with the CA in the URL or the builder; nodes found through one seed
//! and change hints are reached over TLS too; a wrong CA, a missing client certificate
//! or a wrong password is a clear error for good, found with one attempt per seed; and
//! an ACL user with the documented cluster rule runs the fleet, on every node, and
//! needs every part of it. No password shows.

#[path = "support/flow.rs"]
mod flow;
mod support;
#[path = "support/tls.rs"]
mod tls;

use std::sync::OnceLock;
use std::time::Duration;

use tokenkit_core::{CasOutcome, Error, TokenStore};
use tokenkit_redis::{Change, RedisStore, RedisStoreBuilder};

use support::cluster::RedisCluster;
use tls::{ClientAuth, Forwarder, TlsCluster, query_path, test_sized};

const PW: &str = "SENTINEL-PW-cluster-tls-7c3d";

static CLUSTER: OnceLock<Option<TlsCluster>> = OnceLock::new();

/// The cluster of this file: three TLS masters that do not ask for client
/// certificates (each test under a prefix of its own).
fn cluster() -> Option<&'static TlsCluster> {
    CLUSTER
        .get_or_init(|| TlsCluster::start(3, ClientAuth::No))
        .as_ref()
}

/// Tests that move a slot run alone; the others share the cluster (a name of theirs
/// could land in the moving slot).
static SLOTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The cluster, or a return from the test (no tools, outside CI).
macro_rules! cluster_or_skip {
    () => {
        match cluster() {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

/// A grant key whose state `store` keeps on the master `master`.
fn key_on(tc: &TlsCluster, store: &RedisStore, stem: &str, master: u16) -> String {
    (0..)
        .map(|n| format!("{stem}-{n}"))
        .find(|key| tc.cluster.master_of(&store.state_key(key)) == master)
        .expect("some key lands on every master")
}

/// The error of `result`, checked: a store error for good that shows no password.
fn refused<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    let err = result.expect_err("refused");
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PW), "{text}");
    text
}

#[tokio::test]
async fn a_fleet_works_on_a_tls_cluster_with_the_ca_in_the_url_or_the_builder() {
    let tc = cluster_or_skip!();
    let _shared = SLOTS.read().await;
    let from_url = test_sized(RedisStore::builder(tc.url_with_ca()))
        .prefix("fleet")
        .connect()
        .await
        .expect("rediss+cluster://…?ca= connects");
    let from_builder = tc
        .builder()
        .prefix("fleet")
        .connect()
        .await
        .expect("cluster_builder + ca_file connects");
    flow::every_operation(&from_url, &from_builder, "tls").await;
}

#[tokio::test]
async fn nodes_found_through_one_seed_and_change_hints_are_reached_over_tls() {
    let tc = cluster_or_skip!();
    let _shared = SLOTS.read().await;
    let masters = tc.cluster.masters();
    let seed = masters[0];
    // The only seed: the other masters are found through it, and connected to over TLS
    // with the CA (the nodes have no plain port).
    let store = test_sized(RedisStore::cluster_builder([format!(
        "rediss://127.0.0.1:{seed}"
    )]))
    .ca_file(&tc.pki.ca)
    .prefix("one-seed")
    .connect()
    .await
    .expect("connect through one seed");
    let writer = tc
        .builder()
        .prefix("one-seed")
        .connect()
        .await
        .expect("a writer");
    for &master in &masters[1..] {
        let key = key_on(tc, &store, "elsewhere", master);
        // Subscribed on the seed, over TLS; the key's master is another node.
        let mut changes = store.subscribe(&key).await.expect("subscribe");
        let (_, here): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(store.channel(&key))
            .query(&mut tc.cluster.node(seed))
            .expect("PUBSUB NUMSUB");
        assert_eq!(here, 1, "subscribed on the seed");
        assert!(matches!(
            writer
                .compare_and_set(&key, 0, &support::token("a", 600))
                .await,
            Ok(CasOutcome::Written(1))
        ));
        let change = tokio::time::timeout(Duration::from_secs(10), changes.next())
            .await
            .expect("a hint within 10 s");
        assert_eq!(change, Some(Change::Written(1)));
        let loaded = store.load(&key).await.expect("load").expect("stored");
        assert_eq!(loaded.token.access_token().expose_secret(), "a");
        assert!(matches!(
            store
                .compare_and_set(&key, 1, &support::token("b", 600))
                .await,
            Ok(CasOutcome::Written(2))
        ));
        let exists: bool = redis::cmd("EXISTS")
            .arg(store.state_key(&key))
            .query(&mut tc.cluster.node(master))
            .expect("EXISTS on the key's master");
        assert!(exists, "the state is on the master {master}, not the seed");
        store.remove(&key).await.expect("remove");
    }
}

/// `connect()`'s error when every seed is reached through a [`Forwarder`] (`make` gets
/// their ports), checked to be a store error for good that shows no password, after
/// exactly one connection attempt per seed.
async fn refused_once_per_seed(
    tc: &TlsCluster,
    make: impl FnOnce(&[u16]) -> RedisStoreBuilder,
) -> String {
    let mut forwarders = Vec::new();
    for port in tc.cluster.ports() {
        forwarders.push(
            Forwarder::start("127.0.0.1", port)
                .await
                .expect("a forwarder on 127.0.0.1"),
        );
    }
    let ports: Vec<u16> = forwarders.iter().map(Forwarder::port).collect();
    let result = make(&ports)
        // Long enough that a retried attempt would still be within it.
        .operation_timeout(Duration::from_secs(20))
        .connect()
        .await;
    let text = refused(result);
    let attempts: Vec<usize> = forwarders.iter().map(Forwarder::accepted).collect();
    assert_eq!(attempts, vec![1; ports.len()], "{text}");
    text
}

/// `rediss+cluster://` over `ports` with `query`.
fn cluster_url(credentials: &str, ports: &[u16], query: &str) -> String {
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!("rediss+cluster://{credentials}{}/{query}", hosts.join(","))
}

fn seeds(ports: &[u16]) -> Vec<String> {
    ports
        .iter()
        .map(|p| format!("rediss://127.0.0.1:{p}"))
        .collect()
}

#[tokio::test]
async fn a_wrong_ca_is_a_clear_error_for_good_after_one_attempt_per_seed() {
    let tc = cluster_or_skip!();
    let _shared = SLOTS.read().await;
    let other_ca = query_path(&tc.pki.other_ca);
    let text = refused_once_per_seed(tc, |ports| {
        test_sized(RedisStore::builder(cluster_url(
            &format!(":{PW}@"),
            ports,
            &format!("?ca={other_ca}"),
        )))
    })
    .await;
    assert!(
        text.contains(
            "redis connect: TLS: the server's certificate is not trusted by the configured CA"
        ) && text.contains("UnknownIssuer"),
        "{text}"
    );
    let text = refused_once_per_seed(tc, |ports| {
        test_sized(RedisStore::cluster_builder(seeds(ports)))
            .ca_file(&tc.pki.other_ca)
            .credentials("default", PW)
    })
    .await;
    assert!(text.contains("UnknownIssuer"), "{text}");
    // Without a CA: the system trust store does not know the cluster's private CA.
    let text = refused_once_per_seed(tc, |ports| {
        test_sized(RedisStore::builder(cluster_url("", ports, "")))
    })
    .await;
    assert!(
        text.contains("TLS: the server's certificate is not trusted"),
        "{text}"
    );
    // A lazily built store says the same at its first operation.
    let store = RedisStore::builder(format!(
        "{}?ca={other_ca}",
        cluster_url(&format!(":{PW}@"), &tc.cluster.ports(), "")
    ))
    .operation_timeout(Duration::from_secs(20))
    .build()
    .expect("built lazily");
    let text = refused(store.load("k").await);
    assert!(
        text.contains("redis load: TLS: the server's certificate is not trusted"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cluster_that_wants_client_certificates_gets_them_or_a_clear_error() {
    let Some(tc) = TlsCluster::start(3, ClientAuth::Required) else {
        return;
    };
    let with_builder = tc
        .builder()
        .prefix("mtls")
        .connect()
        .await
        .expect("client_cert");
    let with_url = test_sized(RedisStore::builder(tc.url_with_client_cert()))
        .prefix("mtls")
        .connect()
        .await
        .expect("cert= and key= in the URL");
    flow::every_operation(&with_builder, &with_url, "mtls").await;
    let text = refused(
        test_sized(RedisStore::builder(tc.url_with_ca()))
            .credentials("default", PW)
            .connect()
            .await,
    );
    assert!(
        text.contains("redis connect: TLS: the server requires a client certificate"),
        "{text}"
    );
    // A lazily built store says the same at its first operation.
    let store = test_sized(RedisStore::builder(tc.url_with_ca()))
        .credentials("default", PW)
        .build()
        .expect("built lazily");
    let text = refused(store.load("k").await);
    assert!(
        text.contains("redis load: TLS: the server requires a client certificate"),
        "{text}"
    );
}

/// Creates (or replaces) `user` with password [`PW`] and exactly `rules` on every node:
/// a cluster keeps its ACL users per node.
fn set_user(tc: &TlsCluster, user: &str, rules: &[String]) {
    for port in tc.cluster.ports() {
        let () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(user)
            .arg("reset")
            .arg("on")
            .arg(format!(">{PW}"))
            .arg(rules)
            .query(&mut tc.cluster.node(port))
            .expect("ACL SETUSER");
    }
}

/// What any node refused `user`, one line per entry of its `ACL LOG`.
fn refusals_of(tc: &TlsCluster, user: &str) -> Vec<String> {
    let name = format!("'{user:?}'");
    let mut refused = Vec::new();
    for port in tc.cluster.ports() {
        let entries: Vec<redis::Value> = redis::cmd("ACL")
            .arg("LOG")
            .query(&mut tc.cluster.node(port))
            .expect("ACL LOG");
        refused.extend(
            entries
                .iter()
                .map(|e| format!("{port}: {e:?}"))
                .filter(|e| e.contains(&name)),
        );
    }
    refused
}

/// `rediss+cluster://user:password@…/?ca=` over every node.
fn url_as(tc: &TlsCluster, user: &str, password: &str) -> String {
    cluster_url(
        &format!("{user}:{password}@"),
        &tc.cluster.ports(),
        &format!("?ca={}", query_path(&tc.pki.ca)),
    )
}

/// A slot being moved from its master to another one, as an operator's resharding
/// does: the master answers `ASK` for a name of the slot it does not hold, and a client
/// asks the other node after `ASKING`. Undone when dropped (the other node's copies
/// deleted, both nodes' slot states reset), so the slots stay where they were.
struct SlotMoving<'a> {
    cluster: &'a RedisCluster,
    slot: u16,
    source: u16,
    target: u16,
}

impl<'a> SlotMoving<'a> {
    /// Starts moving the slot of `name` away from its master.
    fn start(cluster: &'a RedisCluster, name: &str) -> Self {
        let slot = cluster.slot_of(name);
        let source = cluster.master_of(name);
        let target = *cluster
            .masters()
            .iter()
            .find(|&&m| m != source)
            .expect("another master");
        let moving = Self {
            cluster,
            slot,
            source,
            target,
        };
        let (source_id, target_id) = (moving.id(source), moving.id(target));
        moving.set_slot(target, &["IMPORTING", &source_id]);
        moving.set_slot(source, &["MIGRATING", &target_id]);
        moving
    }

    /// The names of the slot the importing node holds.
    fn imported(&self) -> Vec<String> {
        redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(self.slot)
            .arg(100)
            .query(&mut self.cluster.node(self.target))
            .expect("CLUSTER GETKEYSINSLOT")
    }

    fn id(&self, port: u16) -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut self.cluster.node(port))
            .expect("CLUSTER MYID")
    }

    fn set_slot(&self, port: u16, state: &[&str]) {
        let () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(self.slot)
            .arg(state)
            .query(&mut self.cluster.node(port))
            .expect("CLUSTER SETSLOT");
    }
}

impl Drop for SlotMoving<'_> {
    fn drop(&mut self) {
        let mut target = self.cluster.node(self.target);
        for name in self.imported() {
            // The importing node serves the slot only to a client that asked.
            let () = redis::pipe()
                .cmd("ASKING")
                .ignore()
                .cmd("DEL")
                .arg(&name)
                .ignore()
                .query(&mut target)
                .expect("delete an imported copy");
        }
        self.set_slot(self.source, &["STABLE"]);
        self.set_slot(self.target, &["STABLE"]);
    }
}

/// `store`'s operations on the new grant `key` while its slot moves: written, read,
/// leased and released on the importing node, after `ASK` and `ASKING`.
async fn while_the_slot_moves(tc: &TlsCluster, store: &RedisStore, key: &str) -> Result<(), Error> {
    let state = store.state_key(key);
    let moving = SlotMoving::start(&tc.cluster, &state);
    let written = store
        .compare_and_set(key, 0, &support::token("moving", 600))
        .await?;
    let loaded = store.load(key).await?;
    let lease = store.try_lease(key, Duration::from_secs(30)).await?;
    let imported = moving.imported();
    let leased = lease.is_some();
    if let Some(lease) = lease {
        store.release_lease(lease).await?;
    }
    drop(moving);
    assert!(matches!(written, CasOutcome::Written(1)), "{written:?}");
    let loaded = loaded.expect("stored");
    assert_eq!(loaded.token.access_token().expose_secret(), "moving");
    assert!(leased, "the lease was free");
    assert!(
        imported.contains(&state) && imported.contains(&store.lease_key(key)),
        "written on the importing node: {imported:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_acl_user_with_the_cluster_rule_runs_the_fleet_on_every_node() {
    let tc = cluster_or_skip!();
    // Moves a slot: alone.
    let _alone = SLOTS.write().await;
    let user = "fleet-on-cluster";
    set_user(tc, user, &tokenkit_redis::acl::minimal_cluster_rules("acl"));
    // One store with the password in the URL, one with `credentials`.
    let a = test_sized(RedisStore::builder(url_as(tc, user, PW)))
        .prefix("acl")
        .connect()
        .await
        .expect("connect as the ACL user (URL)");
    let b = tc
        .builder()
        .credentials(user, PW)
        .prefix("acl")
        .connect()
        .await
        .expect("connect as the ACL user (credentials)");
    flow::every_operation(&a, &b, "acl").await;
    // On every master.
    for master in tc.cluster.masters() {
        let key = key_on(tc, &a, "acl-each", master);
        a.compare_and_set(&key, 0, &support::token("t", 600))
            .await
            .expect("cas");
        assert!(b.load(&key).await.expect("load").is_some());
        b.remove(&key).await.expect("remove");
    }
    // While a slot moves to another master (`ASK`, `ASKING`).
    while_the_slot_moves(tc, &a, "acl-moving")
        .await
        .expect("the operations follow ASK");
    // After the nodes forgot their scripts, they are loaded again.
    for port in tc.cluster.ports() {
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query(&mut tc.cluster.node(port))
            .expect("SCRIPT FLUSH");
    }
    for master in tc.cluster.masters() {
        let key = key_on(tc, &a, "acl-flushed", master);
        a.compare_and_set(&key, 0, &support::token("t", 600))
            .await
            .expect("SCRIPT LOAD is allowed");
    }
    // No node refused anything, not even a command whose refusal a client ignores.
    assert_eq!(refusals_of(tc, user), Vec::<String>::new());
}

#[tokio::test]
async fn every_part_the_cluster_adds_to_the_rule_is_needed() {
    let tc = cluster_or_skip!();
    // Moves a slot: alone.
    let _alone = SLOTS.write().await;
    let rules = tokenkit_redis::acl::minimal_cluster_rules("needed");
    for command in tokenkit_redis::acl::CLUSTER_COMMANDS {
        let left_out = format!("+{command}");
        let fewer: Vec<String> = rules.iter().filter(|r| **r != left_out).cloned().collect();
        let user = format!("without-{command}");
        set_user(tc, &user, &fewer);
        let url = url_as(tc, &user, PW);
        let key = format!("needed-{}", command.replace('|', "-"));
        // A refused connection is returned; the flow panics at the first refusal, and a
        // task keeps that panic in this test.
        let flow = tokio::spawn(async move {
            let tc = cluster().expect("started");
            let connect = || {
                test_sized(RedisStore::builder(url.clone()))
                    .prefix("needed")
                    .connect()
            };
            let (a, b) = (connect().await?, connect().await?);
            flow::every_operation(&a, &b, &key).await;
            while_the_slot_moves(tc, &a, &format!("{key}-moving")).await
        });
        match flow.await {
            Ok(Ok(())) => panic!("the flow works without {left_out}: the rule is not minimal"),
            // Connecting reads the slots: refused for good, saying what is missing.
            Ok(Err(e)) if *command == "cluster|slots" => {
                let text = refused(Err::<(), _>(e));
                assert!(
                    text.contains("may not run the command \"cluster|slots\"")
                        && text.contains("minimal_cluster_rule"),
                    "{text}"
                );
            }
            // A grant in a moving slot: `ASK` after `ASK` (transient: the move ends).
            Ok(Err(e)) => assert!(e.to_string().contains("(ASK)"), "{left_out}: {e}"),
            Err(flow_failed) => panic!("{left_out}: {flow_failed}"),
        }
        // And for the reason it is there: the nodes refused that command.
        let refusals = refusals_of(tc, &user);
        let refused = format!("'{command:?}'");
        assert!(
            !refusals.is_empty() && refusals.iter().all(|r| r.contains(&refused)),
            "{left_out}: {refusals:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_on_a_cluster_is_a_clear_error_for_good() {
    let tc = cluster_or_skip!();
    let _shared = SLOTS.read().await;
    let user = "wrong-password";
    set_user(
        tc,
        user,
        &tokenkit_redis::acl::minimal_cluster_rules("tokenkit"),
    );
    let wrong = format!("{PW}-wrong");
    for attempt in [
        test_sized(RedisStore::builder(url_as(tc, user, &wrong))),
        tc.builder().credentials(user, wrong.as_str()),
        test_sized(RedisStore::builder(url_as(tc, "nobody", &wrong))),
    ] {
        assert!(!format!("{attempt:?}").contains(PW));
        let text = refused(attempt.connect().await);
        assert!(
            text.contains("redis connect: authentication failed (WRONGPASS"),
            "{text}"
        );
    }
    // A lazily built store says the same at its first operation.
    let store = test_sized(RedisStore::builder(url_as(tc, user, &wrong)))
        .build()
        .expect("built lazily");
    assert!(!format!("{store:?}").contains(PW));
    let text = refused(store.load("k").await);
    assert!(
        text.contains("redis load: authentication failed (WRONGPASS"),
        "{text}"
    );
}
