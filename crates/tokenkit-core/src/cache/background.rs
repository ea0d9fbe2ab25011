//! The background task: advisory refreshes ahead of expiry, retried with backoff while
//! the current token stays valid, never making a caller wait.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::{Instant, sleep_until};

use super::refresh::Attempt;
use super::{CachedToken, Shared};
use crate::Error;

/// The task that performs advisory refreshes, owned by the cache (aborted on drop).
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        shared.wake.notified().await;
        loop {
            let Some(entry) = shared.current.load_full() else {
                break;
            };
            let now = Instant::now();
            if now < entry.advisory_at() || !entry.is_valid_at(now) {
                // Refreshed meanwhile, or expired: callers take over.
                break;
            }
            let _ = shared.acquire_background(&entry).await;
            match shared.next_background_retry(&entry).await {
                Some(at) => sleep_until(at).await,
                None => break,
            }
        }
        shared.background_pending.store(false, Ordering::Release);
    }
}

impl Shared {
    /// An advisory refresh: like `acquire`, but never waits for another lease holder.
    async fn acquire_background(&self, entry: &CachedToken) -> Result<(), Error> {
        let mut flight = self.flight.lock().await;
        let current = self.current.load_full();
        if current
            .as_ref()
            .is_none_or(|c| c.generation() != entry.generation())
        {
            return Ok(());
        }
        if flight
            .failure
            .as_ref()
            .is_some_and(|f| f.generation == entry.generation() && Instant::now() < f.retry_at)
        {
            return Ok(());
        }
        match self.attempt(Some(entry), None).await {
            Ok(Attempt::Done) => {
                flight.failure = None;
                flight.failures_in_a_row = 0;
                Ok(())
            }
            Ok(Attempt::Busy | Attempt::Raced) => Ok(()),
            Err(error) => {
                let retry_at =
                    self.record_failure(&mut flight, &error, Some(entry), entry.generation());
                tracing::warn!(key = %self.config.key, %error, retry_in_ms = retry_at.saturating_duration_since(Instant::now()).as_millis() as u64, "background token refresh failed; serving the current token");
                Err(error)
            }
        }
    }

    /// When the background task should look again, if at all.
    async fn next_background_retry(&self, entry: &CachedToken) -> Option<Instant> {
        let current = self.current.load_full()?;
        if current.generation() != entry.generation() && Instant::now() < current.advisory_at() {
            return None;
        }
        let flight = self.flight.lock().await;
        match &flight.failure {
            Some(f) if f.retry_at < current.expiry().deadline() => Some(f.retry_at),
            Some(_) => None,
            // Another holder is refreshing: look at the store again shortly.
            None => Some(Instant::now() + self.config.poll_interval.mul_f64(2.0 + fastrand::f64())),
        }
    }
}
