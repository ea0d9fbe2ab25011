//! A configured ilab experiment at run time: the [`SessionRegistry`] of its users, and
//! the task that delivers their pending results.
//!
//! Sessions start from a launch ticket (`POST /v1/ilab/{app}/sessions`). Their grants
//! live in the agent's store under `ilab:<appid>:<un>` (the keys `tokenkit ilab token
//! --session` uses), so a session survives a restart over a durable store, and agents
//! sharing a store serve each other's sessions without spending a refresh twice. No
//! keeper refreshes them ahead of use: a grant has two refreshes, spent only when a
//! caller needs a token.
//!
//! Results (`POST …/results`) that could not be delivered at once stay pending in the
//! store: every `agent.flush_ms` the flusher delivers them ([`SessionRegistry::
//! flush_pending`]: one holder per key at a time, across agents too), and a new launch
//! of a user delivers that user's at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, TokenStore};
use tokenkit_ilab::{Retry, SessionRegistry};
use tokio::task::JoinHandle;

use crate::clients;
use crate::config::IlabApp;
use crate::stats::Stats;

/// One experiment.
pub struct Experiment {
    /// Its name in the config and the URL.
    pub name: String,
    /// What is counted of it.
    pub stats: Arc<Stats>,
    /// The config and secret it was built from (to keep it over a reload).
    pub fingerprint: [u8; 32],
    registry: Result<Arc<SessionRegistry>, Error>,
    flusher: Option<JoinHandle<()>>,
}

// Not the fingerprint: a hash of the app's secret (see `Grant`'s `Debug`).
impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Experiment {
    /// Builds the experiment's registry with the HTTP settings `http` over `store` and
    /// starts its flusher.
    pub fn new(
        name: &str,
        app: &IlabApp,
        base_dir: &Path,
        http: HttpConfig,
        store: Arc<dyn TokenStore>,
        flush_every: Duration,
        fingerprint: [u8; 32],
    ) -> Self {
        let stats = Arc::new(Stats::default());
        let registry = clients::ilab_client(app, base_dir, http).map(|client| {
            Arc::new(
                SessionRegistry::with_store(client, store)
                    .key_prefix(format!("ilab:{}:", app.appid)),
            )
        });
        let flusher = match &registry {
            Ok(registry) => Some(tokio::spawn(flush_every_so_often(
                name.to_owned(),
                Arc::clone(registry),
                Arc::clone(&stats),
                flush_every,
            ))),
            Err(error) => {
                tracing::error!(ilab = name, %error, "the experiment cannot be used until its config is fixed (then SIGHUP)");
                stats.failed(error);
                None
            }
        };
        Self {
            name: name.to_owned(),
            stats,
            fingerprint,
            registry,
            flusher,
        }
    }

    /// The registry, or why there is none.
    pub fn registry(&self) -> Result<&SessionRegistry, &Error> {
        self.registry.as_deref()
    }

    /// Delivers user `un`'s pending results in the background (after a launch: the new
    /// grant can deliver what the old one could not).
    pub fn deliver_pending(&self, un: &str) {
        let Ok(registry) = &self.registry else {
            return;
        };
        let (registry, un, name) = (Arc::clone(registry), un.to_owned(), self.name.clone());
        let stats = Arc::clone(&self.stats);
        tokio::spawn(async move {
            let flushed = match registry.reporter_for(&un).await {
                Ok(reporter) => reporter.flush().await,
                Err(error) => Err(error),
            };
            match flushed {
                Ok(report) if !report.delivered.is_empty() => {
                    stats.results_delivered.add_n(report.delivered.len());
                    tracing::info!(ilab = %name, delivered = report.delivered.len(), "pending results delivered after a launch");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(ilab = %name, %error, "pending results not delivered after a launch")
                }
            }
        });
    }
}

impl Drop for Experiment {
    fn drop(&mut self) {
        if let Some(flusher) = &self.flusher {
            flusher.abort();
        }
    }
}

/// Every `every`, the pending results of the experiment's users, oldest first.
async fn flush_every_so_often(
    name: String,
    registry: Arc<SessionRegistry>,
    stats: Arc<Stats>,
    every: Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match registry.flush_pending(Retry::default()).await {
            Ok(reports) => {
                let delivered: usize = reports.iter().map(|r| r.delivered.len()).sum();
                stats.results_delivered.add_n(delivered);
                if delivered > 0 {
                    tracing::info!(ilab = %name, delivered, "pending results delivered");
                }
            }
            Err(error) => tracing::warn!(ilab = %name, %error, "pending results could not be read"),
        }
    }
}
