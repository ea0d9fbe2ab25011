//! The ilab routes: a session from a launch ticket, and a session's token by `un`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tokenkit_core::{Error, Token};
use tokenkit_ilab::{Session, SessionRegistry, Ticket};

use super::grants::{Refused, answer_waited};
use super::{AgentState, Handled, Waited, answer, detached, json_body};
use crate::ilab_app::Experiment;

const PLATFORM: &str = "ilab";

/// The body of `POST /v1/ilab/{app}/sessions`: the ticket as the web framework decoded
/// it from the launch URL's query, or the whole launch URL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Launch {
    ticket: Option<String>,
    launch_url: Option<String>,
}

impl Launch {
    fn ticket(self) -> Result<Ticket, Response> {
        match (self.ticket, self.launch_url) {
            (Some(ticket), None) if !ticket.is_empty() => Ok(Ticket::new(ticket)),
            (None, Some(url)) => {
                Ticket::from_launch_url(&url).map_err(|e| answer::bad_request(&e.to_string()))
            }
            _ => Err(answer::bad_request(
                "give {\"ticket\": \"…\"} (decoded, as the launch URL's query gave it) or \
                 {\"launch_url\": \"…\"}",
            )),
        }
    }
}

pub async fn launch(
    State(state): State<AgentState>,
    Path(app): Path<String>,
    body: Bytes,
) -> Handled {
    let runtime = state.runtime();
    let experiment = experiment(&runtime.ilab, &app)?;
    let ticket = json_body::<Launch>(&body).and_then(Launch::ticket)?;
    experiment.stats.exchanges.add();
    let owner = Arc::clone(experiment);
    // A ticket is single use: the exchange runs to its end even if the caller goes;
    // its own HTTP timeouts bound it.
    let waited = detached(None, async move {
        let session = registry(&owner)?.launch(ticket).await?;
        let token = session.token().await?.to_owned_token();
        // Results the user's earlier grant could not deliver wait for this one.
        owner.deliver_pending(session.un());
        Ok((session, token))
    })
    .await;
    Ok(match waited {
        Waited::Done(Ok((session, token))) => launched(&experiment.name, &session, &token),
        Waited::Done(Err(error)) => {
            experiment.stats.exchange_failures.add();
            experiment.stats.failed(&error);
            answer::failure(&error)
        }
        Waited::TimedOut(wait) => answer::still_waiting(wait),
    })
}

pub async fn token(
    State(state): State<AgentState>,
    Path((app, un)): Path<(String, String)>,
) -> Handled {
    let runtime = state.runtime();
    let experiment = experiment(&runtime.ilab, &app)?;
    let stats = &experiment.stats;
    if let Some(token) = registry(experiment)
        .ok()
        .and_then(|r| r.get(&un))
        .and_then(|session| session.cache().cached())
    {
        stats.hits.add();
        return Ok(answer::token(&experiment.name, PLATFORM, &token));
    }
    stats.waits.add();
    let owner = Arc::clone(experiment);
    let wait = runtime.config.agent.wait();
    let waited = detached(Some(wait), async move {
        let session = registry(&owner)?.session(&un).await?;
        session.token().await.map(|t| t.to_arc())
    })
    .await;
    Ok(answer_waited(stats, &experiment.name, PLATFORM, waited))
}

pub async fn refused(
    State(state): State<AgentState>,
    Path((app, un)): Path<(String, String)>,
    body: Bytes,
) -> Handled {
    let runtime = state.runtime();
    let experiment = experiment(&runtime.ilab, &app)?;
    let refused = Refused::parse(&body)?;
    experiment.stats.refused.add();
    let owner = Arc::clone(experiment);
    let wait = runtime.config.agent.wait();
    let waited = detached(Some(wait), async move {
        let session = registry(&owner)?.session(&un).await?;
        session.cache().refused(&refused).await.map(|t| t.to_arc())
    })
    .await;
    Ok(answer_waited(
        &experiment.stats,
        &experiment.name,
        PLATFORM,
        waited,
    ))
}

pub(super) fn experiment<'a>(
    experiments: &'a std::collections::HashMap<String, Arc<Experiment>>,
    app: &str,
) -> Result<&'a Arc<Experiment>, Response> {
    let Some(experiment) = experiments.get(app) else {
        return Err(answer::not_found(&format!(
            "no ilab experiment named {app:?} in the agent's config"
        )));
    };
    if let Err(error) = experiment.registry() {
        experiment.stats.errors.add();
        return Err(answer::failure(error));
    }
    Ok(experiment)
}

pub(super) fn registry(experiment: &Experiment) -> Result<&SessionRegistry, Error> {
    experiment.registry().map_err(Clone::clone)
}

/// 201: the user's identity (`un`, `dis`) with the token fields.
fn launched(app: &str, session: &Session, token: &Token) -> Response {
    let mut body = answer::token_body(app, PLATFORM, token);
    body["un"] = json!(session.un());
    body["dis"] = json!(session.display_name());
    answer::json_response(StatusCode::CREATED, &body)
}
