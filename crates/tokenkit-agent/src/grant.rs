//! A configured grant at run time: its cache, its counters, and the task that keeps its
//! token fresh ahead of need.
//!
//! A grant whose secrets cannot be had (a variable not set, a file missing) is kept as
//! *broken* with the reason: the other grants serve on, and `SIGHUP` tries again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, TokenCache, TokenStore};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};

use crate::clients;
use crate::config::GrantConfig;
use crate::stats::Stats;

/// One grant.
pub struct Grant {
    /// Its name in the config and the URL.
    pub name: String,
    /// `ac` or `bo`.
    pub platform: &'static str,
    /// What is counted of it.
    pub stats: Arc<Stats>,
    /// The config and secrets it was built from (to keep it over a reload).
    pub fingerprint: [u8; 32],
    state: State,
}

// Not the fingerprint: a hash of the grant's secrets, which a short password would not
// survive a guess at.
impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("name", &self.name)
            .field("platform", &self.platform)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum State {
    Ready {
        cache: Arc<TokenCache>,
        keeper: JoinHandle<()>,
    },
    Broken(Error),
}

impl Grant {
    /// Builds the grant with the HTTP settings `http` and starts its keeper (which
    /// makes the first fetch: requests that come before it wait for it).
    pub fn start(
        name: &str,
        config: &GrantConfig,
        base_dir: &Path,
        http: HttpConfig,
        store: Arc<dyn TokenStore>,
        fingerprint: [u8; 32],
    ) -> Self {
        let stats = Arc::new(Stats::default());
        let built = match config {
            GrantConfig::Ac(ac) => clients::ac_cache(ac, base_dir, http, store, Arc::clone(&stats)),
            GrantConfig::Bo(bo) => {
                clients::bo_cache(name, bo, base_dir, http, store, Arc::clone(&stats))
            }
        };
        let state = match built {
            Ok(cache) => {
                let cache = Arc::new(cache);
                let keeper = tokio::spawn(keep_fresh(
                    name.to_owned(),
                    Arc::clone(&cache),
                    Arc::clone(&stats),
                ));
                State::Ready { cache, keeper }
            }
            Err(error) => {
                tracing::error!(grant = name, %error, "the grant cannot be used until its config is fixed (then SIGHUP)");
                stats.failed(&error);
                State::Broken(error)
            }
        };
        Self {
            name: name.to_owned(),
            platform: config.platform(),
            stats,
            fingerprint,
            state,
        }
    }

    /// The cache, or why there is none.
    pub fn cache(&self) -> Result<&Arc<TokenCache>, &Error> {
        match &self.state {
            State::Ready { cache, .. } => Ok(cache),
            State::Broken(error) => Err(error),
        }
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if let State::Ready { keeper, .. } = &self.state {
            keeper.abort();
        }
    }
}

/// The first retry after a failed fetch; doubled up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest pause between the keeper's attempts after failures.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Keeps the grant's token fresh without anyone asking: fetches the first token, then
/// at each token's refresh-ahead point reads the cache once, which starts the cache's
/// own background refresh while callers keep getting the current token. All the
/// deciding (single flight, backoff, store lease, renewal windows) stays the cache's.
async fn keep_fresh(name: String, cache: Arc<TokenCache>, stats: Arc<Stats>) {
    let mut changes = cache.subscribe();
    let mut retry = FIRST_RETRY;
    let mut last_generation = None;
    loop {
        if let Err(error) = cache.token().await {
            tracing::warn!(grant = %name, %error, retry_in_ms = retry.as_millis() as u64, "no token for the grant");
            stats.failed(&error);
            sleep(retry).await;
            retry = (retry * 2).min(MAX_RETRY);
            continue;
        }
        let Some(entry) = changes.borrow_and_update().clone() else {
            continue;
        };
        if last_generation == Some(entry.generation()) {
            // Past the refresh-ahead point and still the same token: the refresh failed
            // (the cache keeps serving the valid token and backs off) or another
            // process holds the lease. Look again later, not in a loop.
            sleep(retry).await;
            retry = (retry * 2).min(MAX_RETRY);
        } else {
            retry = FIRST_RETRY;
        }
        last_generation = Some(entry.generation());
        sleep_until(entry.advisory_at()).await;
        // Inside the advisory window: this read starts the background refresh.
        let _ = cache.cached();
        tokio::select! {
            _ = changes.changed() => {}
            () = sleep_until(entry.mandatory_at().max(Instant::now())) => {}
        }
    }
}
