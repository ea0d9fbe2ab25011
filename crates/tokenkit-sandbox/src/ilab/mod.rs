//! The ilab platform (PROTOCOLS.md §1): ticket exchange and refresh, in the documents'
//! `/oauth/token/…` dialect and the `/open/api/v2/…` one (§1.3), `GET` or `POST`, with
//! the parameters in the query string or a form body.
//!
//! It enforces what the documents say: MD5 signatures (§1.1/§1.2), codes 1–5,
//! single-use tickets that expire, at most two refreshes per grant, and only the
//! grant's original refresh token may refresh. Tokens are HS256 JWTs with the claims of
//! the seed's examples; times are 13-digit strings, display times Beijing time.
//!
//! The token-protected route: `POST /open/api/v2/data_upload?access_token=…` (§1.4)
//! with a JSON record. It accepts only the grant's *current* access token (the
//! exchange's, then each refresh's new one), unexpired and unrevoked, and refuses with
//! `{"code": 1}` (no `access_token`), `{"code": 2, "msg": "access_token无效或已过期"}`
//! (any other token refusal: unknown, expired, refreshed away, revoked) or
//! `{"code": 3, "msg": "<names the field>"}` (the body is not an object with non-empty
//! string `username` — the token's `un` —, `title` and `originId`). Success is
//! `{"code": 0, "msg": "上传成功"}`; one record is kept per (appid, username,
//! originId), so a re-sent record replaces the earlier upload.
//!
//! Admin (not counted, never fault-injected):
//!
//! - `POST /_sandbox/ilab/tickets` with `{"un": "...", "dis": "..."}` answers
//!   `{"ticket": "<ticket>", "ticket_url_encoded": "<as in a launch URL>"}`: a user
//!   clicking "我要做实验";
//! - `GET /_sandbox/ilab/records` answers `{"records": [<uploaded bodies>]}`;
//! - `POST /_sandbox/ilab/revoke` with `{"token": "<access token>"}` answers
//!   `{"revoked": true}` if it was its grant's current access token, else
//!   `{"revoked": false}` (400 without a string `token`). The grant's refresh token is
//!   not affected: a refresh issues a new, accepted access token.

mod access;
mod handlers;
mod mint;
mod params;
mod state;
mod upload;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::Common;
use handlers::{Dialect, exchange, refresh, route};

/// The default appid (the seed's example).
pub const DEFAULT_APPID: &str = "1681600222748241929";
/// The default secret (the seed's example).
pub const DEFAULT_SECRET: &str = "123456";
/// The result-reporting route (§1.4).
pub const DATA_UPLOAD_PATH: &str = "/open/api/v2/data_upload";
/// The admin route that lists the uploaded records.
pub const RECORDS_PATH: &str = "/_sandbox/ilab/records";
/// The admin route that revokes an access token.
pub const REVOKE_PATH: &str = "/_sandbox/ilab/revoke";

/// Settings of the emulated ilab platform.
#[derive(Debug, Clone)]
pub struct IlabConfig {
    /// Lifetime of the access tokens it issues (default 86399 s, as the seed).
    pub ttl: Duration,
    /// The experiment's appid.
    pub appid: String,
    /// The experiment's secret.
    pub secret: String,
    /// How long a ticket may wait before its exchange (default 10 min).
    pub ticket_ttl: Duration,
    /// Lifetime of refresh tokens (default 30 days, as the seed's example).
    pub refresh_ttl: Duration,
    /// Refreshes per grant (2, §1.2).
    pub refresh_budget: u32,
    /// Expect lower-case hex signatures, as some white-label clones (§1.3).
    pub lowercase_hex: bool,
}

impl Default for IlabConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(86399),
            appid: DEFAULT_APPID.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            ticket_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(30 * 86_400),
            refresh_budget: 2,
            lowercase_hex: false,
        }
    }
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Ilab {
    pub(crate) config: Arc<IlabConfig>,
    pub(crate) jwt_key: Arc<[u8]>,
    pub(crate) state: Arc<Mutex<state::State>>,
}

pub(crate) fn routes(common: Common, config: IlabConfig) -> Router {
    let ilab = Ilab {
        config: Arc::new(config),
        jwt_key: Arc::clone(&common.jwt_key),
        state: Arc::default(),
    };
    let platform = Router::new()
        .route("/oauth/token/accesstoken", route(exchange, Dialect::OAuth))
        .route("/oauth/token/refreshtoken", route(refresh, Dialect::OAuth))
        .route("/open/api/v2/token", route(exchange, Dialect::V2))
        .route("/open/api/v2/token/refresh", route(refresh, Dialect::V2))
        .route(DATA_UPLOAD_PATH, post(upload::data_upload))
        .with_state(ilab.clone());
    // Admin routes are outside `platform_routes`: never counted as platform traffic,
    // never hit by injected faults.
    let admin = Router::new()
        .route("/_sandbox/ilab/tickets", post(handlers::issue_ticket))
        .route(RECORDS_PATH, get(upload::list_records))
        .route(REVOKE_PATH, post(access::revoke))
        .with_state(ilab);
    common.platform_routes("ilab", platform).merge(admin)
}
