//! What the agent serves at one moment: the grants and experiments of one config, over
//! its stores. A reload builds the next one from the previous: an unchanged grant (same
//! settings, same secrets) is carried over with its cache; a changed one is rebuilt over
//! the same store, so its new cache adopts the stored token instead of fetching again.
//! A changed `[http]` (a proxy URL, a CA file's content) changes every grant: all
//! their clients are rebuilt.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokenkit_core::{Error, Keyring, Secret, TokenStore};

use crate::config::{Config, IlabApp, PlatformHttp, SecretSource};
use crate::grant::Grant;
use crate::ilab_app::Experiment;
use crate::store_url::{self, StoreOptions};

/// The stores of one `agent.store` URL and `agent.store_key`.
#[derive(Debug, Clone)]
pub struct Stores {
    url: String,
    keyring: Option<Keyring>,
    /// For ac and bo grants (over Redis: an in-process fallback while it is down).
    plain: Arc<dyn TokenStore>,
    /// For ilab sessions (over Redis: fail closed, so no refresh is spent twice).
    budgeted: Arc<dyn TokenStore>,
}

impl Stores {
    /// Opens the stores `url` names, sealed with `keyring` if there is one. `memory:` is
    /// one store for both: keys never clash.
    pub async fn open(url: &str, keyring: Option<Keyring>) -> Result<Self, Error> {
        let options = StoreOptions {
            keyring: keyring.clone(),
            ..StoreOptions::default()
        };
        let plain = store_url::open_with(url, false, &options).await?;
        let budgeted = if store_url::is_memory(url) {
            Arc::clone(&plain)
        } else {
            store_url::open_with(url, true, &options).await?
        };
        Ok(Self {
            url: url.to_owned(),
            keyring,
            plain,
            budgeted,
        })
    }

    /// Whether these are the stores of `url` sealed with `keyring`.
    fn serve(&self, url: &str, keyring: Option<&Keyring>) -> bool {
        let same_keys = match (&self.keyring, keyring) {
            (None, None) => true,
            (Some(ours), Some(theirs)) => ours.same_as(theirs),
            _ => false,
        };
        self.url == url && same_keys
    }
}

/// The grants and experiments being served.
#[derive(Debug)]
pub struct Runtime {
    /// The config they come from.
    pub config: Config,
    /// The grants by name.
    pub grants: HashMap<String, Arc<Grant>>,
    /// The ilab experiments by name.
    pub ilab: HashMap<String, Arc<Experiment>>,
    bearer: Option<Secret>,
    http: PlatformHttp,
    stores: Stores,
}

impl Runtime {
    /// The first runtime of a config.
    pub async fn start(config: Config) -> Result<Self, Error> {
        let bearer = bearer(&config)?;
        let http = config.http()?;
        let stores = Stores::open(&config.store_url(), config.store_keyring()?).await?;
        Ok(Self::build(config, stores, bearer, http, None))
    }

    /// The runtime of a reloaded config; grants that did not change are carried over.
    pub async fn reload(&self, config: Config) -> Result<Self, Error> {
        let bearer = bearer(&config)?;
        let http = config.http()?;
        let keyring = config.store_keyring()?;
        let same_store = self.stores.serve(&config.store_url(), keyring.as_ref());
        let stores = if same_store {
            self.stores.clone()
        } else {
            tracing::warn!(
                "agent.store or agent.store_key changed: grants move to the new store (their tokens are read or fetched again there)"
            );
            Stores::open(&config.store_url(), keyring).await?
        };
        Ok(Self::build(
            config,
            stores,
            bearer,
            http,
            same_store.then_some(self),
        ))
    }

    fn build(
        config: Config,
        stores: Stores,
        bearer: Option<Secret>,
        http: PlatformHttp,
        previous: Option<&Self>,
    ) -> Self {
        let mut grants = HashMap::new();
        for (name, grant) in &config.grants {
            let settings = format!("{grant:?}");
            let fingerprint = fingerprint(&settings, grant.secrets(), &http, &config);
            let kept = previous
                .and_then(|p| p.grants.get(name))
                .filter(|g| g.fingerprint == fingerprint);
            let grant = match kept {
                Some(kept) => Arc::clone(kept),
                None => Arc::new(Grant::start(
                    name,
                    grant,
                    &config.base_dir,
                    http.config(),
                    Arc::clone(&stores.plain),
                    fingerprint,
                )),
            };
            grants.insert(name.clone(), grant);
        }
        let mut ilab = HashMap::new();
        for (name, app) in &config.ilab {
            let settings = format!("{app:?} flush_ms={}", config.agent.flush_ms);
            let fingerprint = fingerprint(&settings, app_secrets(app), &http, &config);
            let kept = previous
                .and_then(|p| p.ilab.get(name))
                .filter(|e| e.fingerprint == fingerprint);
            let experiment = match kept {
                Some(kept) => Arc::clone(kept),
                None => Arc::new(Experiment::new(
                    name,
                    app,
                    &config.base_dir,
                    http.config(),
                    Arc::clone(&stores.budgeted),
                    config.agent.flush(),
                    fingerprint,
                )),
            };
            ilab.insert(name.clone(), experiment);
        }
        Self {
            config,
            grants,
            ilab,
            bearer,
            http,
            stores,
        }
    }

