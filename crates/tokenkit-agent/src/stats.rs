//! What the agent counts per grant and per ilab experiment, for `/metrics` and
//! `/v1/health`. Plain atomics: counting adds no lock to the token path.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokenkit_core::Error;

/// Counters of one grant (or one ilab experiment).
#[derive(Debug, Default)]
pub struct Stats {
    /// Token requests answered from the cache at once.
    pub hits: Counter,
    /// Token requests that waited for a fetch or refresh.
    pub waits: Counter,
    /// Token requests answered with an error.
    pub errors: Counter,
    /// Reports of a refused token.
    pub refused: Counter,
    /// Calls of the provider's fetch (a login, a session start, or a token adopted
    /// from another process's login).
    pub fetches: Counter,
    /// Calls of the provider's refresh (ac `tokens/next`, bo refresh, ilab refresh).
    pub refreshes: Counter,
    /// Fetches that failed.
    pub fetch_failures: Counter,
    /// Refreshes that failed.
    pub refresh_failures: Counter,
    /// ilab: tickets exchanged for a session.
    pub exchanges: Counter,
    /// ilab: exchanges that failed.
    pub exchange_failures: Counter,
    /// ilab: results the platform acknowledged (at once, or later from the store).
    pub results_delivered: Counter,
    /// ilab: results answered as kept in the store (pending, undeliverable, refused).
    pub results_kept: Counter,
    last_error: Mutex<Option<LastError>>,
}

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add_n(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The last failure of a grant, as `/v1/health` shows it.
#[derive(Debug, Clone)]
pub struct LastError {
    /// The error's text (never a secret: the errors hold none).
    pub message: String,
    /// Whether only new credentials or a relaunch can help.
    pub reauth: bool,
}

impl Stats {
    /// Remembers a failure.
    pub fn failed(&self, error: &Error) {
        *self.lock() = Some(LastError {
            message: error.to_string(),
            reauth: error.is_reauth_required(),
        });
    }

    /// Forgets the last failure (a token was had since).
    pub fn succeeded(&self) {
        let mut last = self.lock();
        if last.is_some() {
            *last = None;
        }
    }

    /// The last failure, if no success came after it.
    pub fn last_error(&self) -> Option<LastError> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<LastError>> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner())
    }
}
