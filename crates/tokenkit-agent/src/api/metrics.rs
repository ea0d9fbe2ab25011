//! `GET /metrics`: the Prometheus text format (version 0.0.4).
//!
//! Counters per grant (label `grant`, and `platform`; ilab experiments are labelled
//! with the experiment's name and `platform="ilab"`, and have no fetch or refresh
//! counters: their sessions' budgets are a gauge):
//!
//! - `tokenkit_agent_cache_hits_total`: token requests answered from the cache at once;
//! - `tokenkit_agent_cache_waits_total`: token requests that waited for a fetch or refresh;
//! - `tokenkit_agent_request_errors_total`: token requests answered with an error;
//! - `tokenkit_agent_refused_total`: refusals reported;
//! - `tokenkit_agent_fetches_total`, `tokenkit_agent_fetch_failures_total`: logins (ac),
//!   session starts (bo), including tokens adopted from another process's login;
//! - `tokenkit_agent_refreshes_total`, `tokenkit_agent_refresh_failures_total`;
//! - `tokenkit_agent_ilab_exchanges_total`, `tokenkit_agent_ilab_exchange_failures_total`;
//! - `tokenkit_agent_ilab_results_delivered_total`, `tokenkit_agent_ilab_results_kept_total`.
//!
//! Gauges: `tokenkit_agent_token_expires_in_seconds` (per grant with a token),
//! `tokenkit_agent_ilab_sessions`, and `tokenkit_agent_ilab_refreshes_spent` (of the
//! live sessions' budgets: each grant has 2).
//!
//! Grant names are limited to `[A-Za-z0-9._-]`, so labels need no escaping.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AgentState;
use crate::stats::{Counter, Stats};

/// Which rows a counter has: an experiment's fetches and refreshes happen inside its
/// sessions' caches (its budget is the `ilab_refreshes_spent` gauge instead), and only
/// experiments exchange tickets.
#[derive(Clone, Copy, PartialEq)]
enum Of {
    Both,
    Grants,
    Experiments,
}

type Pick = fn(&Stats) -> &Counter;

const COUNTERS: [(&str, &str, Of, Pick); 12] = [
    (
        "cache_hits_total",
        "Token requests answered from the cache at once.",
        Of::Both,
        |s| &s.hits,
    ),
    (
        "cache_waits_total",
        "Token requests that waited for a fetch or a refresh.",
        Of::Both,
        |s| &s.waits,
    ),
    (
        "request_errors_total",
        "Token requests answered with an error.",
        Of::Both,
        |s| &s.errors,
    ),
    (
        "refused_total",
        "Refused tokens reported by callers.",
        Of::Both,
        |s| &s.refused,
    ),
    (
        "fetches_total",
        "Fetches: logins, session starts, or tokens adopted from another process's login.",
        Of::Grants,
        |s| &s.fetches,
    ),
    (
        "fetch_failures_total",
        "Fetches that failed.",
        Of::Grants,
        |s| &s.fetch_failures,
    ),
    (
        "refreshes_total",
        "Refreshes and renewals.",
        Of::Grants,
        |s| &s.refreshes,
    ),
    (
        "refresh_failures_total",
        "Refreshes and renewals that failed.",
        Of::Grants,
        |s| &s.refresh_failures,
    ),
    (
        "ilab_exchanges_total",
        "Launch tickets exchanged for a session.",
        Of::Experiments,
        |s| &s.exchanges,
    ),
    (
        "ilab_exchange_failures_total",
        "Ticket exchanges that failed.",
        Of::Experiments,
        |s| &s.exchange_failures,
    ),
    (
        "ilab_results_delivered_total",
        "Results the platform acknowledged, at once or later from the store.",
        Of::Experiments,
        |s| &s.results_delivered,
    ),
    (
        "ilab_results_kept_total",
        "Results answered as kept in the store (pending, undeliverable or refused).",
        Of::Experiments,
        |s| &s.results_kept,
    ),
];

pub async fn metrics(State(state): State<AgentState>) -> Response {
    let runtime = state.runtime();
    let mut grants: Vec<_> = runtime.grants.values().collect();
    grants.sort_by(|a, b| a.name.cmp(&b.name));
    let mut experiments: Vec<_> = runtime.ilab.values().collect();
    experiments.sort_by(|a, b| a.name.cmp(&b.name));
    let rows: Vec<(&str, &str, &Stats, Of)> = grants
        .iter()
        .map(|g| (g.name.as_str(), g.platform, &*g.stats, Of::Grants))
        .chain(
            experiments
                .iter()
                .map(|e| (e.name.as_str(), "ilab", &*e.stats, Of::Experiments)),
        )
        .collect();

    let mut out = String::new();
    for (metric, help, of, pick) in COUNTERS {
        family(&mut out, metric, help, "counter");
        for (name, platform, stats, kind) in &rows {
            if of == Of::Both || of == *kind {
                sample(&mut out, metric, name, platform, pick(stats).get());
            }
        }
    }
    family(
        &mut out,
        "token_expires_in_seconds",
        "Seconds the grant's current token has left.",
        "gauge",
    );
    for grant in &grants {
        let current = grant
            .cache()
            .ok()
            .and_then(|c| c.subscribe().borrow().clone());
        if let Some(entry) = current {
            let left = entry.token().remaining().as_secs();
            sample(
                &mut out,
                "token_expires_in_seconds",
                &grant.name,
                grant.platform,
                left,
            );
        }
    }
    let sessions: Vec<_> = experiments
        .iter()
        .filter_map(|e| Some((e.name.as_str(), e.registry().ok()?.sessions())))
        .collect();
    family(
        &mut out,
        "ilab_sessions",
        "Live sessions of the experiment.",
        "gauge",
    );
    for (name, live) in &sessions {
        sample(&mut out, "ilab_sessions", name, "ilab", live.len() as u64);
    }
    family(
        &mut out,
        "ilab_refreshes_spent",
        "Refreshes spent of the live sessions' budgets (2 each).",
        "gauge",
    );
    for (name, live) in &sessions {
        let spent = live.iter().map(|s| u64::from(s.refreshes_spent())).sum();
        sample(&mut out, "ilab_refreshes_spent", name, "ilab", spent);
    }
    let mut response = (StatusCode::OK, out).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn family(out: &mut String, metric: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP tokenkit_agent_{metric} {help}");
    let _ = writeln!(out, "# TYPE tokenkit_agent_{metric} {kind}");
}

fn sample(out: &mut String, metric: &str, grant: &str, platform: &str, value: u64) {
    let _ = writeln!(
        out,
        "tokenkit_agent_{metric}{{grant=\"{grant}\",platform=\"{platform}\"}} {value}"
    );
}
