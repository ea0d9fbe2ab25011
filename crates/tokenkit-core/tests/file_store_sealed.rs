//! A `FileStore` with a keyring: the files hold no byte window of any token, keys roll
//! over, a record sealed with a key this store lacks is a clear error (and a cache over
//! it calls nobody) even past the key check, a store switched to encryption reads what
//! it kept in clear. The key check itself: tests/file_store_key_check.rs.

#[path = "support/at_rest.rs"]
mod at_rest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokenkit_core::store::seal::{Keyring, StoreKey};
use tokenkit_core::{
    Arrival, CasOutcome, Error, Expiry, FileStore, Grant, Metadata, Token, TokenCache,
    TokenProvider, TokenStore, UserIdentity, async_trait,
};

const ACCESS: &str = "SENTINEL-ACCESS-eyJhbGciOiJIUzI1NiJ9.c2VjcmV0";
const REFRESH: &str = "SENTINEL-REFRESH-7f3a9c2e41d8b6";
const RESULT: &str = r#"{"originId": "o-1", "score": "SENTINEL-SCORE-98.5"}"#;
const KEY: &str = "ilab:1681600222748241929:u1";

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-sealed-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key(id: &str) -> StoreKey {
    StoreKey::generate(id).expect("random")
}

fn token(access: &str) -> Token {
    Token::new(
        access,
        Expiry::after(Arrival::now(), Duration::from_secs(600)),
    )
    .with_refresh_token(REFRESH)
    .with_grant(Grant {
        refreshes_spent: 1,
        refresh_budget: Some(2),
        ..Grant::default()
    })
    .with_metadata(Metadata {
        user: Some(UserIdentity {
            id: "u1".into(),
            display_name: Some("张三".into()),
        }),
        ..Metadata::default()
    })
}

/// Every file of the directory, with its name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let bytes = std::fs::read(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

fn assert_store_error(err: &Error, expected: &str) {
    at_rest::assert_refused(err, expected, &[]);
    assert!(err.to_string().contains(KEY), "names the grant key: {err}");
}

