//! The key check of a sealed `FileStore` (`.keycheck`): a wrong key, or none, is refused
//! when the store is opened, before anything is read or written; the first keyed open
//! writes the check; a rolled-in key rewrites it; two processes opening an empty
//! directory with different keys cannot both win.

#[path = "support/at_rest.rs"]
mod at_rest;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokenkit_core::store::seal::Keyring;
use tokenkit_core::{Arrival, Error, Expiry, FileStore, Token, TokenStore};

const KEY: &str = "ilab:1681600222748241929:u1";
const ACCESS: &str = "SENTINEL-ACCESS-key-check";

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-key-check-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

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

/// Every file of the directory and its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let bytes = std::fs::read(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

fn check_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".keycheck")).expect("the key check")
}

/// A refusal at open: a store error that is not transient, holding `expected` and no
/// key material.
fn refused_at_open(result: Result<FileStore, Error>, expected: &str, materials: &[&str]) {
    let err = result.expect_err("refused at open");
    at_rest::assert_refused(&err, expected, materials);
}

fn token() -> Token {
    Token::new(
        ACCESS,
        Expiry::after(Arrival::now(), Duration::from_secs(600)),
    )
}

#[tokio::test]
async fn a_wrong_key_or_none_is_refused_at_open_and_changes_nothing() {
    let dir = dir("wrong");
    let k1 = entry("k1");
    let store = FileStore::open_sealed(&dir, keyring(&[&k1])).expect("open");
    store.compare_and_set(KEY, 0, &token()).await.expect("cas");
    store.put_pending(KEY, "o-1", "{}").await.expect("put");
    // The check: one line, private, sealed with k1, holding no key material.
    let check = check_text(&dir);
    assert!(
        check.starts_with("tk1:k1:") && check.ends_with('\n'),
        "{check}"
    );
    assert!(!check.contains(&k1.1));
    let mode = std::fs::metadata(dir.join(".keycheck"))
        .expect("exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = snapshot(&dir);

    let (other_k1, k2, k3) = (entry("k1"), entry("k2"), entry("k3"));
    let materials = [k1.1.as_str(), &other_k1.1, &k2.1, &k3.1];
    refused_at_open(
        FileStore::open_sealed(&dir, keyring(&[&k2, &k3])),
        "this store is sealed with store key \"k1\", which this process does not have (it has \
         \"k2\", \"k3\")",
        &materials,
    );
    refused_at_open(
        FileStore::open_sealed(&dir, keyring(&[&other_k1])),
        "this store is sealed with another key named \"k1\" than this process has (the same \
         id, different bytes",
        &materials,
    );
    refused_at_open(
        FileStore::open(&dir),
        "this store is sealed with store key \"k1\"; this process has no store key (give it a \
         keyring holding \"k1\")",
        &materials,
    );
    assert_eq!(snapshot(&dir), before, "a refused open changes nothing");
    // The right key opens it, again and again, without rewriting the check.
    let again = FileStore::open_sealed(&dir, keyring(&[&k1])).expect("open");
    assert_eq!(
        again
            .load(KEY)
            .await
            .expect("load")
            .expect("kept")
            .token
            .access_token()
            .expose_secret(),
        ACCESS
    );
    assert_eq!(check_text(&dir), check, "the check is not rewritten");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_rolled_in_key_rewrites_the_check_and_then_the_old_key_alone_is_refused() {
    let dir = dir("rotation");
    let (k1, k2) = (entry("k1"), entry("k2"));
    FileStore::open_sealed(&dir, keyring(&[&k1])).expect("open");
    assert!(check_text(&dir).starts_with("tk1:k1:"));
    FileStore::open_sealed(&dir, keyring(&[&k2, &k1])).expect("k1 still opens the check");
    assert!(check_text(&dir).starts_with("tk1:k2:"), "rewritten with k2");
    FileStore::open_sealed(&dir, keyring(&[&k2])).expect("k2 alone opens it now");
    refused_at_open(
        FileStore::open_sealed(&dir, keyring(&[&k1])),
        "this store is sealed with store key \"k2\", which this process does not have (it has \
         \"k1\")",
        &[&k1.1, &k2.1],
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn two_processes_opening_an_empty_store_with_different_keys_cannot_both_win() {
    for round in 0..24 {
        let dir = dir("race");
        let first = entry("k1");
        // Every other round the same id with other bytes, else another id.
        let second = entry(if round % 2 == 0 { "k1" } else { "k2" });
        let start = Arc::new(Barrier::new(2));
        let opens: Vec<_> = [first.clone(), second.clone()]
            .into_iter()
            .map(|key| {
                let (dir, start) = (dir.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    FileStore::open_sealed(&dir, keyring(&[&key])).map(drop)
                })
            })
            .collect();
        let results: Vec<Result<(), Error>> = opens
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect();
        let won: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        let (winner, loser) = if won[0] == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let err = results[1 - won[0]].as_ref().expect_err("the loser");
        assert!(
            !err.is_transient() && err.to_string().contains("this store is sealed with"),
            "{err}"
        );
        // The check on disk is the winner's: it opens the store, the loser's key does not.
        FileStore::open_sealed(&dir, keyring(&[winner])).expect("the winner's key opens");
        assert!(FileStore::open_sealed(&dir, keyring(&[loser])).is_err());
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

#[test]
fn a_malformed_check_is_refused_and_removing_it_with_the_records_unseals_the_store() {
    let dir = dir("malformed");
    let k1 = entry("k1");
    FileStore::open_sealed(&dir, keyring(&[&k1])).expect("open");
    for garbage in [&b""[..], b"tk1:k1:", b"in clear", &[0xff, 0xfe, 0x00][..]] {
        std::fs::write(dir.join(".keycheck"), garbage).expect("write");
        let expected = "the store's key check (the file .keycheck in the store directory) is \
                        malformed: remove it";
        refused_at_open(
            FileStore::open_sealed(&dir, keyring(&[&k1])),
            expected,
            &[&k1.1],
        );
        // Without a keyring nothing is opened: a value naming k1 asks for k1.
        let without_key = if garbage.starts_with(b"tk1:k1:") {
            "this store is sealed with store key \"k1\"; this process has no store key"
        } else {
            expected
        };
        refused_at_open(FileStore::open(&dir), without_key, &[&k1.1]);
    }
    // Encryption removed on purpose: the check (and the sealed records) deleted, the
    // store opens without a key and keeps secrets in clear again.
    std::fs::remove_file(dir.join(".keycheck")).expect("remove");
    let plain = FileStore::open(&dir).expect("no check, no key needed");
    assert!(
        !dir.join(".keycheck").exists(),
        "a store without a key writes no check"
    );
    drop(plain);
    std::fs::remove_dir_all(dir).expect("cleanup");
}
