//! The contract of the three `POST /_sandbox/<platform>/revoke` admin routes: body
//! `{"token": "…"}`, answer `{"revoked": true|false}` with HTTP 200, or HTTP 400 when
//! the body has no string `token`.
//!
//! Revocation is how a test makes a platform refuse a token its client still believes
//! valid (the platform's side of a logout, a password change, an operator's kill
//! switch). Each platform decides what "revoked" means for its tokens; this file only
//! keeps the admin surface identical across them.

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Parses `body`, hands the token to `revoke` (which answers whether it was a live
/// token of the platform) and shapes the answer.
///
/// The body is read as raw bytes rather than through axum's `Json` extractor, so a
/// missing `Content-Type` or a malformed body is a 400 of ours, not a 415/422 of axum's.
pub(crate) fn respond(body: &Bytes, revoke: impl FnOnce(&str) -> bool) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let Some(token) = parsed
        .as_ref()
        .and_then(|v| v.get("token"))
        .and_then(Value::as_str)
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "the body must be {\"token\": \"<token>\"}"})),
        )
            .into_response();
    };
    let revoked = revoke(token);
    // The token itself is a secret: only the outcome is logged.
    tracing::debug!(revoked, "sandbox revoked a token");
    Json(json!({ "revoked": revoked })).into_response()
}

#[cfg(test)]
mod tests {
    use crate::{Sandbox, SandboxConfig, ac, bo, ilab};

    #[tokio::test]
    async fn every_revoke_route_wants_a_string_token() {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let client = reqwest::Client::new();
        for path in [ac::REVOKE_PATH, ilab::REVOKE_PATH, bo::REVOKE_PATH] {
            for (body, want) in [
                ("", 400),
                ("not json", 400),
                ("{}", 400),
                (r#"{"token": 1}"#, 400),
                (r#"{"token": null}"#, 400),
                (r#"{"token": "unknown"}"#, 200),
            ] {
                let response = client
                    .post(format!("{}{path}", sandbox.base_url()))
                    .body(body)
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(response.status(), want, "{path} {body}");
                let answer: serde_json::Value =
                    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
                if want == 200 {
                    assert_eq!(answer, serde_json::json!({"revoked": false}), "{path}");
                } else {
                    assert!(answer["error"].is_string(), "{path} {body}: {answer}");
                }
            }
        }
        let counted = sandbox.stats().snapshot()["requests"].clone();
        assert_eq!(
            counted,
            serde_json::json!({}),
            "admin is not platform traffic"
        );
    }
}
