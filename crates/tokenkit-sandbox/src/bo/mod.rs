//! The bo platform (PROTOCOLS.md §3): `GET /bo/api/v3/auth/token/refresh` with the
//! DES-encrypted `XverifyApi` header, and an admin route standing in for the
//! application's login.
//!
//! - `XownerId` must be the configured project; `XverifyApi` must decrypt with the
//!   configured key and IV to the configured template, with a timestamp within
//!   `max_skew` and a guid never seen before.
//! - Refresh tokens are opaque 32-character strings. They rotate (unless
//!   `rotate_refresh_tokens` is off): a used one is refused.
//! - Access tokens are HS256 JWTs with `iat`, `nbf` and `exp` (`exp - iat` = `ttl`) and
//!   the other claims of the seed's sample token.
//! - `POST /_sandbox/bo/sessions` with `{"userId": "..."}` answers
//!   `{"accessToken": "...", "refreshToken": "..."}`: what a login gives.
//! - `GET /_sandbox/bo/whoami` with `Authorization: Bearer <accessToken>` stands in for
//!   a protected bo API, so it is counted (`bo.whoami`) and fault-injected like the
//!   platform routes: `{"success": true, "data": {"userId", "userName", "pushName"}}`
//!   for an access token the sandbox issued (session or refresh) that verifies, has
//!   not passed its `exp` and was not revoked, else HTTP 401 with
//!   `{"success": false, "code": 401, "message": "token无效或已过期", "error":
//!   {"errorCode": "TOKEN_INVALID", "errorText": "access token is invalid or expired"}}`.
//!   A refresh does not retire earlier access tokens (it rotates refresh tokens).
//! - `POST /_sandbox/bo/revoke` with `{"token": "<accessToken>"}` (admin: not counted,
//!   never fault-injected) answers `{"revoked": true}` if the sandbox issued that access
//!   token, else `{"revoked": false}` (400 without a string `token`); `whoami` then
//!   refuses it.
//!
//! Sessions are chains (`chain.rs`): each `POST /_sandbox/bo/sessions` opens session
//! number n (1, 2, …), and every refresh token and access token issued from it, by the
//! login or by the refreshes that follow, belongs to it. The console
//! (`/_sandbox/console/bo`) shows each session's chain of refresh tokens (the live one
//! last, the rotated ones before it) and its access tokens, all masked, and can revoke
//! a session (`POST /_sandbox/console/bo/revoke`, field `session`): its live refresh
//! token is retired, so the refresh route answers 401 `REFRESH_TOKEN_INVALID` with
//! "the refresh token was revoked", and every access token it got is revoked, so
//! `whoami` answers 401. Every token issued and how it ended (rotated, revoked) is
//! reported to the sandbox's token journal.
//!
//! Error codes of the refresh route (ours; the seed documents none): 400 missing or
//! invalid parameter, 401 refresh token unknown, used, revoked or expired, 403
//! `XverifyApi` refused, 404 unknown `XownerId`; all in the seed's `success: false`
//! shape with HTTP 200.

mod access;
mod chain;
mod mint;
mod reply;
#[cfg(test)]
mod tests;
mod verify;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokenkit_core::civil;

pub use verify::{VerifyError, decrypt_verify_header};

pub(crate) use chain::SessionRevocation;
pub(crate) use view::{SessionState, SessionView, SettingsView, TokenState, TokenView};

use crate::Common;
use crate::journal::{End, Platform};
use chain::{Chains, Retirement};
use reply::{Refusal, Spelling, respond};
use verify::{Expected, SeenGuids};

/// The refresh route.
pub const REFRESH_PATH: &str = "/bo/api/v3/auth/token/refresh";
/// The admin route that creates a session.
pub const SESSIONS_PATH: &str = "/_sandbox/bo/sessions";
/// The protected route that answers whose an access token is.
pub const WHOAMI_PATH: &str = "/_sandbox/bo/whoami";
/// The admin route that revokes an access token.
pub const REVOKE_PATH: &str = "/_sandbox/bo/revoke";

