//! `--store URL`: where the client commands keep their grants between runs.
//!
//! - `memory:` (default): nothing survives the command.
//! - `file:PATH`: a `FileStore` directory (one host; OS file locks).
//! - `redis://…` / `rediss://…`: a `RedisStore` (a fleet).

use std::sync::Arc;

use tokenkit::agent::store_url;
use tokenkit::core::CasOutcome;
use tokenkit::{Error, Token, TokenStore};

/// The `--store` flag shared by the client commands.
#[derive(Clone, clap::Args)]
pub struct StoreArgs {
    /// Where grants are kept: `memory:`, `file:PATH` or `redis://HOST:PORT/DB` (a Redis
    /// URL may hold a password: this type does not derive `Debug`).
    #[arg(long = "store", value_name = "URL", default_value = "memory:")]
    pub url: String,
}

impl StoreArgs {
    /// Whether nothing survives the command.
    pub fn is_memory(&self) -> bool {
        store_url::is_memory(&self.url)
    }

    /// Opens the store. `budgeted` grants (ilab) fail closed when Redis is down; the
    /// others fall back to an in-process store.
    pub async fn open(&self, budgeted: bool) -> Result<Arc<dyn TokenStore>, Error> {
        store_url::open(&self.url, budgeted)
            .await
            .map_err(|e| match e {
                Error::Config(reason) => Error::config(format!("--store: {reason}")),
                other => other,
            })
    }
}

/// Writes `token` over whatever `store` holds under `key` (a new login or launch starts
/// a new grant), retrying the compare-and-set if another writer got in between.
pub async fn replace(store: &dyn TokenStore, key: &str, token: &Token) -> Result<(), Error> {
    let mut expected = store.load(key).await?.map_or(0, |v| v.generation);
    loop {
        match store.compare_and_set(key, expected, token).await? {
            CasOutcome::Written(_) => return Ok(()),
            CasOutcome::Conflict(current) => expected = current.map_or(0, |v| v.generation),
        }
    }
}
