//! A store named by a URL, as the agent's `agent.store` and the CLI's `--store` take it:
//!
//! - `memory:` (or nothing): a [`MemoryStore`] of this process;
//! - `file:PATH`: a [`FileStore`] directory (one host; OS file locks);
//! - `redis://…`, `rediss://…`, `redis+unix://…`: a [`RedisStore`] (a fleet).
//!
//! [`StoreOptions`] says how: with a [`Keyring`], the `file:` and Redis stores seal the
//! secrets they keep (`memory:` keeps nothing at rest, and ignores it).

use std::sync::Arc;

use tokenkit_core::{Error, FileStore, Keyring, MemoryStore, TokenStore};
use tokenkit_redis::{Fallback, RedisStore};

/// How [`open_with`] opens a store, beside its URL.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Seals the tokens and pending records a `file:` or Redis store keeps (see
    /// [`tokenkit_core::store::seal`]); ignored by `memory:`, where nothing rests.
    pub keyring: Option<Keyring>,
}

/// Whether `url` names the in-process store.
pub fn is_memory(url: &str) -> bool {
    matches!(url.trim(), "" | "memory:")
}

/// Opens the store `url` names, with the default [`StoreOptions`] (secrets kept in
/// clear). Over Redis, `budgeted` grants (ilab) fail closed when Redis is down; the
/// others fall back to an in-process store until it is back. The error never repeats
/// the URL (it may hold a password).
pub async fn open(url: &str, budgeted: bool) -> Result<Arc<dyn TokenStore>, Error> {
    open_with(url, budgeted, &StoreOptions::default()).await
}

/// Opens the store `url` names, as [`open`] does, with `options`.
pub async fn open_with(
    url: &str,
    budgeted: bool,
    options: &StoreOptions,
) -> Result<Arc<dyn TokenStore>, Error> {
    let url = url.trim();
    if is_memory(url) {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(path) = url.strip_prefix("file:") {
        if path.is_empty() {
            return Err(Error::config(
                "the store file: needs a directory, e.g. file:/var/lib/tokenkit",
            ));
        }
        let store = FileStore::open(path)?;
        return Ok(Arc::new(match options.keyring.clone() {
            Some(keyring) => store.with_keyring(keyring),
            None => store,
        }));
    }
    if url.starts_with("redis://")
        || url.starts_with("rediss://")
        || url.starts_with("redis+unix://")
    {
        let fallback = if budgeted {
            Fallback::FailClosed
        } else {
            Fallback::Local
        };
        let mut builder = RedisStore::builder(url).fallback(fallback);
        if let Some(keyring) = options.keyring.clone() {
            builder = builder.keyring(keyring);
        }
        let store = builder.connect().await?;
        return Ok(Arc::new(store));
    }
    Err(Error::config(
        "a store is memory:, file:PATH or redis://HOST:PORT/DB",
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit_core::{Arrival, Expiry, StoreKey, Token};

    use super::*;

    #[tokio::test]
    async fn a_keyring_seals_a_file_store_and_is_ignored_by_memory() {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-store-url-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let options = StoreOptions {
            keyring: Some(Keyring::new([StoreKey::generate("k1").expect("random")]).expect("keys")),
        };
        let token = Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), Duration::from_secs(60)),
        );
        let url = format!("file:{}", dir.display());
        let store = open_with(&url, false, &options).await.expect("opens");
        store.compare_and_set("k", 0, &token).await.expect("cas");
        let text = std::fs::read_to_string(dir.join("k.json")).expect("read");
        assert!(
            !text.contains("SENTINEL") && text.contains("tk1:k1:"),
            "{text}"
        );
        let plain = open(&url, false).await.expect("opens");
        let err = plain.load("k").await.expect_err("no key");
        assert!(err.to_string().contains("this store has no key"), "{err}");
        let memory = open_with("memory:", false, &options).await.expect("opens");
        memory.compare_and_set("k", 0, &token).await.expect("cas");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
