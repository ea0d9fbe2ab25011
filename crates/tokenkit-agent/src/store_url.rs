//! A store named by a URL, as the agent's `agent.store` and the CLI's `--store` take it:
//!
//! - `memory:` (or nothing): a [`MemoryStore`] of this process;
//! - `file:PATH`: a [`FileStore`] directory (one host; OS file locks);
//! - `redis://…`, `rediss://…[?ca=PATH&cert=PATH&key=PATH]`, `redis+unix://…`: a
//!   [`RedisStore`] (a fleet; see [`tokenkit_redis`] for TLS and ACL users);
//! - `redis+cluster://HOST:PORT,HOST:PORT…/`, `rediss+cluster://…`: a [`RedisStore`] on
//!   a Redis Cluster, found from any of the seed nodes listed.
//!
//! [`StoreOptions`] says how: with a [`Keyring`], the `file:` and Redis stores seal the
//! secrets they keep (`memory:` keeps nothing at rest, and ignores it). Opening a
//! `file:` or Redis store verifies its key check
//! ([`tokenkit_core::store::seal::verify_key_check`]): a keyring that lacks the store's
//! key, or none for a sealed store, is a store error (not transient) here, before any
//! platform call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tokenkit_core::{Error, FileStore, Keyring, MemoryStore, TokenStore};
use tokenkit_redis::{Fallback, RedisStore};

/// What a store needs beside its URL.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// The CA to trust for a `rediss://` store whose URL names none (`ca=`), instead
    /// of the system trust store.
    pub ca_file: Option<PathBuf>,
    /// Seals the tokens and pending records a `file:` or Redis store keeps (see
    /// [`tokenkit_core::store::seal`]); ignored by `memory:`, where nothing rests.
    pub keyring: Option<Keyring>,
}

/// Whether `url` names the in-process store.
pub fn is_memory(url: &str) -> bool {
    matches!(url.trim(), "" | "memory:")
}

/// Opens the store `url` names, with default [`StoreOptions`].
pub async fn open(url: &str, budgeted: bool) -> Result<Arc<dyn TokenStore>, Error> {
    open_with(url, budgeted, &StoreOptions::default()).await
}

/// Opens the store `url` names. Over Redis, `budgeted` grants (ilab) fail closed when
/// Redis is down; the others fall back to an in-process store until it is back. The
/// error never repeats the URL (it may hold a password).
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
        // Either verifies the store's key check: a wrong key, or none for a sealed store,
        // fails here, before the caller spends anything.
        return Ok(Arc::new(match options.keyring.clone() {
            Some(keyring) => FileStore::open_sealed(path, keyring)?,
            None => FileStore::open(path)?,
        }));
    }
    if is_redis(url) {
        let fallback = if budgeted {
            Fallback::FailClosed
        } else {
            Fallback::Local
        };
        let mut builder = RedisStore::builder(url).fallback(fallback);
        if let Some(ca) = &options.ca_file
            && (url.starts_with("rediss://") || url.starts_with("rediss+cluster://"))
            && !query_names(url).any(|name| name == "ca")
        {
            builder = builder.ca_file(ca);
        }
        if let Some(keyring) = options.keyring.clone() {
            builder = builder.keyring(keyring);
        }
        return Ok(Arc::new(builder.connect().await?));
    }
    Err(Error::config(
        "a store is memory:, file:PATH, redis://HOST:PORT/DB, rediss://HOST:PORT/DB or \
         redis+cluster://HOST:PORT,HOST:PORT/",
    ))
}

fn is_redis(url: &str) -> bool {
    [
        "redis://",
        "rediss://",
        "redis+unix://",
        "redis+cluster://",
        "rediss+cluster://",
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme))
}

/// The query of `url`: after the first `?`, before the first `#`.
fn query(url: &str) -> Option<(&str, &str, &str)> {
    let (rest, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let (base, query) = rest.split_once('?')?;
    Some((base, query, fragment))
}

fn query_names(url: &str) -> impl Iterator<Item = &str> {
    query(url)
        .map(|(_, q, _)| q)
        .unwrap_or_default()
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
}

/// What a path in a query keeps as it is; everything else is percent-encoded.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A Redis URL with its relative `ca=`, `cert=` and `key=` paths taken from `base`
/// (the agent's config directory, as for every path of the config). Anything else,
/// and any other URL, is returned as it is.
pub fn with_paths_from(url: &str, base: &Path) -> String {
    let Some((head, query, fragment)) = query(url).filter(|_| is_redis(url.trim())) else {
        return url.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name @ ("ca" | "cert" | "key"), value)) => {
                match percent_decode_str(value).decode_utf8() {
                    Ok(path) if !path.is_empty() && Path::new(path.as_ref()).is_relative() => {
                        let joined = base.join(path.as_ref());
                        let encoded =
                            utf8_percent_encode(&joined.to_string_lossy(), PATH_VALUE).to_string();
                        format!("{name}={encoded}")
                    }
                    // Absolute, empty or not UTF-8: the store says what is wrong.
                    _ => pair.to_owned(),
                }
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{head}?{}{fragment}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit_core::{Arrival, Expiry, StoreKey, Token};

    use super::*;

    #[test]
    fn relative_certificate_paths_are_taken_from_the_base() {
        let base = Path::new("/etc/tokenkit");
        assert_eq!(
            with_paths_from(
                "rediss://u:p@h:6380/0?ca=ca.pem&cert=/abs/c.pem&key=keys/k%201.pem&protocol=resp3",
                base
            ),
            "rediss://u:p@h:6380/0?ca=/etc/tokenkit/ca.pem&cert=/abs/c.pem&key=/etc/tokenkit/keys/k%201.pem&protocol=resp3"
        );
        for unchanged in [
            "redis://h:6379/0",
            "file:grants",
            "rediss://h/?ca=",
            "rediss://h/#x?ca=a",
        ] {
            assert_eq!(with_paths_from(unchanged, base), unchanged);
        }
    }

    #[test]
    fn the_query_names_are_found_before_the_fragment() {
        let names: Vec<_> = query_names("rediss://h/?ca=/a&cert=/c&key=/k#x").collect();
        assert_eq!(names, ["ca", "cert", "key"]);
        assert_eq!(query_names("rediss://h/").count(), 1); // the empty query
        assert!(!query_names("rediss://h/#?ca=/a").any(|n| n == "ca"));
    }

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
            ..StoreOptions::default()
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
        let err = open(&url, false)
            .await
            .expect_err("sealed: refused without a key");
        assert!(
            err.to_string().contains("this process has no store key"),
            "{err}"
        );
        let memory = open_with("memory:", false, &options).await.expect("opens");
        memory.compare_and_set("k", 0, &token).await.expect("cas");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
