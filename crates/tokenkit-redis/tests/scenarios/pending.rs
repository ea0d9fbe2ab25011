//! Pending records beside a grant: the core's contract, several processes, awkward
//! names and data, the index of keys, and a model. Every name is under the backend's
//! prefix.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis::AsyncCommands;
use tokenkit_core::{PendingRecord, TokenStore};
use tokenkit_redis::RedisStore;

use super::Backend;
use crate::support::token;

/// The index of the keys with records, under `prefix`.
pub fn pending_index(prefix: &str) -> String {
    format!("{prefix}:pending-keys")
}

/// The `(id, data)` of `records`.
pub fn pairs(records: &[PendingRecord]) -> Vec<(&str, &str)> {
    records.iter().map(|r| (r.id(), r.data())).collect()
}

/// The keys with records, sorted.
pub async fn sorted_keys(store: &RedisStore) -> Vec<String> {
    let mut keys = store.pending_keys().await.expect("pending keys");
    keys.sort();
    keys
}

/// The core's conformance test (`pending_records_are_kept_beside_the_token`), plus what
/// Redis holds.
pub async fn records_are_kept_in_order_beside_the_token(backend: &impl Backend) {
    let p = backend.prefix();
    let index = pending_index(p);
    let store = backend.store().await;
    assert!(store.pending("k").await.expect("pending").is_empty());
    assert!(store.pending_keys().await.expect("keys").is_empty());
    store.put_pending("k", "r1", "one").await.expect("put");
    store.put_pending("k", "r2", "二").await.expect("put");
    store
        .put_pending("other key/2", "r1", "x")
        .await
        .expect("put");
    // Replacing keeps the record's place.
    store
        .put_pending("k", "r1", "one again")
        .await
        .expect("put");
    let kept = store.pending("k").await.expect("pending");
    assert_eq!(pairs(&kept), [("r1", "one again"), ("r2", "二")]);
    assert_eq!(sorted_keys(&store).await, ["k", "other key/2"]);

    // The token's removal leaves the records; the records' removal leaves the token.
    store
        .compare_and_set("k", 0, &token("a", 600))
        .await
        .expect("cas");
    store.remove("k").await.expect("remove");
    assert_eq!(store.pending("k").await.expect("pending").len(), 2);
    store
        .compare_and_set("k", 0, &token("b", 600))
        .await
        .expect("cas");
    assert!(store.remove_pending("k", "r1").await.expect("remove"));
    assert!(!store.remove_pending("k", "r1").await.expect("remove"));
    assert!(!store.remove_pending("nobody", "r1").await.expect("remove"));
    let v = store.load("k").await.expect("load").expect("token kept");
    assert_eq!(v.token.access_token().expose_secret(), "b");
    assert!(store.remove_pending("k", "r2").await.expect("remove"));
    assert!(store.pending("k").await.expect("pending").is_empty());
    assert_eq!(store.pending_keys().await.expect("keys"), ["other key/2"]);
    assert!(
        store
            .remove_pending("other key/2", "r1")
            .await
            .expect("remove")
    );
    assert!(store.pending_keys().await.expect("keys").is_empty());
    assert!(store.load("k").await.expect("load").is_some());

    // Nothing of the records is left behind in Redis, not even in the index.
    let mut admin = backend.admin().await;
    for name in [
        &format!("{p}:{{k}}:pending"),
        &format!("{p}:{{k}}:pending-order"),
        &format!("{p}:{{other key/2}}:pending"),
        &index,
    ] {
        let exists: bool = admin.exists(name).await.expect("exists");
        assert!(!exists, "{name} left behind");
    }
    let exists: bool = admin
        .exists(format!("{p}:{{k}}:state"))
        .await
        .expect("exists");
    assert!(exists, "the token's hash went with the records");
}

