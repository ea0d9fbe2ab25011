//! `POST /v1/ilab/{app}/sessions/{un}/results`: a student's result (§1.4), delivered
//! exactly once.
//!
//! The body is the `data_upload` record; `username`, `appid` and `originId` may be left
//! out (the agent fills in the first two, and makes an `originId` once). The agent hands
//! it to the library's [`Reporter`](tokenkit_ilab::Reporter): kept pending in the store
//! before it is sent, retried with the same `originId` (the platform keeps one record
//! per `originId`), removed only after `code 0`. The answer says where the record is:
//!
//! | status | `result.failure` | the record is |
//! | --- | --- | --- |
//! | 200 | | delivered (`delivered`: its `originId`); the user's other pending records were tried too |
//! | 503 | `pending` | kept; the agent delivers it later (its flush, every `agent.flush_ms`) |
//! | 409 | `undeliverable` | kept for the user's next launch, whose session delivers it |
//! | 502 | `refused` | kept, marked refused, until `DELETE …/results/{originId}` takes it |
//! | 503 | `not_kept` | neither delivered nor kept (the store failed): send it again, same `originId` |
//!
//! Every failure answer carries the record (`result.record`, with its `originId`), so
//! nothing is lost even when the store is not.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tokenkit_ilab::{ExperimentResult, Failure, UploadError};

use super::ilab::{experiment, registry};
use super::{AgentState, Handled, Waited, answer, detached};

pub async fn upload(
    State(state): State<AgentState>,
    Path((app, un)): Path<(String, String)>,
    body: Bytes,
) -> Handled {
    let runtime = state.runtime();
    let experiment = experiment(&runtime.ilab, &app)?;
    let record = ExperimentResult::from_json(&body)
        .map_err(|invalid| answer::bad_request(&invalid.to_string()))?;
    let owner = Arc::clone(experiment);
    // Uploads retry on their own (bounded attempts and backoff); a caller that goes
    // away leaves the record pending, never half-sent.
    let waited = detached(None, async move {
        let reporter = registry(&owner)?.reporter_for(&un).await?;
        let uploaded = reporter.upload(record).await;
        let others = match &uploaded {
            Ok(_) => Some(reporter.flush().await),
            Err(_) => None,
        };
        Ok((uploaded, others))
    })
    .await;
    Ok(match waited {
        Waited::Done(Ok((Ok(receipt), others))) => {
            experiment.stats.results_delivered.add();
            if let Some(Ok(report)) = &others {
                experiment
                    .stats
                    .results_delivered
                    .add_n(report.delivered.len());
            }
            let (delivered, failed) = match others {
                Some(Ok(report)) => (
                    report
                        .delivered
                        .iter()
                        .map(|r| json!(r.origin_id))
                        .collect(),
                    report.failed.iter().map(failed_json).collect(),
                ),
                _ => (Vec::new(), Vec::new()),
            };
            let body = json!({
                "delivered": receipt.origin_id,
                "code": 0,
                "msg": receipt.message,
                "pending_delivered": delivered,
                "pending_failed": failed,
            });
            answer::json_response(StatusCode::OK, &body)
        }
        Waited::Done(Ok((Err(failed), _))) => {
            if failed.failure() != Failure::NotKept {
                experiment.stats.results_kept.add();
            }
            not_delivered(&failed)
        }
        Waited::Done(Err(error)) => answer::failure(&error),
        Waited::TimedOut(wait) => answer::still_waiting(wait),
    })
}

pub async fn discard(
    State(state): State<AgentState>,
    Path((app, un, origin_id)): Path<(String, String, String)>,
) -> Handled {
    let runtime = state.runtime();
    let experiment = experiment(&runtime.ilab, &app)?;
    let owner = Arc::clone(experiment);
    let id = origin_id.clone();
    let waited = detached(None, async move {
        let reporter = registry(&owner)?.reporter_for(&un).await?;
        let record = reporter
            .pending()
            .await?
            .into_iter()
            .find(|r| r.origin_id() == id);
        if record.is_some() {
            reporter.discard(&id).await?;
        }
        Ok(record)
    })
    .await;
    Ok(match waited {
        Waited::Done(Ok(Some(record))) => answer::json_response(
            StatusCode::OK,
            &json!({ "discarded": origin_id, "record": record.to_json() }),
        ),
        Waited::Done(Ok(None)) => {
            answer::not_found(&format!("no pending result {origin_id:?} for this user"))
        }
        Waited::Done(Err(error)) => answer::failure(&error),
        Waited::TimedOut(wait) => answer::still_waiting(wait),
    })
}

/// A record that was not delivered: the error, and the record with where it is now.
fn not_delivered(failed: &UploadError) -> Response {
    let (status, kind) = match failed.failure() {
        Failure::Undeliverable => (StatusCode::CONFLICT, "reauth_required"),
        Failure::Refused => (StatusCode::BAD_GATEWAY, "platform_error"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let mut body = answer::error_body(failed.error(), kind, failed.to_string());
    body["result"] = failed_json(failed);
    answer::with_status(status, &body)
}

/// A record that was not delivered, whole: never dropped silently.
fn failed_json(failed: &UploadError) -> Value {
    json!({
        "origin_id": failed.record().origin_id(),
        "failure": match failed.failure() {
            Failure::Pending => "pending",
            Failure::Undeliverable => "undeliverable",
            Failure::Refused => "refused",
            _ => "not_kept",
        },
        "error": failed.to_string(),
        "record": failed.record().to_json(),
    })
}
