//! Request counters, served at `GET /_sandbox/stats` as
//! `{"requests": {"<platform>.<route>": n}}`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Counts requests per route.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts one request to `route` (`"ilab.accesstoken"`).
    pub fn hit(&self, route: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(route.to_owned()).or_default() += 1;
    }

    /// The count of `route`.
    pub fn get(&self, route: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// `{"requests": {...}}`.
    pub fn snapshot(&self) -> Value {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        json!({ "requests": *counts })
    }
}