#[tokio::test]
async fn the_files_hold_no_window_of_a_token_and_the_rest_stays_readable() {
    let dir = dir("windows");
    let store =
        FileStore::open_sealed(&dir, Keyring::new([key("k1")]).expect("keys")).expect("open");
    let written = store
        .compare_and_set(KEY, 0, &token(ACCESS))
        .await
        .expect("cas");
    assert!(matches!(written, CasOutcome::Written(1)));
    store.put_pending(KEY, "o-1", RESULT).await.expect("put");
    let back = store.load(KEY).await.expect("load").expect("present");
    assert_eq!(back.token.access_token().expose_secret(), ACCESS);
    assert_eq!(
        back.token.refresh_token().map(|r| r.expose_secret()),
        Some(REFRESH)
    );
    assert_eq!(store.pending(KEY).await.expect("pending")[0].data(), RESULT);

    let all = files(&dir);
    assert!(
        all.len() >= 2,
        "{:?}",
        all.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &all {
        for secret in [ACCESS, REFRESH, "SENTINEL-SCORE-98.5"] {
            assert!(
                !at_rest::holds_a_window_of(bytes, secret),
                "{name} holds a window of {secret}"
            );
        }
    }
    // What leases and budgets read is in clear.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.path_for(KEY)).expect("read")).expect("json");
    assert_eq!(record["generation"], 1);
    assert_eq!(record["token"]["grant"]["refreshes_spent"], 1);
    assert_eq!(record["token"]["grant"]["refresh_budget"], 2);
    assert_eq!(record["token"]["metadata"]["user"]["id"], "u1");
    assert!(record["token"]["expires_at_ms"].as_i64().is_some());
    let sealed = record["token"]["access_token"].as_str().expect("a string");
    assert!(sealed.starts_with("tk1:k1:"), "{sealed}");
    // The pending records' ids and key are in clear, so they can be listed.
    assert_eq!(store.pending_keys().await.expect("keys"), [KEY]);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_new_key_is_rolled_in_while_old_records_still_read() {
    let dir = dir("rotation");
    let k1_bytes = || Keyring::parse(&text_of("k1", 1)).expect("k1");
    let old = FileStore::open_sealed(&dir, k1_bytes()).expect("open");
    old.compare_and_set(KEY, 0, &token(ACCESS))
        .await
        .expect("cas");
    old.put_pending(KEY, "o-1", RESULT).await.expect("put");

    // k2 first, k1 kept: what k1 sealed reads; the next write carries k2.
    let both =
        Keyring::parse(&format!("{}\n{}", text_of("k2", 2), text_of("k1", 1))).expect("keys");
    let rolled = FileStore::open_sealed(&dir, both).expect("open");
    let v = rolled.load(KEY).await.expect("load").expect("present");
    assert_eq!(v.token.access_token().expose_secret(), ACCESS);
    assert_eq!(
        rolled.pending(KEY).await.expect("pending")[0].data(),
        RESULT
    );
    rolled
        .compare_and_set(KEY, v.generation, &token("SENTINEL-ACCESS-second-token"))
        .await
        .expect("cas");
    let text = std::fs::read_to_string(rolled.path_for(KEY)).expect("read");
    assert!(
        text.contains("\"tk1:k2:") && !text.contains("tk1:k1:"),
        "{text}"
    );

    // k1 dropped: the pending record it sealed is a clear error naming k1.
    let k2_only = FileStore::open_sealed(&dir, Keyring::parse(&text_of("k2", 2)).expect("k2"))
        .expect("the key check was renewed with k2");
    let v = k2_only.load(KEY).await.expect("load").expect("present");
    assert_eq!(
        v.token.access_token().expose_secret(),
        "SENTINEL-ACCESS-second-token"
    );
    let err = k2_only.pending(KEY).await.expect_err("sealed with k1");
    assert_store_error(
        &err,
        "sealed with store key \"k1\", which this process does not have (it has \"k2\")",
    );
    // A process still on k1 alone is refused when it opens the store (its key check).
    let err = FileStore::open_sealed(&dir, k1_bytes()).expect_err("sealed with k2");
    assert!(
        err.to_string()
            .contains("sealed with store key \"k2\", which this process does not have"),
        "{err}"
    );
    // Past the check (removed by hand), its records refuse it too.
    std::fs::remove_file(dir.join(".keycheck")).expect("remove the check");
    let k1_only = FileStore::open_sealed(&dir, k1_bytes()).expect("no check to refuse it");
    let err = k1_only.load(KEY).await.expect_err("sealed with k2");
    assert_store_error(
        &err,
        "sealed with store key \"k2\", which this process does not have",
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Opens `dir` with `keyring` past its key check, as if an operator had removed the
/// check: the records themselves must still refuse a wrong key.
fn past_the_key_check(dir: &Path, keyring: Option<Keyring>) -> FileStore {
    match std::fs::remove_file(dir.join(".keycheck")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("remove the check: {e}"),
        _ => {}
    }
    match keyring {
        Some(keyring) => FileStore::open_sealed(dir, keyring).expect("open"),
        None => FileStore::open(dir).expect("open"),
    }
}

#[tokio::test]
async fn a_record_refuses_a_different_key_with_the_same_id_or_no_key() {
    let dir = dir("wrong");
    let store =
        FileStore::open_sealed(&dir, Keyring::new([key("k1")]).expect("keys")).expect("open");
    store
        .compare_and_set(KEY, 0, &token(ACCESS))
        .await
        .expect("cas");
    let plain = past_the_key_check(&dir, None);
    let err = plain.load(KEY).await.expect_err("no key");
    assert_store_error(
        &err,
        "is sealed with store key \"k1\"; this store has no key",
    );
    let impostor = past_the_key_check(&dir, Some(Keyring::new([key("k1")]).expect("keys")));
    let err = impostor.load(KEY).await.expect_err("another k1");
    assert_store_error(
        &err,
        "cannot be opened with store key \"k1\" (a different key with the same id",
    );
    // A writer with the wrong key cannot overwrite the grant either.
    let err = impostor
        .compare_and_set(KEY, 0, &token("SENTINEL-ACCESS-impostor"))
        .await
        .expect_err("cannot read what it would replace");
    assert_store_error(&err, "cannot be opened");
    assert_eq!(
        store
            .load(KEY)
            .await
            .expect("load")
            .expect("kept")
            .generation,
        1,
        "nothing was overwritten"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_store_kept_in_clear_reads_with_a_keyring_and_is_sealed_by_its_next_write() {
    let dir = dir("clear");
    let plain = FileStore::open(&dir).expect("open");
    plain
        .compare_and_set(KEY, 0, &token(ACCESS))
        .await
        .expect("cas");
    plain.put_pending(KEY, "o-1", RESULT).await.expect("put");
    assert!(at_rest::holds_a_window_of(
        &std::fs::read(plain.path_for(KEY)).expect("read"),
        ACCESS
    ));

    let sealed =
        FileStore::open_sealed(&dir, Keyring::new([key("k1")]).expect("keys")).expect("open");
    let v = sealed
        .load(KEY)
        .await
        .expect("clear is read")
        .expect("present");
    assert_eq!(v.token.access_token().expose_secret(), ACCESS);
    assert_eq!(
        sealed.pending(KEY).await.expect("pending")[0].data(),
        RESULT
    );
    sealed
        .compare_and_set(KEY, v.generation, &v.token)
        .await
        .expect("cas");
    sealed.put_pending(KEY, "o-1", RESULT).await.expect("put");
    for (name, bytes) in files(&dir) {
        assert!(!at_rest::holds_a_window_of(&bytes, ACCESS), "{name}");
        assert!(
            !at_rest::holds_a_window_of(&bytes, "SENTINEL-SCORE-98.5"),
            "{name}"
        );
    }
    // From now on the store is sealed: a process that forgot its key is refused at once.
    let err = FileStore::open(&dir).expect_err("sealed now");
    assert!(
        err.to_string()
            .contains("this store is sealed with store key \"k1\"; this process has no store key"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Counts calls; never expected to be called here.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicU32,
}

#[async_trait]
impl TokenProvider for Counting {
    async fn fetch(&self) -> Result<Token, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(token("SENTINEL-ACCESS-fetched"))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(token("SENTINEL-ACCESS-refreshed"))
    }
}

#[tokio::test]
async fn a_cache_over_a_wrong_key_fails_clearly_and_calls_nobody() {
    let dir = dir("cache");
    let store =
        FileStore::open_sealed(&dir, Keyring::new([key("k1")]).expect("keys")).expect("open");
    // A grant that needs renewing: an expired token, so a cache that ignored the load
    // error would refresh or fetch at once.
    let expired = token(ACCESS).with_expiry(Expiry::from_remaining(
        Duration::ZERO,
        Duration::from_secs(600),
    ));
    store.compare_and_set(KEY, 0, &expired).await.expect("cas");
    for keyring in [
        Keyring::new([key("k1")]).expect("same id, other bytes"),
        Keyring::new([key("k9")]).expect("other id"),
    ] {
        let provider = Arc::new(Counting::default());
        // (Opening it is refused by the key check: see tests/file_store_key_check.rs.)
        let wrong = past_the_key_check(&dir, Some(keyring));
        let cache = TokenCache::builder(Arc::clone(&provider))
            .store(Arc::new(wrong))
            .key(KEY)
            .build();
        for _ in 0..3 {
            let err = cache.token().await.expect_err("the store cannot be read");
            assert_store_error(&err, "store key");
        }
        assert_eq!(provider.calls.load(Ordering::SeqCst), 0, "nothing spent");
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// A keyring entry `id:<base64 of 32 bytes derived from seed>`, so two stores can be
/// given the same key.
fn text_of(id: &str, seed: u8) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(seed).wrapping_add(seed ^ 0x5a))
        .collect();
    format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
