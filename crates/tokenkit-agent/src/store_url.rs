//! A store named by a URL, as the agent's `agent.store` and the CLI's `--store` take it:
//!
//! - `memory:` (or nothing): a [`MemoryStore`] of this process;
//! - `file:PATH`: a [`FileStore`] directory (one host; OS file locks);
//! - `redis://…`, `rediss://…`, `redis+unix://…`: a [`RedisStore`] (a fleet).

use std::sync::Arc;

use tokenkit_core::{Error, FileStore, MemoryStore, TokenStore};
use tokenkit_redis::{Fallback, RedisStore};

/// Whether `url` names the in-process store.
pub fn is_memory(url: &str) -> bool {
    matches!(url.trim(), "" | "memory:")
}

/// Opens the store `url` names. Over Redis, `budgeted` grants (ilab) fail closed when
/// Redis is down; the others fall back to an in-process store until it is back. The
/// error never repeats the URL (it may hold a password).
pub async fn open(url: &str, budgeted: bool) -> Result<Arc<dyn TokenStore>, Error> {
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
        return Ok(Arc::new(FileStore::open(path)?));
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
        let store = RedisStore::builder(url)
            .fallback(fallback)
            .connect()
            .await?;
        return Ok(Arc::new(store));
    }
    Err(Error::config(
        "a store is memory:, file:PATH or redis://HOST:PORT/DB",
    ))
}
