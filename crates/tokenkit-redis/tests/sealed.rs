//! A `RedisStore` with a keyring, against a real redis-server: no byte window of an
//! issued token in any key the grant uses (`HGETALL`, `DUMP`), two stores with the same
//! keyring share one grant, and a store with another key fails clearly and spends
//! nothing, also with the local fallback on and past the key check (tests/key_check.rs).

#[path = "../../tokenkit-core/tests/support/at_rest.rs"]
mod at_rest;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use tokenkit_core::store::seal::{Keyring, StoreKey};
use tokenkit_core::{
    Arrival, Error, Expiry, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};
use tokenkit_redis::Fallback;

const KEY: &str = "ac:demo:demo-org:11112";
const RESULT: &str = r#"{"originId": "o-1", "score": "SENTINEL-SCORE-98.5"}"#;

/// A platform issuing random tokens, counting every call.
#[derive(Debug, Default)]
struct Upstream {
    calls: AtomicUsize,
    issued: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl TokenProvider for Upstream {
    async fn fetch(&self) -> Result<Token, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let access = format!(
            "SENTINEL-ACCESS-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let refresh = format!("SENTINEL-REFRESH-{:016x}", fastrand::u64(..));
        self.issued
            .lock()
            .expect("lock")
            .extend([access.clone(), refresh.clone()]);
        Ok(Token::new(
            access,
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        )
        .with_refresh_token(refresh))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

fn keyring(id: &str) -> Keyring {
    Keyring::new([StoreKey::generate(id).expect("random")]).expect("keys")
}

/// Every byte Redis holds: for each key, its `DUMP` and, for hashes, its `HGETALL`.
async fn everything_redis_holds(server: &support::RedisServer) -> Vec<(String, Vec<u8>)> {
    let mut admin = server.admin().await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut admin)
        .await
        .expect("keys");
    let mut out = Vec::new();
    for name in names {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(&name)
            .query_async(&mut admin)
            .await
            .expect("dump");
        out.push((format!("DUMP {name}"), dump));
        let kind: String = redis::cmd("TYPE")
            .arg(&name)
            .query_async(&mut admin)
            .await
            .expect("type");
        if kind == "hash" {
            let fields: Vec<Vec<u8>> = admin.hgetall(&name).await.expect("hgetall");
            out.push((format!("HGETALL {name}"), fields.concat()));
        }
    }
    out
}

fn assert_clear_store_error(err: &Error, expected: &str) {
    at_rest::assert_refused(err, expected, &[]);
    assert!(err.to_string().contains(KEY), "names the grant key: {err}");
}

#[tokio::test]
async fn two_stores_with_one_keyring_share_a_grant_and_redis_holds_no_token_bytes() {
    let server = redis_or_skip!();
    let keys = keyring("k1");
    let upstream = Arc::new(Upstream::default());
    let cache = |store| {
        TokenCache::builder(Arc::clone(&upstream))
            .store(Arc::new(store))
            .key(KEY)
            .build()
    };
    let first = cache(
        server
            .builder()
            .keyring(keys.clone())
            .connect()
            .await
            .expect("connect"),
    );
    let second_store = server
        .builder()
        .keyring(keys.clone())
        .connect()
        .await
        .expect("connect");
    let second = cache(second_store.clone());
    let a = first.token().await.expect("fetched");
    let b = second.token().await.expect("adopted");
    assert!(a.same_access_token(&b), "one grant");
    assert_eq!(
        upstream.calls.load(Ordering::SeqCst),
        1,
        "one fetch for both"
    );

    // A pending record, and a lease held while Redis is inspected.
    second_store
        .put_pending(KEY, "o-1", RESULT)
        .await
        .expect("put");
    assert_eq!(
        second_store.pending(KEY).await.expect("pending")[0].data(),
        RESULT
    );
    let lease = second_store
        .try_lease(KEY, Duration::from_secs(30))
        .await
        .expect("lease")
        .expect("granted");

    let held = everything_redis_holds(&server).await;
    let names: Vec<&str> = held.iter().map(|(n, _)| n.as_str()).collect();
    for part in [":state", ":pending", ":pending-order", ":lease"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("DUMP") && n.ends_with(part)),
            "{part} inspected: {names:?}"
        );
    }
    let mut secrets = upstream.issued.lock().expect("lock").clone();
    secrets.push("SENTINEL-SCORE-98.5".into());
    for (name, bytes) in &held {
        for secret in &secrets {
            assert!(
                !at_rest::holds_a_window_of(bytes, secret),
                "{name} holds a window of a secret"
            );
        }
    }
    // The accounting the scripts use is in clear.
    let mut admin = server.admin().await;
    let generation: Option<String> = admin
        .hget(second_store.state_key(KEY), "gen")
        .await
        .expect("hget");
    assert_eq!(generation.as_deref(), Some("1"));
    second_store.release_lease(lease).await.expect("release");
}

