//! The HTTP API, versioned under `/v1` (JSON), and `/metrics` (Prometheus text).
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/grants/{name}/token` | the grant's token |
//! | `POST /v1/grants/{name}/refused` `{"token": "…"}` | the token after a refusal: renewed once for all callers |
//! | `POST /v1/ilab/{app}/sessions` `{"ticket": "…"}` or `{"launch_url": "…"}` | 201: the user's identity and token |
//! | `GET /v1/ilab/{app}/sessions/{un}/token` | the user's token |
//! | `POST /v1/ilab/{app}/sessions/{un}/refused` `{"token": "…"}` | as for grants |
//! | `POST /v1/ilab/{app}/sessions/{un}/results` (a §1.4 record) | the record delivered exactly once, or where it is kept |
//! | `DELETE /v1/ilab/{app}/sessions/{un}/results/{originId}` | a kept record, taken back by the application |
//! | `GET /v1/health` | each grant: `ok`, `starting`, `degraded`, `reauth_required`, `misconfigured` |
//! | `GET /metrics` | counters and gauges per grant |
//!
//! Every `/v1` request must carry `Tokenkit-Agent: 1` ([`crate::protect`]).
//!
//! Work that calls a platform (a fetch, a refresh, a ticket exchange) runs on a task of
//! its own: a caller that gives up or disconnects never cancels a refresh half-way (an
//! ilab refresh whose outcome is unknown is a refresh lost).

// A handler's early answer is an `Err(Response)` that is sent at once: boxing it would
// only add an allocation to the error paths.
#![allow(clippy::result_large_err)]

pub mod answer;
mod grants;
mod health;
mod ilab;
mod metrics;
mod results;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tokenkit_core::Error;

use crate::protect::{self, Transport};
use crate::runtime::Runtime;

/// The largest request body (a ticket, a refused token).
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler sees: the runtime of the current config (swapped on reload).
#[derive(Debug, Clone)]
pub struct AgentState {
    runtime: Arc<ArcSwap<Runtime>>,
}

impl AgentState {
    /// A state serving `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime: Arc::new(ArcSwap::from_pointee(runtime)),
        }
    }

    /// The runtime now.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Serves `next` from now on; returns the one it replaces.
    pub fn swap(&self, next: Runtime) -> Arc<Runtime> {
        self.runtime.swap(Arc::new(next))
    }
}

/// The router of one listener.
pub fn router(state: AgentState, transport: Transport) -> Router {
    let v1 = Router::new()
        .route("/v1/grants/{name}/token", get(grants::token))
        .route("/v1/grants/{name}/refused", post(grants::refused))
        .route("/v1/ilab/{app}/sessions", post(ilab::launch))
        .route("/v1/ilab/{app}/sessions/{un}/token", get(ilab::token))
        .route("/v1/ilab/{app}/sessions/{un}/refused", post(ilab::refused))
        .route(
            "/v1/ilab/{app}/sessions/{un}/results",
            post(results::upload),
        )
        .route(
            "/v1/ilab/{app}/sessions/{un}/results/{origin_id}",
            axum::routing::delete(results::discard),
        )
        .route("/v1/health", get(health::health))
        .route_layer(axum::middleware::from_fn(protect::require_agent_header));
    Router::new()
        .merge(v1)
        .route("/metrics", get(metrics::metrics))
        .fallback(|| async { answer::not_found("no such route: see docs/agent.md") })
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), transport),
            protect::guard_transport,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// What a handler answers: an early answer (a lookup or body that fails) is the `Err`,
/// so handlers can use `?`; both sides are sent as they are.
pub type Handled = Result<Response, Response>;

/// How a detached piece of work ended for the caller who waited for it.
pub enum Waited<T> {
    /// It finished.
    Done(Result<T, Error>),
    /// The caller stopped waiting; the work goes on.
    TimedOut(Duration),
}

/// Runs `work` on its own task and waits for it at most `wait` (`None`: until done).
pub async fn detached<T, F>(wait: Option<Duration>, work: F) -> Waited<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let task = tokio::spawn(work);
    let joined = match wait {
        Some(wait) => match tokio::time::timeout(wait, task).await {
            Ok(joined) => joined,
            Err(_) => return Waited::TimedOut(wait),
        },
        None => task.await,
    };
    Waited::Done(joined.unwrap_or_else(|e| {
        Err(Error::config(format!(
            "the agent's task for this request ended abnormally ({e})"
        )))
    }))
}

/// A JSON body of type `T`, or the 400 answer saying what is wrong with it.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let why = format!(
            "the body is not the JSON object this route takes: {}",
            tokenkit_core::unquoted(&e.to_string())
        );
        answer::bad_request(&why)
    })
}
