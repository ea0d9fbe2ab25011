//! The file store's own unit tests (beside the shared contract checks of
//! `store::conformance`).

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::store::conformance;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-filestore-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn compare_and_set_is_versioned() {
    let dir = temp_dir("cas");
    conformance::compare_and_set_is_versioned(&FileStore::open(&dir).expect("open")).await;
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_sealed_store_keeps_the_contract() {
    let dir = temp_dir("sealed");
    let keyring = Keyring::new([seal::StoreKey::generate("k1").expect("random")]);
    let store = FileStore::open_sealed(&dir, keyring.expect("keys")).expect("open");
    conformance::compare_and_set_is_versioned(&store).await;
    conformance::pending_records_are_kept_beside_the_token(&store).await;
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn lease_is_exclusive() {
    let dir = temp_dir("lease");
    conformance::lease_is_exclusive(&FileStore::open(&dir).expect("open")).await;
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn pending_records_are_kept_beside_the_token() {
    let dir = temp_dir("pending");
    let store = FileStore::open(&dir).expect("open");
    conformance::pending_records_are_kept_beside_the_token(&store).await;
    // A second handle (another process) sees what the first one kept.
    store.put_pending("k", "r", "data").await.expect("put");
    let other = FileStore::open(&dir).expect("open");
    assert_eq!(other.pending("k").await.expect("pending")[0].data(), "data");
    assert_eq!(other.pending_keys().await.expect("keys"), ["k"]);
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_corrupt_pending_file_is_a_store_error() {
    let dir = temp_dir("pending-corrupt");
    let store = FileStore::open(&dir).expect("open");
    fs::write(dir.join("k.pending.json"), b"{\"key\": \"k\", \"rec").expect("write");
    let err = store.pending("k").await.unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    let err = store.put_pending("k", "r", "d").await.unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn files_are_private_and_keys_are_escaped() {
    let dir = temp_dir("mode");
    let store = FileStore::open(&dir).expect("open");
    store
        .compare_and_set("ilab/user 1", 0, &conformance::token("a"))
        .await
        .expect("cas");
    let path = store.path_for("ilab/user 1");
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("ilab%2Fuser%201.json")
    );
    assert_eq!(
        fs::metadata(&path).expect("exists").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(&dir).expect("exists").permissions().mode() & 0o777,
        0o700
    );
    // No temporary files are left behind.
    let names: Vec<_> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
    fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_corrupt_file_is_a_store_error_not_a_panic() {
    let dir = temp_dir("corrupt");
    let store = FileStore::open(&dir).expect("open");
    fs::write(store.path_for("k"), b"{\"generation\": 1, \"tok").expect("write");
    let err = store.load("k").await.unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    fs::remove_dir_all(dir).expect("cleanup");
}
