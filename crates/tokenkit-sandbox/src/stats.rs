//! Request counters and outcome counters, served at `GET /_sandbox/stats` as
//! `{"requests": {"<platform>.<route>": n}, "outcomes": {"<platform>.<outcome>": n}}`.
//!
//! `requests` counts what reached a route (every platform route is counted by
//! `faults.rs`); `outcomes` counts what a route did with it, where the route alone does
//! not say (an ilab upload that stored a new record or replaced one). The two are kept
//! apart so a request counter never mixes with counts that are not requests.
//!
//! Each map is bounded ([`Stats::MAX_NAMES`] names, plus [`Stats::OVERFLOW`]): names
//! come from request paths, and a route with a capture would otherwise add one key per
//! distinct path a client sends, for as long as the sandbox runs.

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
    /// The most names each map (requests, outcomes) holds; a name first seen once
    /// the map is full is counted under [`OVERFLOW`](Self::OVERFLOW). Far more than
    /// the sandbox's own routes and outcomes use.
    pub const MAX_NAMES: usize = 256;

    /// The longest name counted under its own key, in bytes; a longer one is counted
    /// under [`OVERFLOW`](Self::OVERFLOW).
    pub const MAX_NAME_LEN: usize = 64;

    /// The key of what was not counted under its own name: names past
    /// [`MAX_NAMES`](Self::MAX_NAMES) or longer than
    /// [`MAX_NAME_LEN`](Self::MAX_NAME_LEN).
    ///
    /// ```
    /// use tokenkit_sandbox::Stats;
    /// let stats = Stats::default();
    /// for n in 0..Stats::MAX_NAMES + 10 {
    ///     stats.hit(&format!("demo.item{n}"));
    /// }
    /// assert_eq!(stats.get(Stats::OVERFLOW), 10);
    /// assert_eq!(stats.snapshot()["requests"].as_object().map(|m| m.len()), Some(Stats::MAX_NAMES + 1));
    /// ```
    pub const OVERFLOW: &'static str = "_overflow";

    /// Counts one request to `route` (`"ilab.accesstoken"`).
    pub fn hit(&self, route: &str) {
        bump(&self.counts, route);
    }

    /// The count of `route` (0 for a name that was counted under
    /// [`OVERFLOW`](Self::OVERFLOW)).
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
    if let Some(count) = map.get_mut(name) {
        *count += 1;
        return;
    }
    let named = map.len() - usize::from(map.contains_key(Stats::OVERFLOW));
    let key = if named < Stats::MAX_NAMES && name.len() <= Stats::MAX_NAME_LEN {
        name
    } else {
        Stats::OVERFLOW
    };
    *map.entry(key.to_owned()).or_default() += 1;
}

fn read(map: &Mutex<BTreeMap<String, u64>>, name: &str) -> u64 {
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
        .copied()
        .unwrap_or(0)
}