    /// Whether the `[http]` settings (or what they read) differ from `previous`'s, so
    /// every client was rebuilt.
    pub fn http_changed_from(&self, previous: &Self) -> bool {
        self.http.fingerprint() != previous.http.fingerprint()
    }

    /// The secret TCP requests must carry, if `listen.bearer_file` names one.
    pub fn bearer(&self) -> Option<&Secret> {
        self.bearer.as_ref()
    }

    /// What changed from `previous`, for the log: (added, changed, removed) names.
    pub fn changes_from(&self, previous: &Self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut added = Vec::new();
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        let ours = self
            .grants
            .iter()
            .map(|(n, g)| (format!("grants.{n}"), g.fingerprint))
            .chain(
                self.ilab
                    .iter()
                    .map(|(n, e)| (format!("ilab.{n}"), e.fingerprint)),
            );
        let theirs: HashMap<String, [u8; 32]> = previous
            .grants
            .iter()
            .map(|(n, g)| (format!("grants.{n}"), g.fingerprint))
            .chain(
                previous
                    .ilab
                    .iter()
                    .map(|(n, e)| (format!("ilab.{n}"), e.fingerprint)),
            )
            .collect();
        let mut seen = Vec::new();
        for (name, print) in ours {
            match theirs.get(&name) {
                None => added.push(name.clone()),
                Some(old) if *old != print => changed.push(name.clone()),
                Some(_) => {}
            }
            seen.push(name);
        }
        for name in theirs.keys() {
            if !seen.contains(name) {
                removed.push(name.clone());
            }
        }
        for list in [&mut added, &mut changed, &mut removed] {
            list.sort();
        }
        (added, changed, removed)
    }
}

/// The bearer secret of `listen.bearer_file`, read now (a reload reads it again).
fn bearer(config: &Config) -> Result<Option<Secret>, Error> {
    let Some(path) = &config.listen.bearer_file else {
        return Ok(None);
    };
    let secret = SecretSource::File(path.clone()).resolve(&config.base_dir)?;
    Ok(Some(Secret::new(secret)))
}

fn app_secrets(app: &IlabApp) -> Vec<(&'static str, &SecretSource)> {
    vec![("secret", &app.secret)]
}

/// A digest of a grant's settings, its secrets' current values and the HTTP settings of
/// its clients: equal digests mean the grant would be built the same. A secret that
/// cannot be read counts as its error, so fixing it changes the digest.
fn fingerprint(
    settings: &str,
    secrets: Vec<(&'static str, &SecretSource)>,
    http: &PlatformHttp,
    config: &Config,
) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(http.fingerprint());
    digest.update(settings.as_bytes());
    for (field, source) in secrets {
        digest.update([0]);
        digest.update(field.as_bytes());
        digest.update([0]);
        match source.resolve(&config.base_dir) {
            Ok(value) => digest.update(value.as_bytes()),
            Err(error) => digest.update(format!("\u{1}{error}").as_bytes()),
        }
    }
    digest.finalize().into()
}

#[cfg(test)]
mod tests {
    use tokenkit_core::StoreKey;

    use super::*;

    fn keyring(key: &StoreKey) -> Option<Keyring> {
        Some(Keyring::new([key.clone()]).expect("keys"))
    }

    /// A reload keeps the stores only for the same URL and the same keys: a changed key
    /// must reopen them, or the grants would go on sealing with the old one.
    #[tokio::test]
    async fn stores_are_kept_for_the_same_url_and_keys_only() {
        let k1 = StoreKey::generate("k1").expect("random");
        let other_k1 = StoreKey::generate("k1").expect("random");
        let stores = Stores::open("memory:", keyring(&k1)).await.expect("opens");
        assert!(stores.serve("memory:", keyring(&k1).as_ref()));
        assert!(!stores.serve("memory:", keyring(&other_k1).as_ref()));
        assert!(!stores.serve("memory:", None));
        assert!(!stores.serve("file:/elsewhere", keyring(&k1).as_ref()));
        let plain = Stores::open("memory:", None).await.expect("opens");
        assert!(plain.serve("memory:", None));
        assert!(!plain.serve("memory:", keyring(&k1).as_ref()));
    }
}
