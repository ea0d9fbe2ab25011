//! `GET /v1/grants/{name}/token` and `POST /v1/grants/{name}/refused`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use tokenkit_core::{AccessToken, CachedToken, TokenCache};

use super::{AgentState, Handled, Waited, answer, detached, json_body};
use crate::grant::Grant;
use crate::stats::Stats;

/// The body of a refusal report: the token the platform just refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refused {
    token: String,
}

impl Refused {
    /// The refused token as a secret; a 400 answer for an empty one.
    pub fn parse(body: &[u8]) -> Result<AccessToken, Response> {
        let refused: Self = json_body(body)?;
        if refused.token.is_empty() {
            return Err(answer::bad_request(
                "give the refused token: {\"token\": \"…\"}",
            ));
        }
        Ok(AccessToken::new(refused.token))
    }
}

pub async fn token(State(state): State<AgentState>, Path(name): Path<String>) -> Handled {
    let runtime = state.runtime();
    let (grant, cache) = grant(&runtime.grants, &name)?;
    if let Some(token) = cache.cached() {
        grant.stats.hits.add();
        return Ok(answer::token(&grant.name, grant.platform, &token));
    }
    grant.stats.waits.add();
    let cache = Arc::clone(cache);
    let wait = runtime.config.agent.wait();
    let waited = detached(Some(wait), async move {
        cache.token().await.map(|t| t.to_arc())
    })
    .await;
    Ok(answer_with(grant, waited))
}

pub async fn refused(
    State(state): State<AgentState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Handled {
    let runtime = state.runtime();
    let (grant, cache) = grant(&runtime.grants, &name)?;
    let refused = Refused::parse(&body)?;
    grant.stats.refused.add();
    let cache = Arc::clone(cache);
    let wait = runtime.config.agent.wait();
    let waited = detached(Some(wait), async move {
        cache.refused(&refused).await.map(|t| t.to_arc())
    })
    .await;
    Ok(answer_with(grant, waited))
}

/// The grant and its cache, or the answer saying why there is none.
fn grant<'a>(
    grants: &'a std::collections::HashMap<String, Arc<Grant>>,
    name: &str,
) -> Result<(&'a Grant, &'a Arc<TokenCache>), Response> {
    let Some(grant) = grants.get(name) else {
        return Err(answer::not_found(&format!(
            "no grant named {name:?} in the agent's config"
        )));
    };
    match grant.cache() {
        Ok(cache) => Ok((grant, cache)),
        Err(error) => {
            grant.stats.errors.add();
            Err(answer::failure(error))
        }
    }
}

fn answer_with(grant: &Grant, waited: Waited<Arc<CachedToken>>) -> Response {
    answer_waited(&grant.stats, &grant.name, grant.platform, waited)
}

/// The answer to a wait for a token, counted.
pub fn answer_waited(
    stats: &Stats,
    name: &str,
    platform: &str,
    waited: Waited<Arc<CachedToken>>,
) -> Response {
    match waited {
        Waited::Done(Ok(entry)) => answer::token(name, platform, entry.token()),
        Waited::Done(Err(error)) => {
            stats.errors.add();
            stats.failed(&error);
            answer::failure(&error)
        }
        Waited::TimedOut(wait) => {
            stats.errors.add();
            answer::still_waiting(wait)
        }
    }
}