pub async fn records_are_a_hash_and_an_order_under_the_grant_tag_without_a_ttl(
    backend: &impl Backend,
) {
    let p = backend.prefix();
    let index = pending_index(p);
    let store = backend.store().await;
    store
        .compare_and_set("ilab:u1", 0, &token("a", 600))
        .await
        .expect("cas");
    store
        .put_pending("ilab:u1", "result-1", "{\"score\":1}")
        .await
        .expect("put");
    store
        .put_pending("ilab:u1", "result-2", "{\"score\":2}")
        .await
        .expect("put");
    let mut admin = backend.admin().await;
    let data: String = admin
        .hget(format!("{p}:{{ilab:u1}}:pending"), "result-2")
        .await
        .expect("hget");
    assert_eq!(data, "{\"score\":2}");
    let order: Vec<(String, f64)> = admin
        .zrange_withscores(format!("{p}:{{ilab:u1}}:pending-order"), 0, -1)
        .await
        .expect("zrange");
    assert_eq!(
        order,
        [("result-1".to_owned(), 1.0), ("result-2".to_owned(), 2.0)]
    );
    let listed: bool = admin.sismember(&index, "ilab:u1").await.expect("sismember");
    assert!(listed);
    // The token's hash has the key TTL; the records must not expire unseen.
    let ttl: i64 = admin
        .pttl(format!("{p}:{{ilab:u1}}:state"))
        .await
        .expect("pttl");
    assert!(ttl > 0, "{ttl}");
    for name in [
        &format!("{p}:{{ilab:u1}}:pending"),
        &format!("{p}:{{ilab:u1}}:pending-order"),
        &index,
    ] {
        let ttl: i64 = admin.pttl(name).await.expect("pttl");
        assert_eq!(ttl, -1, "{name} has a TTL");
    }
    // A commit (which sets the state's TTL again) does not touch them either.
    store
        .compare_and_set("ilab:u1", 1, &token("b", 600))
        .await
        .expect("cas");
    let ttl: i64 = admin
        .pttl(format!("{p}:{{ilab:u1}}:pending"))
        .await
        .expect("pttl");
    assert_eq!(ttl, -1);
}

pub async fn two_processes_see_each_others_records(backend: &impl Backend) {
    let a = backend.store().await;
    let b = backend.store().await;
    a.put_pending("ilab:u1", "r1", "from a").await.expect("put");
    b.put_pending("ilab:u1", "r2", "from b").await.expect("put");
    b.put_pending("ilab:u2", "r1", "from b").await.expect("put");
    assert_eq!(sorted_keys(&a).await, ["ilab:u1", "ilab:u2"]);
    // b replaces a's record; it keeps its place for both.
    b.put_pending("ilab:u1", "r1", "replaced by b")
        .await
        .expect("put");
    for store in [&a, &b] {
        let kept = store.pending("ilab:u1").await.expect("pending");
        assert_eq!(pairs(&kept), [("r1", "replaced by b"), ("r2", "from b")]);
    }
    // a finishes b's delivery.
    assert!(a.remove_pending("ilab:u2", "r1").await.expect("remove"));
    assert!(!b.remove_pending("ilab:u2", "r1").await.expect("remove"));
    assert_eq!(b.pending_keys().await.expect("keys"), ["ilab:u1"]);
    assert!(b.pending("ilab:u2").await.expect("pending").is_empty());
}

pub async fn awkward_keys_ids_and_data_round_trip(backend: &impl Backend) {
    let store = backend.store().await;
    let keys = [
        "",
        "{",
        "}",
        "{}",
        "a}b{c",
        "a}b",
        "a%7Db",
        "%00",
        "100%",
        "with space",
        "用户/1",
    ];
    let ids = ["", "{}", "%", "id with space", "编号\n2"];
    let unit = "结果\"'\n";
    let big = unit.repeat(64 * 1024 / unit.len() + 1); // just over 64 KiB
    let data = [
        String::new(),
        "成绩：满分 \"100\"\n第二行 'quoted' \\ \0 end".to_owned(),
        big,
        "{\"json\":[1,2,3]}".to_owned(),
        "\u{1F600} emoji".to_owned(),
    ];
    for key in keys {
        for (id, data) in ids.iter().zip(&data) {
            store.put_pending(key, id, data).await.expect("put");
        }
    }
    for key in keys {
        let kept = store.pending(key).await.expect("pending");
        let expected: Vec<(&str, &str)> = ids
            .iter()
            .copied()
            .zip(data.iter().map(String::as_str))
            .collect();
        assert_eq!(pairs(&kept), expected, "{key:?}");
    }
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(sorted_keys(&store).await, expected);
    // Each key's records are its own: removing under one key leaves the others.
    for key in keys {
        for id in ids {
            assert!(
                store.remove_pending(key, id).await.expect("remove"),
                "{key:?}"
            );
        }
        assert!(store.pending(key).await.expect("pending").is_empty());
    }
    assert!(store.pending_keys().await.expect("keys").is_empty());
}

