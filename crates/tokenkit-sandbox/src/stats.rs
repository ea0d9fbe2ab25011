//! Request counters and outcome counters, served at `GET /_sandbox/stats` as
//! `{"requests": {"<platform>.<route>": n}, "outcomes": {"<platform>.<outcome>": n}}`.
//!
//! `requests` counts what reached a route (every platform route is counted by
//! `faults.rs`); `outcomes` counts what a route did with it, where the route alone does
//! not say (an ilab upload that stored a new record or replaced one). The two are kept
//! apart so a request counter never mixes with counts that are not requests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Counts requests per route, and outcomes of routes.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<String, u64>>,
    outcomes: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts one request to `route` (`"ilab.accesstoken"`).
    pub fn hit(&self, route: &str) {
        bump(&self.counts, route);
    }

    /// The count of `route`.
    pub fn get(&self, route: &str) -> u64 {
        read(&self.counts, route)
    }

    /// Counts one `outcome` (`"ilab.uploads_stored"`).
    pub fn record_outcome(&self, outcome: &str) {
        bump(&self.outcomes, outcome);
    }

    /// The count of `outcome`.
    ///
    /// ```
    /// let stats = tokenkit_sandbox::Stats::default();
    /// stats.record_outcome("ilab.uploads_stored");
    /// assert_eq!(stats.outcome("ilab.uploads_stored"), 1);
    /// assert_eq!(stats.snapshot()["outcomes"]["ilab.uploads_stored"], 1);
    /// ```
    pub fn outcome(&self, outcome: &str) -> u64 {
        read(&self.outcomes, outcome)
    }

    /// `{"requests": {...}, "outcomes": {...}}`.
    pub fn snapshot(&self) -> Value {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let outcomes = self
            .outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        json!({ "requests": counts, "outcomes": outcomes })
    }
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, name: &str) {
    // A counter is one map operation: a poisoned map is still consistent.
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry(name.to_owned()).or_default() += 1;
}

fn read(map: &Mutex<BTreeMap<String, u64>>, name: &str) -> u64 {
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
        .copied()
        .unwrap_or(0)
}
