//! A configured ilab experiment at run time: the [`SessionRegistry`] of its users.
//!
//! Sessions start from a launch ticket (`POST /v1/ilab/{app}/sessions`). Their grants
//! live in the agent's store under `ilab:<appid>:<un>` (the keys `tokenkit ilab token
//! --session` uses), so a session survives a restart over a durable store, and agents
//! sharing a store serve each other's sessions without spending a refresh twice. No
//! keeper refreshes them ahead of use: a grant has two refreshes, spent only when a
//! caller needs a token.

use std::path::Path;
use std::sync::Arc;

use tokenkit_core::{Error, TokenStore};
use tokenkit_ilab::SessionRegistry;

use crate::clients;
use crate::config::IlabApp;
use crate::stats::Stats;

/// One experiment.
#[derive(Debug)]
pub struct Experiment {
    /// Its name in the config and the URL.
    pub name: String,
    /// What is counted of it.
    pub stats: Arc<Stats>,
    /// The config and secret it was built from (to keep it over a reload).
    pub fingerprint: [u8; 32],
    registry: Result<SessionRegistry, Error>,
}

impl Experiment {
    /// Builds the experiment's registry over `store`.
    pub fn new(
        name: &str,
        app: &IlabApp,
        base_dir: &Path,
        store: Arc<dyn TokenStore>,
        fingerprint: [u8; 32],
    ) -> Self {
        let stats = Arc::new(Stats::default());
        let registry = clients::ilab_client(app, base_dir).map(|client| {
            SessionRegistry::with_store(client, store).key_prefix(format!("ilab:{}:", app.appid))
        });
        if let Err(error) = &registry {
            tracing::error!(ilab = name, %error, "the experiment cannot be used until its config is fixed (then SIGHUP)");
            stats.failed(error);
        }
        Self {
            name: name.to_owned(),
            stats,
            fingerprint,
            registry,
        }
    }

    /// The registry, or why there is none.
    pub fn registry(&self) -> Result<&SessionRegistry, &Error> {
        self.registry.as_ref()
    }
}