pub async fn a_stale_index_entry_is_not_reported_and_is_cleaned(backend: &impl Backend) {
    let p = backend.prefix();
    let index = pending_index(p);
    let store = backend.store().await;
    let mut admin = backend.admin().await;
    // As if a process died after listing a key and before its record was written, or
    // after a removal emptied the key and before it unlisted it.
    let _: i64 = admin.sadd(&index, "ghost").await.expect("sadd");
    let _: i64 = admin.sadd(&index, "{ghost}").await.expect("sadd");
    store.put_pending("real", "r1", "x").await.expect("put");
    assert_eq!(store.pending_keys().await.expect("keys"), ["real"]);
    let members: Vec<String> = admin.smembers(&index).await.expect("smembers");
    assert_eq!(members, ["real"]);
    assert!(store.pending("ghost").await.expect("pending").is_empty());
    // A stale entry does not stop the key from being listed again.
    let _: i64 = admin.sadd(&index, "ghost").await.expect("sadd");
    store.put_pending("ghost", "r1", "now").await.expect("put");
    assert_eq!(sorted_keys(&store).await, ["ghost", "real"]);
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        process: usize,
        key: usize,
        id: usize,
        data: String,
    },
    Remove {
        process: usize,
        key: usize,
        id: usize,
    },
    /// The token's removal: the records stay.
    RemoveToken { key: usize },
}

const KEYS: [&str; 3] = ["a", "", "{b}"];
const IDS: [&str; 4] = ["1", "2", "%", "{"];

fn op() -> impl Strategy<Value = Op> {
    let process = 0..2usize;
    let key = 0..KEYS.len();
    let id = 0..IDS.len();
    prop_oneof![
        4 => (process.clone(), key.clone(), id.clone(), "(?s).{0,12}").prop_map(
            |(process, key, id, data)| Op::Put {
                process,
                key,
                id,
                data
            }
        ),
        3 => (process, key.clone(), id).prop_map(|(process, key, id)| Op::Remove {
            process,
            key,
            id
        }),
        1 => key.prop_map(|key| Op::RemoveToken { key }),
    ]
}

/// Random puts and removals by two processes match a model (24 cases, each under a
/// prefix of its own).
pub fn random_puts_and_removals_match_a_model(backend: &impl Backend) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let case = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..30), |ops| {
            // Two processes of one fleet, under a prefix of this case's own.
            let prefix = format!(
                "{}-case-{}",
                backend.prefix(),
                case.fetch_add(1, Ordering::SeqCst)
            );
            rt.block_on(async {
                let mut stores = Vec::new();
                for _ in 0..2 {
                    stores.push(
                        backend
                            .builder()
                            .prefix(prefix.clone())
                            .connect()
                            .await
                            .expect("connect"),
                    );
                }
                run_case(&stores, ops).await
            })
        })
        .expect("the model holds");
}

async fn run_case(stores: &[RedisStore], ops: Vec<Op>) -> Result<(), TestCaseError> {
    // (key, id, data), in the order of first put.
    let mut model: Vec<(usize, usize, String)> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        let at = format!("step {step}: {op:?}");
        match op {
            Op::Put {
                process,
                key,
                id,
                data,
            } => {
                stores[process]
                    .put_pending(KEYS[key], IDS[id], &data)
                    .await
                    .expect("put");
                match model.iter_mut().find(|(k, i, _)| (*k, *i) == (key, id)) {
                    Some(record) => record.2 = data,
                    None => model.push((key, id, data)),
                }
            }
            Op::Remove { process, key, id } => {
                let removed = stores[process]
                    .remove_pending(KEYS[key], IDS[id])
                    .await
                    .expect("remove");
                let before = model.len();
                model.retain(|(k, i, _)| (*k, *i) != (key, id));
                prop_assert_eq!(removed, model.len() != before, "{}", at);
            }
            Op::RemoveToken { key } => stores[0].remove(KEYS[key]).await.expect("remove"),
        }
        for (key, name) in KEYS.iter().enumerate() {
            let kept = stores[step % 2].pending(name).await.expect("pending");
            let expected: Vec<(&str, &str)> = model
                .iter()
                .filter(|(k, _, _)| *k == key)
                .map(|(_, i, d)| (IDS[*i], d.as_str()))
                .collect();
            prop_assert_eq!(pairs(&kept), expected, "{}: key {:?}", at, name);
        }
        let mut expected: Vec<String> = KEYS
            .iter()
            .enumerate()
            .filter(|(k, _)| model.iter().any(|(mk, _, _)| mk == k))
            .map(|(_, name)| (*name).to_owned())
            .collect();
        expected.sort();
        prop_assert_eq!(
            sorted_keys(&stores[(step + 1) % 2]).await,
            expected,
            "{}",
            at
        );
    }
    Ok(())
}
