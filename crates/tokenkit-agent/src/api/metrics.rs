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
//! - `tokenkit_agent_ilab_exchanges_total`, `tokenkit_agent_ilab_exchange_failures_total`.
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

type Pick = fn(&Stats) -> &Counter;

/// The first counters of [`COUNTERS`] count requests; the others, provider calls.
const REQUEST_COUNTERS: usize = 4;

const COUNTERS: [(&str, &str, Pick); 8] = [
    (
        "cache_hits_total",
        "Token requests answered from the cache at once.",
        |s| &s.hits,
    ),
    (
        "cache_waits_total",
        "Token requests that waited for a fetch or a refresh.",
        |s| &s.waits,
    ),
    (
        "request_errors_total",
        "Token requests answered with an error.",
        |s| &s.errors,
    ),
    (
        "refused_total",
        "Refused tokens reported by callers.",
        |s| &s.refused,
    ),
    (
        "fetches_total",
        "Fetches: logins, session starts, or tokens adopted from another process's login.",
        |s| &s.fetches,
    ),
    ("fetch_failures_total", "Fetches that failed.", |s| {
        &s.fetch_failures
    }),
    ("refreshes_total", "Refreshes and renewals.", |s| {
        &s.refreshes
    }),
    (
        "refresh_failures_total",
        "Refreshes and renewals that failed.",
        |s| &s.refresh_failures,
    ),
];

pub async fn metrics(State(state): State<AgentState>) -> Response {
    let runtime = state.runtime();
    let mut rows: Vec<(&str, &str, &Stats)> = runtime
        .grants
        .values()
        .map(|g| (g.name.as_str(), g.platform, &*g.stats))
        .chain(
            runtime
                .ilab
                .values()
                .map(|e| (e.name.as_str(), "ilab", &*e.stats)),
        )
        .collect();
    rows.sort_by_key(|(name, platform, _)| (*platform, *name));
    let mut out = String::new();
    for (i, (metric, help, pick)) in COUNTERS.into_iter().enumerate() {
        family(&mut out, metric, help, "counter");
        for (name, platform, stats) in &rows {
            // An experiment's fetches and refreshes happen inside its sessions' caches:
            // its budget is the `ilab_refreshes_spent` gauge instead.
            if i >= REQUEST_COUNTERS && *platform == "ilab" {
                continue;
            }
            sample(&mut out, metric, name, platform, pick(stats).get());
        }
    }
    let ilab_counters: [(&str, &str, Pick); 2] = [
        (
            "ilab_exchanges_total",
            "Launch tickets exchanged for a session.",
            |s| &s.exchanges,
        ),
        (
            "ilab_exchange_failures_total",
            "Ticket exchanges that failed.",
            |s| &s.exchange_failures,
        ),
    ];
    for (metric, help, pick) in ilab_counters {
        family(&mut out, metric, help, "counter");
        for experiment in runtime.ilab.values() {
            sample(
                &mut out,
                metric,
                &experiment.name,
                "ilab",
                pick(&experiment.stats).get(),
            );
        }
    }
    family(
        &mut out,
        "token_expires_in_seconds",
        "Seconds the grant's current token has left.",
        "gauge",
    );
    for grant in runtime.grants.values() {
        if let Ok(cache) = grant.cache()
            && let Some(entry) = cache.subscribe().borrow().clone()
        {
            sample(
                &mut out,
                "token_expires_in_seconds",
                &grant.name,
                grant.platform,
                entry.token().remaining().as_secs(),
            );
        }
    }
    family(
        &mut out,
        "ilab_sessions",
        "Live sessions of the experiment.",
        "gauge",
    );
    family(
        &mut out,
        "ilab_refreshes_spent",
        "Refreshes spent of the live sessions' budgets (2 each).",
        "gauge",
    );
    for experiment in runtime.ilab.values() {
        let Ok(registry) = experiment.registry() else {
            continue;
        };
        let sessions = registry.sessions();
        let spent: u64 = sessions
            .iter()
            .map(|s| u64::from(s.refreshes_spent()))
            .sum();
        sample(
            &mut out,
            "ilab_sessions",
            &experiment.name,
            "ilab",
            sessions.len() as u64,
        );
        sample(
            &mut out,
            "ilab_refreshes_spent",
            &experiment.name,
            "ilab",
            spent,
        );
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
