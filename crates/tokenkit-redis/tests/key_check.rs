//! The key check of a sealed `RedisStore` (`<prefix>:keycheck`), against a real
//! redis-server: `connect` refuses a wrong key, or none, before anything is read or
//! written (and fails at once: not transient); the first keyed connect writes the
//! check; a rolled-in key rewrites it; of several processes connecting to an empty
//! server with different keys exactly one wins.

#[path = "../../tokenkit-core/tests/support/at_rest.rs"]
mod at_rest;
mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use redis::AsyncCommands;
use tokenkit_core::store::seal::Keyring;
use tokenkit_core::{Error, TokenStore};
use tokenkit_redis::RedisStore;

const KEY: &str = "ilab:1681600222748241929:u1";

/// A keyring entry `id:<base64 of 32 random bytes>`, and its Base64 (to look for it).
fn entry(id: &str) -> (String, String) {
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    let material = STANDARD.encode(bytes);
    (format!("{id}:{material}"), material)
}

fn keyring(entries: &[&(String, String)]) -> Keyring {
    let text: Vec<&str> = entries.iter().map(|(e, _)| e.as_str()).collect();
    Keyring::parse(&text.join("\n")).expect("keys")
}

async fn connect(
    server: &support::RedisServer,
    keys: Option<&[&(String, String)]>,
) -> Result<RedisStore, Error> {
    let builder = server.builder();
    match keys {
        Some(keys) => builder.keyring(keyring(keys)).connect().await,
        None => builder.connect().await,
    }
}

/// Every key Redis holds with its `DUMP`, sorted.
async fn snapshot(server: &support::RedisServer) -> Vec<(String, Vec<u8>)> {
    let mut admin = server.admin().await;
    let mut names: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut admin)
        .await
        .expect("keys");
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(&name)
            .query_async(&mut admin)
            .await
            .expect("dump");
        out.push((name, dump));
    }
    out
}

async fn check_text(server: &support::RedisServer) -> Option<String> {
    let mut admin = server.admin().await;
    admin.get("tokenkit:keycheck").await.expect("get")
}

fn refused(result: Result<RedisStore, Error>, expected: &str, materials: &[&str]) {
    let err = result.expect_err("refused at connect");
    at_rest::assert_refused(&err, expected, materials);
}

#[tokio::test]
async fn a_wrong_key_or_none_is_refused_at_connect_and_changes_nothing() {
    let server = redis_or_skip!();
    let k1 = entry("k1");
    let store = connect(&server, Some(&[&k1])).await.expect("connect");
    assert_eq!(store.key_check_key(), "tokenkit:keycheck");
    store
        .compare_and_set(KEY, 0, &support::token("SENTINEL-ACCESS", 600))
        .await
        .expect("cas");
    let check = check_text(&server).await.expect("written at connect");
    assert!(
        check.starts_with("tk1:k1:") && !check.contains(&k1.1),
        "{check}"
    );
    let mut admin = server.admin().await;
    let ttl: i64 = admin.pttl("tokenkit:keycheck").await.expect("pttl");
    assert_eq!(ttl, -1, "the check has no TTL");
    let before = snapshot(&server).await;

    let (other_k1, k2) = (entry("k1"), entry("k2"));
    let materials = [k1.1.as_str(), &other_k1.1, &k2.1];
    refused(
        connect(&server, Some(&[&k2])).await,
        "this store is sealed with store key \"k1\", which this process does not have (it has \
         \"k2\")",
        &materials,
    );
    refused(
        connect(&server, Some(&[&other_k1])).await,
        "this store is sealed with another key named \"k1\" than this process has",
        &materials,
    );
    refused(
        connect(&server, None).await,
        "this store is sealed with store key \"k1\"; this process has no store key",
        &materials,
    );
    assert_eq!(
        snapshot(&server).await,
        before,
        "a refused connect changes nothing"
    );
    // The right key connects again without rewriting the check.
    let again = connect(&server, Some(&[&k1])).await.expect("connect");
    assert!(again.load(KEY).await.expect("load").is_some());
    assert_eq!(check_text(&server).await.as_deref(), Some(check.as_str()));
    // Another prefix is another store, with a check of its own.
    let elsewhere = server
        .builder()
        .prefix("other")
        .keyring(keyring(&[&k2]))
        .connect()
        .await
        .expect("its own check");
    assert_eq!(elsewhere.key_check_key(), "other:keycheck");
}

#[tokio::test]
async fn a_rolled_in_key_rewrites_the_check_and_a_plain_store_writes_none() {
    let server = redis_or_skip!();
    connect(&server, None).await.expect("a plain store");
    assert_eq!(check_text(&server).await, None, "no key, no check");
    let (k1, k2) = (entry("k1"), entry("k2"));
    connect(&server, Some(&[&k1])).await.expect("connect");
    assert!(
        check_text(&server)
            .await
            .expect("written")
            .starts_with("tk1:k1:")
    );
    connect(&server, Some(&[&k2, &k1]))
        .await
        .expect("k1 still opens the check");
    assert!(
        check_text(&server)
            .await
            .expect("kept")
            .starts_with("tk1:k2:"),
        "rewritten with k2"
    );
    connect(&server, Some(&[&k2])).await.expect("k2 alone now");
    refused(
        connect(&server, Some(&[&k1])).await,
        "this store is sealed with store key \"k2\", which this process does not have (it has \
         \"k1\")",
        &[&k1.1, &k2.1],
    );
    // A malformed check is refused by everyone, naming where it is.
    let mut admin = server.admin().await;
    let _: () = admin
        .set("tokenkit:keycheck", "tk1:k2:")
        .await
        .expect("set");
    refused(
        connect(&server, Some(&[&k2])).await,
        "the store's key check (the Redis key tokenkit:keycheck) is malformed: remove it",
        &[&k2.1],
    );
    // Removed on purpose: a plain store opens again.
    let _: () = admin.del("tokenkit:keycheck").await.expect("del");
    connect(&server, None)
        .await
        .expect("no check, no key needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_stores_connecting_to_an_empty_server_with_different_keys_one_wins() {
    let server = redis_or_skip!();
    for round in 0..10 {
        let mut admin = server.admin().await;
        let _: () = admin.del("tokenkit:keycheck").await.expect("del");
        // Four contenders: two share one keyring; the others have another k1 or a k2.
        let shared = entry("k1");
        let contenders = [shared.clone(), shared.clone(), entry("k1"), entry("k2")];
        let url = server.url();
        let tasks: Vec<_> = contenders
            .iter()
            .cloned()
            .map(|key| {
                let url = url.clone();
                tokio::spawn(async move {
                    RedisStore::builder(url)
                        .operation_timeout(Duration::from_secs(5))
                        .keyring(keyring(&[&key]))
                        .connect()
                        .await
                        .map(drop)
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("no panic"));
        }
        let check = check_text(&server).await.expect("one check written");
        // The check opens with exactly one contender's key (two share it).
        let winner = contenders
            .iter()
            .position(|c| {
                tokenkit_core::store::seal::verify_key_check(
                    Some(&keyring(&[c])),
                    Some(&check),
                    "the test's copy",
                )
                .is_ok()
            })
            .expect("the check is a contender's");
        for (i, result) in results.iter().enumerate() {
            let same_key = contenders[i] == contenders[winner];
            match result {
                Ok(()) => assert!(same_key, "round {round}: contender {i} won too"),
                Err(err) => {
                    assert!(!same_key, "round {round}: the winner's key refused: {err}");
                    assert!(
                        !err.is_transient()
                            && err.to_string().contains("this store is sealed with"),
                        "{err}"
                    );
                }
            }
        }
    }
}
