//! `GET /v1/health`: how each grant and experiment is doing, without any token.
//!
//! A grant is `starting` (no token yet, no failure yet), `ok`, `degraded` (its last
//! fetch or refresh failed: the last error says why; a token may still be served),
//! `reauth_required` (only new credentials help) or `misconfigured` (its config or
//! secrets are unusable: fix them, then `SIGHUP`). The agent's own `status` is `ok`
//! when every grant is; the answer is 200 either way, since the agent serves the
//! grants that work.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{AgentState, answer};
use crate::grant::Grant;
use crate::ilab_app::Experiment;
use crate::stats::Stats;

pub async fn health(State(state): State<AgentState>) -> Response {
    let runtime = state.runtime();
    let mut all_ok = true;
    let mut grants = Map::new();
    let mut names: Vec<&String> = runtime.grants.keys().collect();
    names.sort();
    for name in names {
        let grant = &runtime.grants[name];
        let report = grant_report(grant);
        all_ok &= report["status"] == "ok";
        grants.insert(name.clone(), report);
    }
    let mut ilab = Map::new();
    let mut names: Vec<&String> = runtime.ilab.keys().collect();
    names.sort();
    for name in names {
        let report = experiment_report(&runtime.ilab[name]);
        all_ok &= report["status"] == "ok";
        ilab.insert(name.clone(), report);
    }
    let body = json!({
        "status": if all_ok { "ok" } else { "degraded" },
        "grants": grants,
        "ilab": ilab,
    });
    answer::json_response(StatusCode::OK, &body)
}

fn grant_report(grant: &Grant) -> Value {
    let cache = match grant.cache() {
        Ok(cache) => cache,
        Err(error) => {
            return json!({
                "platform": grant.platform,
                "status": "misconfigured",
                "last_error": error.to_string(),
            });
        }
    };
    let current = cache.subscribe().borrow().clone();
    let valid = current
        .as_ref()
        .filter(|e| !e.token().expiry().is_expired());
    let status = status(&grant.stats, valid.is_some());
    json!({
        "platform": grant.platform,
        "status": status,
        "expires_in": valid.map(|e| e.token().remaining().as_secs()),
        "refreshes_spent": current.as_ref().map(|e| e.token().grant().refreshes_spent),
        "last_error": grant.stats.last_error().map(|e| e.message),
    })
}

fn experiment_report(experiment: &Experiment) -> Value {
    match experiment.registry() {
        Ok(registry) => json!({
            "platform": "ilab",
            "status": "ok",
            "sessions": registry.len(),
            "last_error": experiment.stats.last_error().map(|e| e.message),
        }),
        Err(error) => json!({
            "platform": "ilab",
            "status": "misconfigured",
            "last_error": error.to_string(),
        }),
    }
}

/// A grant's status from its last failure and whether it has a valid token.
fn status(stats: &Stats, has_valid_token: bool) -> &'static str {
    match stats.last_error() {
        Some(error) if error.reauth => "reauth_required",
        Some(_) => "degraded",
        None if has_valid_token => "ok",
        None => "starting",
    }
}