#[tokio::test]
async fn a_store_with_another_key_fails_clearly_and_spends_nothing() {
    let server = redis_or_skip!();
    let right = server
        .builder()
        .keyring(keyring("k1"))
        .connect()
        .await
        .expect("connect");
    let writer = TokenCache::builder(Arc::new(Upstream::default()))
        .store(Arc::new(right.clone()))
        .key(KEY)
        .build();
    writer.token().await.expect("fetched");
    right.put_pending(KEY, "o-1", RESULT).await.expect("put");
    // Expire the token in Redis: a cache that ignored the load error would fetch.
    let mut admin = server.admin().await;
    let _: () = admin
        .hset(right.state_key(KEY), "expires_at_ms", 0)
        .await
        .expect("hset");

    let cases = [
        (
            Some(keyring("k1")),
            "cannot be opened with store key \"k1\" (a different key with the same id",
        ),
        (
            Some(keyring("k2")),
            "sealed with store key \"k1\", which this process does not have (it has \"k2\")",
        ),
        (
            None,
            "is sealed with store key \"k1\"; this store has no key",
        ),
    ];
    for (keys, expected) in cases {
        for fallback in [Fallback::FailClosed, Fallback::Local] {
            let builder = || {
                let builder = server.builder().fallback(fallback);
                match keys.clone() {
                    Some(keys) => builder.keyring(keys),
                    None => builder,
                }
            };
            // `connect` is refused by the key check (tests/key_check.rs); `build`, being
            // lazy, skips it: then the records themselves refuse the wrong key.
            let err = builder().connect().await.expect_err("the key check");
            assert!(
                err.to_string().contains("this store is sealed with"),
                "{err}"
            );
            let wrong = builder().build().expect("build");
            let err = wrong.load(KEY).await.expect_err("cannot be opened");
            assert_clear_store_error(&err, expected);
            let err = wrong.pending(KEY).await.expect_err("cannot be opened");
            assert!(err.to_string().contains("pending record \"o-1\""), "{err}");

            let upstream = Arc::new(Upstream::default());
            let cache = TokenCache::builder(Arc::clone(&upstream))
                .store(Arc::new(wrong))
                .key(KEY)
                .build();
            for _ in 0..3 {
                let err = cache.token().await.expect_err("the store cannot be read");
                assert_clear_store_error(&err, expected);
            }
            assert_eq!(
                upstream.calls.load(Ordering::SeqCst),
                0,
                "{fallback:?}: nothing spent"
            );
        }
    }
    // The grant is untouched: the right key still reads it.
    assert!(right.load(KEY).await.expect("load").is_some());
}

#[tokio::test]
async fn a_grant_kept_in_clear_reads_with_a_keyring_and_old_keys_still_read() {
    let server = redis_or_skip!();
    let plain = server.store().await;
    plain
        .compare_and_set(KEY, 0, &support::token("SENTINEL-ACCESS-in-clear", 600))
        .await
        .expect("cas");
    let k1 = StoreKey::generate("k1").expect("random");
    let k2 = StoreKey::generate("k2").expect("random");
    let sealed = server
        .builder()
        .keyring(Keyring::new([k1.clone()]).expect("keys"))
        .connect()
        .await
        .expect("connect");
    let v = sealed
        .load(KEY)
        .await
        .expect("clear is read")
        .expect("present");
    sealed
        .compare_and_set(KEY, v.generation, &v.token)
        .await
        .expect("sealed by the next write");
    let mut admin = server.admin().await;
    let record: String = admin
        .hget(sealed.state_key(KEY), "record")
        .await
        .expect("hget");
    assert!(
        !record.contains("SENTINEL") && record.contains("tk1:k1:"),
        "{record}"
    );
    // k2 rolled in, k1 kept: the k1 record still reads.
    let rolled = server
        .builder()
        .keyring(Keyring::new([k2, k1]).expect("keys"))
        .connect()
        .await
        .expect("connect");
    let v = rolled
        .load(KEY)
        .await
        .expect("k1 still opens")
        .expect("present");
    assert_eq!(
        v.token.access_token().expose_secret(),
        "SENTINEL-ACCESS-in-clear"
    );
}
