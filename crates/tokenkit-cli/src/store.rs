//! `--store URL`: where the client commands keep their grants between runs.
//!
//! - `memory:` (default): nothing survives the command.
//! - `file:PATH`: a `FileStore` directory (one host; OS file locks).
//! - `redis://…` / `rediss://…[?ca=PATH&cert=PATH&key=PATH]`: a `RedisStore` (a fleet);
//! - `redis+cluster://HOST:PORT,HOST:PORT…/`, `rediss+cluster://…`: a `RedisStore` on a
//!   Redis Cluster.
//!
//! The tokens a `file:` or Redis store keeps are sealed with the keyring in
//! `TOKENKIT_STORE_KEY` or the file `--store-key-file` names (docs/encryption.md).
//! Opening the store verifies its key check, so a wrong key, or none for a sealed
//! store, fails there: every command opens its store before its first platform call.
//! There is deliberately no flag that takes a key itself: it would show in `ps`.

use std::path::PathBuf;
use std::sync::Arc;

use tokenkit::agent::store_url::{self, StoreOptions};
use tokenkit::core::CasOutcome;
use tokenkit::{Error, Keyring, Token, TokenStore};

/// The environment variable holding the store keyring (`ID:BASE64`, see
/// docs/encryption.md).
pub const STORE_KEY_ENV: &str = "TOKENKIT_STORE_KEY";

/// The `--store` flag shared by the client commands.
#[derive(Clone, clap::Args)]
pub struct StoreArgs {
    /// Where grants are kept: `memory:`, `file:PATH`, `redis://HOST:PORT/DB` or
    /// `rediss://USER:PASSWORD@HOST:PORT/DB?ca=PATH` (TLS) or
    /// `redis+cluster://HOST:PORT,HOST:PORT/` (a Redis URL may hold a password: this type
    /// does not derive `Debug`).
    #[arg(long = "store", value_name = "URL", default_value = "memory:")]
    pub url: String,
    /// A file (mode 0600) holding the keyring that seals the tokens a file: or Redis
    /// store keeps: `ID:BASE64` lines, the first the current key. Or set
    /// TOKENKIT_STORE_KEY.
    #[arg(long = "store-key-file", value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// Whether nothing survives the command.
    pub fn is_memory(&self) -> bool {
        store_url::is_memory(&self.url)
    }

    /// Opens the store. `budgeted` grants (ilab) fail closed when Redis is down; the
    /// others fall back to an in-process store.
    pub async fn open(&self, budgeted: bool) -> Result<Arc<dyn TokenStore>, Error> {
        // `memory:` keeps nothing at rest: a key exported for other commands is not read.
        let keyring = if self.is_memory() {
            None
        } else {
            self.keyring()?
        };
        let options = StoreOptions {
            keyring,
            ..StoreOptions::default()
        };
        store_url::open_with(&self.url, budgeted, &options)
            .await
            .map_err(|e| match e {
                Error::Config(reason) => Error::config(format!("--store: {reason}")),
                other => other,
            })
    }

    /// The keyring of `TOKENKIT_STORE_KEY` or `--store-key-file`; `None` with neither.
    /// A variable that is set but empty is an error, not "no encryption": whoever set
    /// it meant the store to be sealed.
    fn keyring(&self) -> Result<Option<Keyring>, Error> {
        match (std::env::var_os(STORE_KEY_ENV), &self.key_file) {
            (Some(_), Some(_)) => Err(Error::config(format!(
                "the store key is given twice ({STORE_KEY_ENV} and --store-key-file): give one"
            ))),
            (Some(_), None) => Keyring::from_env(STORE_KEY_ENV).map(Some),
            (None, Some(path)) => Keyring::from_file(path).map(Some),
            (None, None) => Ok(None),
        }
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
