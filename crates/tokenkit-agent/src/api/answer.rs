//! The shapes of the agent's answers: a token, and an error that names its kind (what
//! the caller should do), the platform and the platform's code.
//!
//! | status | `error.kind` | the caller should |
//! | --- | --- | --- |
//! | 400 | `bad_request` | fix the request |
//! | 401 | `unauthorized` | send the TCP bearer secret |
//! | 403 | `forbidden` | send `Tokenkit-Agent: 1` (and a loopback `Host`) |
//! | 404 | `not_found` | use a configured grant or experiment |
//! | 409 | `reauth_required` | get new credentials (ilab: the user relaunches the experiment) |
//! | 500 | `misconfigured` | fix the agent's config (or its store key), then `SIGHUP` it |
//! | 502 | `platform_error` | look at the platform's code and message |
//! | 503 | `unavailable` | retry after `Retry-After` seconds |

use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokenkit_core::{Error, Token, civil};

/// A token as JSON: `grant`, `platform`, `access_token`, `token_type`, `expires_at`
/// (RFC 3339), `expires_in` (whole seconds left), plus `un` and `dis` when the token
/// names its user (ilab).
pub fn token(grant: &str, platform: &str, token: &Token) -> Response {
    json_response(StatusCode::OK, &token_body(grant, platform, token))
}

/// The body of [`token`].
pub fn token_body(grant: &str, platform: &str, token: &Token) -> Value {
    let mut body = json!({
        "grant": grant,
        "platform": platform,
        "access_token": token.access_token().expose_secret(),
        "token_type": token.token_type(),
        "expires_at": rfc3339(token.expiry().wall()),
        "expires_in": token.remaining().as_secs(),
    });
    if let Some(user) = token.user() {
        body["un"] = json!(user.id);
        body["dis"] = json!(user.display_name);
    }
    body
}

/// A JSON answer that no cache keeps.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error answer of one kind.
pub fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ "error": { "kind": kind, "message": message } }),
    )
}

/// A request the agent cannot serve: 404.
pub fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", what)
}

/// A malformed request: 400.
pub fn bad_request(why: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", why)
}

/// No token within the wait: 503 with `Retry-After: 1`.
pub fn still_waiting(waited: Duration) -> Response {
    let message = format!(
        "no token within {:.1}s: the platform has not answered yet; the agent goes on \
         fetching, retry",
        waited.as_secs_f64()
    );
    with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({ "error": { "kind": "unavailable", "message": message } }),
    )
}

/// A tokenkit error as an answer (its text holds no secret).
pub fn failure(error: &Error) -> Response {
    let (status, kind) = classify(error);
    with_status(status, &error_body(error, kind, error.to_string()))
}

/// `{"error": {...}}` of `kind` with `message`, and the platform, its code and its
/// message when `error` has them.
pub fn error_body(error: &Error, kind: &str, message: String) -> Value {
    let mut body = json!({ "error": { "kind": kind, "message": message } });
    if let Some(platform) = error.platform() {
        body["error"]["platform"] = json!(platform);
    }
    if let Some(code) = error.platform_code() {
        body["error"]["code"] = json!(code);
    }
    if let Some(message) = error.platform_message() {
        body["error"]["platform_message"] = json!(message);
    }
    body
}

/// A JSON answer of `status`; a 503 says when to retry (`Retry-After: 1`).
pub fn with_status(status: StatusCode, body: &Value) -> Response {
    let mut response = json_response(status, body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The status and kind of an error: what the caller can do about it.
pub fn classify(error: &Error) -> (StatusCode, &'static str) {
    if error.is_reauth_required() {
        (StatusCode::CONFLICT, "reauth_required")
    } else if matches!(
        error,
        Error::Config(_)
            | Error::Store {
                transient: false,
                ..
            }
    ) {
        // A store that will not heal by waiting: sealed with a key the agent lacks, or
        // corrupt. Its operator must act; the platform is not at fault.
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    } else if error.is_transient()
        || error.is_outcome_unknown()
        || matches!(error, Error::LeaseWaitTimeout { .. })
    {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    } else {
        (StatusCode::BAD_GATEWAY, "platform_error")
    }
}

fn rfc3339(t: SystemTime) -> String {
    civil::rfc3339_utc(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_says_what_the_caller_can_do() {
        let table = [
            (
                Error::reauth("ilab", "relaunch"),
                StatusCode::CONFLICT,
                "reauth_required",
            ),
            (
                Error::config("no secret"),
                StatusCode::INTERNAL_SERVER_ERROR,
                "misconfigured",
            ),
            (
                Error::store(
                    "sealed with store key \"k1\", which this process does not have",
                    false,
                ),
                StatusCode::INTERNAL_SERVER_ERROR,
                "misconfigured",
            ),
            (
                Error::store("redis unreachable", true),
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (
                Error::LeaseWaitTimeout {
                    waited: Duration::from_secs(1),
                },
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (
                Error::rejected(
                    "ac",
                    "10009",
                    "无接口访问权限",
                    "no permission to access the interface",
                    false,
                ),
                StatusCode::BAD_GATEWAY,
                "platform_error",
            ),
        ];
        for (error, status, kind) in table {
            assert_eq!(classify(&error), (status, kind), "{error}");
        }
    }
}