/// Settings of the emulated bo platform.
#[derive(Debug, Clone)]
pub struct BoConfig {
    /// Lifetime of the access tokens it issues (default 60 s, like the seed's sample).
    pub ttl: Duration,
    /// The project id `XownerId` must carry (default `demo-owner`).
    pub owner_id: String,
    /// The DES key, 8 bytes (default `12345678`).
    pub des_key: String,
    /// The DES IV, 8 bytes; `None` = the key (default).
    pub des_iv: Option<String>,
    /// The `XverifyApi` plaintext template (default `{guid}|{timestamp}`).
    pub template: String,
    /// How far the `XverifyApi` timestamp may be from the sandbox's clock (5 minutes).
    pub max_skew: Duration,
    /// Whether each refresh issues a new refresh token and retires the used one.
    pub rotate_refresh_tokens: bool,
    /// How long a refresh token stays usable.
    pub refresh_ttl: Duration,
}

impl Default for BoConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            owner_id: "demo-owner".into(),
            des_key: "12345678".into(),
            des_iv: None,
            template: "{guid}|{timestamp}".into(),
            max_skew: Duration::from_secs(300),
            rotate_refresh_tokens: true,
            refresh_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

/// A logged-in user behind a refresh token.
#[derive(Debug, Clone)]
struct Session {
    /// The session (chain) the token belongs to.
    number: u64,
    user_id: String,
    user_name: String,
    push_name: String,
    refresh_expires_ms: i64,
}

#[derive(Debug, Default)]
struct Book {
    /// The refresh tokens the refresh route accepts.
    live: HashMap<String, Session>,
    /// The refresh tokens it refuses because they were retired, and why.
    retired: HashMap<String, Retirement>,
    guids: SeenGuids,
    access: access::AccessLedger,
    chains: Chains,
}

pub(crate) struct Bo {
    common: Common,
    config: BoConfig,
    book: Mutex<Book>,
}

/// The bo routes, and the platform's state for the console.
pub(crate) struct Routes {
    pub(crate) routes: Router,
    pub(crate) console: Arc<Bo>,
}

pub(crate) fn routes(common: Common, config: BoConfig) -> Routes {
    let state = Arc::new(Bo {
        common: common.clone(),
        config,
        book: Mutex::new(Book::default()),
    });
    let platform = Router::new()
        .route(REFRESH_PATH, get(refresh))
        .route(WHOAMI_PATH, get(access::whoami))
        .with_state(Arc::clone(&state));
    let routes = Router::new()
        .route(SESSIONS_PATH, post(create_session))
        .route(REVOKE_PATH, post(access::revoke))
        .with_state(Arc::clone(&state))
        .merge(common.platform_routes("bo", platform));
    Routes {
        routes,
        console: state,
    }
}

