//! What a [`FileStore`](crate::FileStore) reads back from disk: a token file or a
//! pending-records file holding any bytes, or a mutation of what the store itself
//! wrote, is a record or a store error (not transient: it will not heal by itself),
//! never a panic. Real files in a directory of their own per case.

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fuzz;
use crate::{
    Arrival, Cluster, Error, Expiry, FileStore, Grant, Metadata, Token, TokenStore, UserIdentity,
};

const KEY: &str = "ilab-u1";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn fresh_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "tokenkit-file-props-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

fn token() -> Token {
    let mut claims = serde_json::Map::new();
    claims.insert("exp".into(), json!(1_711_189_629));
    Token::new(
        "SENTINEL-ACCESS-eyJhbGciOiJIUzI1NiJ9",
        Expiry::after(Arrival::now(), Duration::from_secs(3600)),
    )
    .with_refresh_token("SENTINEL-REFRESH")
    .with_grant(Grant {
        refreshes_spent: 1,
        refresh_budget: Some(2),
        outcome_unknown: false,
        ..Default::default()
    })
    .with_metadata(Metadata {
        user: Some(UserIdentity {
            id: "u1".into(),
            display_name: Some("用户".into()),
        }),
        cluster: Some(Cluster {
            id: "11112".into(),
            name: "华东一区".into(),
        }),
        claims,
        extra: serde_json::Map::new(),
    })
}

/// The token file and the pending file exactly as the store writes them.
fn written_by_the_store() -> (Value, Value) {
    let dir = fresh_dir();
    let store = FileStore::open(&dir).expect("open");
    let (record, pending) = runtime().block_on(async {
        store
            .compare_and_set(KEY, 0, &token())
            .await
            .expect("written");
        store
            .put_pending(KEY, "origin-1", r#"{"record": {"title": "t"}}"#)
            .await
            .expect("kept");
        let record = std::fs::read(store.path_for(KEY)).expect("token file");
        let pending = std::fs::read(dir.join(format!("{KEY}.pending.json"))).expect("pending");
        (record, pending)
    });
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let json = |bytes: Vec<u8>| serde_json::from_slice(&bytes).expect("the store writes JSON");
    (json(record), json(pending))
}

fn assert_store_error(error: &Error) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(
            error,
            Error::Store {
                transient: false,
                ..
            }
        ),
        "{error:?}"
    );
    prop_assert!(!error.to_string().contains("SENTINEL"), "{error}");
    Ok(())
}

/// Puts `bytes` where the token file of [`KEY`] lives and loads it.
fn load_token_file(bytes: &[u8], sent: Option<&Value>) -> Result<(), TestCaseError> {
    let dir = fresh_dir();
    let store = FileStore::open(&dir).expect("open");
    std::fs::write(store.path_for(KEY), bytes).expect("write");
    let loaded = runtime().block_on(store.load(KEY));
    std::fs::remove_dir_all(&dir).expect("cleanup");
    match loaded {
        // Whatever was accepted is what the file said. (A file that a `Value` cannot
        // hold, with an unknown field nested past the depth limit, is still a record:
        // the store skips unknown fields without reading them.)
        Ok(Some(versioned)) => {
            if let Some(sent) = sent {
                let said = sent["token"]["access_token"].as_str();
                prop_assert_eq!(Some(versioned.token.access_token().expose_secret()), said);
                prop_assert_eq!(Some(versioned.generation), sent["generation"].as_u64());
            }
        }
        Ok(None) => prop_assert!(false, "a file that exists is not `None`"),
        Err(error) => assert_store_error(&error)?,
    }
    Ok(())
}

/// Puts `bytes` where the pending file of [`KEY`] lives and lists it two ways.
fn load_pending_file(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = fresh_dir();
    let store = FileStore::open(&dir).expect("open");
    std::fs::write(dir.join(format!("{KEY}.pending.json")), bytes).expect("write");
    let (pending, keys) =
        runtime().block_on(async { (store.pending(KEY).await, store.pending_keys().await) });
    std::fs::remove_dir_all(&dir).expect("cleanup");
    match pending {
        Ok(records) => prop_assert!(records.len() <= bytes.len()),
        Err(error) => assert_store_error(&error)?,
    }
    if let Err(error) = keys {
        assert_store_error(&error)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(64))]

    #[test]
    fn a_token_file_of_any_bytes_is_a_record_or_a_store_error(bytes in fuzz::arbitrary_bytes()) {
        let sent: Option<Value> = serde_json::from_slice(&bytes).ok();
        load_token_file(&bytes, sent.as_ref())?;
    }

    #[test]
    fn a_mutated_token_file_is_a_record_or_a_store_error(
        mutated in fuzz::mutations(written_by_the_store().0),
    ) {
        load_token_file(&mutated.bytes, mutated.json().as_ref())?;
    }

    #[test]
    fn a_pending_file_of_any_bytes_is_records_or_a_store_error(bytes in fuzz::arbitrary_bytes()) {
        load_pending_file(&bytes)?;
    }

    #[test]
    fn a_mutated_pending_file_is_records_or_a_store_error(
        mutated in fuzz::mutations(written_by_the_store().1),
    ) {
        load_pending_file(&mutated.bytes)?;
    }
}
