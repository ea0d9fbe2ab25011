//! The access tokens the emulated bo platform has issued, the protected route that
//! checks them (`GET /_sandbox/bo/whoami`, standing in for any bo API), and the revoke
//! admin route.
//!
//! A refresh rotates the refresh token, not the access token: an earlier access token
//! stays valid until its `exp` unless revoked, so clients that keep using it until it
//! expires are not punished for what the platform allows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokenkit_core::civil::unix_seconds;

use super::reply::Refusal;
use super::{Bo, Session, header};
use crate::journal::{End, Platform};
use crate::jwt::verify_hs256;

#[derive(Debug)]
struct Issued {
    user_id: String,
    user_name: String,
    push_name: String,
    revoked: bool,
}

/// Access tokens by `jti`: which are ours, whose they are, which were revoked.
#[derive(Debug, Default)]
pub(super) struct AccessLedger {
    issued: HashMap<String, Issued>,
}

impl AccessLedger {
    /// Records the access token `jti`, minted for `session`.
    pub(super) fn issue(&mut self, jti: &str, session: &Session) {
        self.issued.insert(
            jti.to_owned(),
            Issued {
                user_id: session.user_id.clone(),
                user_name: session.user_name.clone(),
                push_name: session.push_name.clone(),
                revoked: false,
            },
        );
    }

    /// Revokes `jti`; `true` if the platform issued it.
    pub(super) fn revoke(&mut self, jti: &str) -> bool {
        self.issued.get_mut(jti).map(|i| i.revoked = true).is_some()
    }

    /// Whether `jti` was revoked.
    pub(super) fn is_revoked(&self, jti: &str) -> bool {
        self.issued.get(jti).is_some_and(|i| i.revoked)
    }
}

/// The refusal of a protected route. Unlike the refresh route's business errors, an
/// API answers a bad bearer token with HTTP 401 too, as gateways in front of bo do.
fn unauthorized() -> Response {
    let refusal = Refusal::new(
        401,
        "token无效或已过期",
        "TOKEN_INVALID",
        "access token is invalid or expired",
    );
    (StatusCode::UNAUTHORIZED, Json(refusal.body())).into_response()
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = header(headers, "authorization")?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Bo {
    /// The `data` of `whoami` if the bearer token is one of ours, unexpired and not
    /// revoked.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Value> {
        let claims = verify_hs256(&self.common.jwt_key, bearer(headers)?)?;
        // The other platforms sign with the same key: only the ledger says "ours".
        let jti = claims.get("jti")?.as_str()?;
        let exp = claims.get("exp")?.as_i64()?;
        if unix_seconds(SystemTime::now()) >= exp {
            return None;
        }
        let book = self.book();
        let issued = book.access.issued.get(jti).filter(|i| !i.revoked)?;
        Some(json!({
            "userId": issued.user_id,
            "userName": issued.user_name,
            "pushName": issued.push_name,
        }))
    }
}

/// `GET /_sandbox/bo/whoami`.
pub(super) async fn whoami(State(bo): State<Arc<Bo>>, headers: HeaderMap) -> Response {
    match bo.authenticate(&headers) {
        Some(data) => Json(json!({"success": true, "data": data})).into_response(),
        None => unauthorized(),
    }
}

/// `POST /_sandbox/bo/revoke`.
pub(super) async fn revoke(State(bo): State<Arc<Bo>>, body: Bytes) -> Response {
    crate::revoke::respond(&body, |token| {
        let jti = verify_hs256(&bo.common.jwt_key, token)
            .and_then(|claims| claims.get("jti")?.as_str().map(str::to_owned));
        let revoked = jti.as_ref().is_some_and(|jti| bo.book().access.revoke(jti));
        if let (true, Some(jti)) = (revoked, jti) {
            bo.common.journal.ended(Platform::Bo, &jti, End::Revoked);
        }
        revoked
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer  ", None),
        ] {
            headers.insert("authorization", HeaderValue::from_static(value));
            assert_eq!(bearer(&headers), want, "{value}");
        }
    }
}