fn now_ms() -> i64 {
    civil::unix_millis(SystemTime::now())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn missing(what: &str) -> Refusal {
    Refusal::new(
        400,
        "参数错误",
        "MISSING_PARAMETER",
        format!("{what} is required"),
    )
}

impl Bo {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(
        &self,
        query: &HashMap<String, String>,
        headers: &HeaderMap,
    ) -> Result<Value, Refusal> {
        let content_type = header(headers, "content-type").unwrap_or_default();
        if !content_type.starts_with("application/json") {
            return Err(Refusal::new(
                400,
                "参数错误",
                "CONTENT_TYPE",
                "Content-Type must be application/json; charset=utf-8",
            ));
        }
        let owner = header(headers, "XownerId").ok_or_else(|| missing("XownerId"))?;
        if owner != self.config.owner_id {
            return Err(Refusal::new(
                404,
                "项目不存在",
                "UNKNOWN_OWNER",
                "XownerId is not a known project",
            ));
        }
        let refresh_token = query
            .get("refreshToken")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("refreshToken"))?;
        let verify = header(headers, "XverifyApi").ok_or_else(|| missing("XverifyApi"))?;
        let now = now_ms();
        let refused = |e: VerifyError| Refusal::new(403, "非法请求", e.error_code(), e.text());
        let key = self.config.des_key.as_bytes();
        let iv = self.config.des_iv.as_deref().map_or(key, str::as_bytes);
        let plaintext =
            decrypt_verify_header(key, iv, verify).ok_or_else(|| refused(VerifyError::Decrypt))?;
        let max_skew_ms = self.config.max_skew.as_millis() as i64;
        let expected = Expected {
            owner_id: owner,
            refresh_token,
            now_ms: now,
            max_skew_ms,
        };
        let carried = verify::check_plaintext(&self.config.template, &plaintext, expected)
            .map_err(refused)?;

        let mut book = self.book();
        if let Some(guid) = carried.guid
            && !book.guids.first_use(&guid, now, 2 * max_skew_ms)
        {
            return Err(refused(VerifyError::Replay));
        }
        let invalid =
            |text: &str| Refusal::new(401, "登录已过期，请重新登录", "REFRESH_TOKEN_INVALID", text);
        if let Some(retirement) = book.retired.get(refresh_token) {
            return Err(invalid(retirement.refusal_text()));
        }
        let session = book
            .live
            .get(refresh_token)
            .cloned()
            .ok_or_else(|| invalid("unknown refresh token"))?;
        if now > session.refresh_expires_ms {
            book.live.remove(refresh_token);
            return Err(invalid("the refresh token expired"));
        }
        let access = self.mint_access(&mut book, &session, now);
        let refresh = if self.config.rotate_refresh_tokens {
            // Retired before its successor is issued: the chain's last link is the
            // one spent here.
            book.live.remove(refresh_token);
            book.retired
                .insert(refresh_token.to_owned(), Retirement::Rotated);
            book.chains.retire_last(session.number, Retirement::Rotated);
            self.common
                .journal
                .ended(Platform::Bo, refresh_token, End::Rotated);
            self.mint_refresh(&mut book, &session, now)
        } else {
            refresh_token.to_owned()
        };
        Ok(self.success_body(&session, &access, &refresh, now))
    }

    fn success_body(&self, session: &Session, access: &str, refresh: &str, now: i64) -> Value {
        let expires = SystemTime::UNIX_EPOCH
            + Duration::from_millis((now + self.config.ttl.as_millis() as i64).max(0) as u64);
        json!({
            "success": true,
            "data": {
                "tokenType": "Bearer",
                "tokenUser": {
                    "clientId": session.user_id, "userId": session.user_id,
                    "userName": session.user_name, "pushName": session.push_name,
                    "roleId": ["development"], "depId": [], "areaCode": [], "jobId": [],
                    "sysId": [], "mergeUserId": [], "developer": 1,
                },
                "timeStamp": now as f64 + 0.5437,
                "refreshToken": refresh,
                "accessToken": access,
                "clientId": session.user_id,
                // The server's local time without a zone (Beijing).
                "expires": civil::beijing_display(expires).replace(' ', "T"),
                // Seconds, as the seed's table says (its example holds epoch ms).
                "expiresIn": self.config.ttl.as_secs(),
                "cacheType": "local",
                "cacheDate": civil::beijing_display(SystemTime::now()),
            }
        })
    }
}

async fn refresh(
    State(bo): State<Arc<Bo>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(spelling) = Spelling::from_query(query.get("_nodejs").map(String::as_str)) else {
        let refusal = Refusal::new(
            400,
            "参数错误",
            "MISSING_PARAMETER",
            "_nodejs must be common-data or common-data-under",
        );
        return respond(Spelling::Camel, refusal.body());
    };
    match bo.check(&query, &headers) {
        Ok(body) => respond(spelling, body),
        Err(refusal) => {
            tracing::debug!(
                code = refusal.code,
                error_code = refusal.error_code,
                "bo sandbox refused a refresh"
            );
            respond(spelling, refusal.body())
        }
    }
}

async fn create_session(State(bo): State<Arc<Bo>>, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    let text = |name: &str| {
        body.get(name)
            .and_then(tokenkit_core::lenient::value_as_string)
    };
    let Some(user_id) = text("userId").filter(|u| !u.trim().is_empty()) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "userId is required"})),
        )
            .into_response();
    };
    let user_name = text("userName").unwrap_or_else(|| user_id.clone());
    let now = now_ms();
    let mut book = bo.book();
    let session = Session {
        number: book.chains.open(&user_id, &user_name),
        push_name: text("pushName").unwrap_or_else(|| user_id.clone()),
        user_name,
        user_id,
        refresh_expires_ms: 0,
    };
    let access = bo.mint_access(&mut book, &session, now);
    let refresh = bo.mint_refresh(&mut book, &session, now);
    Json(json!({"accessToken": access, "refreshToken": refresh})).into_response()
}
