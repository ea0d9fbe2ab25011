//! The ilab platform (PROTOCOLS.md §1): ticket exchange and refresh, in the documents'
//! `/oauth/token/…` dialect and the `/open/api/v2/…` one (§1.3), `GET` or `POST`, with
//! the parameters in the query string or a form body.
//!
//! It enforces what the documents say: MD5 signatures (§1.1/§1.2), codes 1–5,
//! single-use tickets that expire, at most two refreshes per grant, and only the
//! grant's original refresh token may refresh.
//!
//! The two dialects answer in their own shapes:
//!
//! - `/oauth/token/accesstoken`, `/oauth/token/refreshtoken` (§1.1/§1.2), as the
//!   seed's examples: every documented field, access and refresh tokens as HS256 JWTs
//!   with the seed's claims, `create_time`/`expires_time` as 13-digit strings, display
//!   times in Beijing time;
//! - `/open/api/v2/token`, `/open/api/v2/token/refresh` (§1.3), as public typed clients
//!   declare them: `code`, `msg`, `access_token`, `un`, `dis`, `create_time` and
//!   `expires_time` as 13-digit JSON numbers, `create_time_display` and
//!   `expires_time_display`; no refresh token. The access token is opaque standard
//!   Base64 that always holds a `+`, a `/` and a trailing `=`, so a client that does not
//!   percent-encode it exactly once is refused. The refresh takes the grant's original
//!   access token as `access_token`.
//!
//! In both, `expires_time - create_time` is exactly [`IlabConfig::ttl`].
//!
//! Token-protected routes. Both accept only the grant's *current* access token (the
//! exchange's, then each refresh's new one; a JWT or an opaque token alike), unexpired
//! and unrevoked; the token goes in the query, percent-encoded once (a raw `+` is read
//! as a space, as a servlet container reads it). They refuse with `{"code": 1}` (no
//! `access_token`) or `{"code": 2, "msg": "access_token无效或已过期"}` (any other token
//! refusal: unknown, expired, refreshed away, revoked, mangled in the URL) before they
//! look at anything else:
//!
//! - `POST /open/api/v2/data_upload?access_token=…` (§1.4, [`DATA_UPLOAD_PATH`]) with a
//!   JSON record: every field of §1.4's example is checked (`validate.rs`), and a
//!   refusal is `{"code": 3, "msg": "参数错误：<field>…"}` naming the field
//!   (`steps[0].maxScore`). Success is `{"code": 0, "msg": "上传成功"}`; one record is
//!   kept per (appid, username, originId), so a re-sent record replaces the earlier
//!   upload in its place;
//! - `GET /open/api/v2/data_get?access_token&appid&signature` ([`DATA_GET_PATH`]), with
//!   `signature = HEX(MD5(access_token + appid + secret))` in the configured case:
//!   `{"code": 0, "msg": "查询成功", "data": [<the user's records for appid>]}` in
//!   upload order; code 1 for a missing parameter, code 3 for a wrong appid or signature
//!   (not 2, which a client would answer with a refresh).
//!
//! [`IlabConfig::upload_path_aliases`] and [`IlabConfig::data_get_path_aliases`] serve
//! the same two handlers at further paths (`aliases.rs` says which paths are accepted).
//!
//! Counted in `/_sandbox/stats`: every platform route under `requests` as
//! `ilab.accesstoken`, `ilab.refreshtoken`, `ilab.token`, `ilab.refresh`,
//! `ilab.data_upload`, `ilab.data_get` (an alias under its route's name); and every
//! `data_upload` answer under `outcomes` as [`UPLOADS_STORED`] (a new record),
//! [`UPLOADS_REPLACED`] (an `originId` sent again) or [`UPLOADS_REFUSED`] (any
//! non-zero code).
//!
//! The console (`/_sandbox/console/ilab`) lists [`IlabConfig::test_users`] with a
//! "我要做实验" button that mints a ticket and sends the browser to
//! [`IlabConfig::launch_url`] with it, as the platform does, and every session (grant)
//! with its current token, refreshes spent and the records uploaded with its tokens.
//!
//! Admin (not counted, never fault-injected):
//!
//! - `POST /_sandbox/ilab/tickets` with `{"un": "...", "dis": "..."}` answers
//!   `{"ticket": "<ticket>", "ticket_url_encoded": "<as in a launch URL>"}`: a user
//!   clicking "我要做实验";
//! - `GET /_sandbox/ilab/records` ([`RECORDS_PATH`]) answers
//!   `{"records": [<uploaded bodies>]}`;
//! - `POST /_sandbox/ilab/revoke` ([`REVOKE_PATH`]) with `{"token": "<access token>"}`
//!   answers `{"revoked": true}` if it was its grant's current access token, else
//!   `{"revoked": false}` (400 without a string `token`). The grant's refresh token is
//!   not affected: a refresh issues a new, accepted access token;
//! - `POST /_sandbox/ilab/stall` ([`STALL_PATH`]) with `{"uploads": N, "ms": M}`
//!   answers `{"armed": N}` (400 for another body): the next N uploads that pass every
//!   check are stored, then answered M ms late, so a client with a shorter timeout
//!   gives up on an upload that was stored (`stall.rs`). `N = 0` disarms it.

mod access;
mod aliases;
mod data_get;
mod handlers;
mod mint;
mod opaque;
mod stall;
mod state;
mod upload;
mod validate;
mod view;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_data;
#[cfg(test)]
mod tests_paths;
#[cfg(test)]
pub(crate) mod tests_v2;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::journal::Journal;
use crate::{Common, Stats};
use handlers::{Dialect, exchange, refresh, route};
pub(crate) use view::{LaunchRefusal, SessionView, TokenState};

/// The default appid (the seed's example).
pub const DEFAULT_APPID: &str = "1681600222748241929";
/// The default secret (the seed's example).
pub const DEFAULT_SECRET: &str = "123456";
/// The result-reporting route (§1.4).
pub const DATA_UPLOAD_PATH: &str = "/open/api/v2/data_upload";
/// The route that reads a user's records back (§1.4).
pub const DATA_GET_PATH: &str = "/open/api/v2/data_get";
/// The admin route that lists the uploaded records.
pub const RECORDS_PATH: &str = "/_sandbox/ilab/records";
/// The admin route that revokes an access token.
pub const REVOKE_PATH: &str = "/_sandbox/ilab/revoke";
/// The admin route that arms the "timed out after storing" fault of `data_upload`.
pub const STALL_PATH: &str = "/_sandbox/ilab/stall";

/// Outcome counter (`Stats::outcome`): an upload stored a record not seen before.
pub const UPLOADS_STORED: &str = "ilab.uploads_stored";
/// Outcome counter: an upload replaced an earlier one of the same `originId`.
pub const UPLOADS_REPLACED: &str = "ilab.uploads_replaced";
/// Outcome counter: an upload was refused (any non-zero `code`).
pub const UPLOADS_REFUSED: &str = "ilab.uploads_refused";

const EXCHANGE_PATH: &str = "/oauth/token/accesstoken";
const REFRESH_PATH: &str = "/oauth/token/refreshtoken";
const V2_EXCHANGE_PATH: &str = "/open/api/v2/token";
const V2_REFRESH_PATH: &str = "/open/api/v2/token/refresh";

/// The platform routes, which no alias may repeat.
const ROUTES: [&str; 6] = [
    EXCHANGE_PATH,
    REFRESH_PATH,
    V2_EXCHANGE_PATH,
    V2_REFRESH_PATH,
    DATA_UPLOAD_PATH,
    DATA_GET_PATH,
];

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
    /// Further paths served exactly like [`DATA_UPLOAD_PATH`] (`/oauth/api/data_upload`),
    /// for deployments whose data routes live elsewhere; default none. Each must be a
    /// plain absolute path that is no other route's: otherwise [`Sandbox::start`] fails
    /// with [`std::io::ErrorKind::InvalidInput`] naming it.
    ///
    /// [`Sandbox::start`]: crate::Sandbox::start
    pub upload_path_aliases: Vec<String>,
    /// Further paths served exactly like [`DATA_GET_PATH`]; the same rules.
    pub data_get_path_aliases: Vec<String>,
    /// The experiment's launch address (`http://127.0.0.1:8080/launch`): where the
    /// console's "我要做实验" sends the browser, with `?ticket=<percent-encoded ticket>`
    /// (`&ticket=` when it has a query already), as the platform does. Default none:
    /// the console then says how to set it. Must be an absolute `http`/`https` URL
    /// without credentials or a fragment, else [`Sandbox::start`] fails.
    ///
    /// [`Sandbox::start`]: crate::Sandbox::start
    pub launch_url: Option<String>,
    /// The users the console offers "我要做实验" for (default 张三, 李四, 王五).
    pub test_users: Vec<IlabTestUser>,
}

/// A platform user the console can launch the experiment as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IlabTestUser {
    /// The user name (`un`).
    pub un: String,
    /// The display name (`dis`).
    pub dis: String,
}

impl IlabTestUser {
    /// The user `un`, shown as `dis`.
    pub fn new(un: impl Into<String>, dis: impl Into<String>) -> Self {
        Self {
            un: un.into(),
            dis: dis.into(),
        }
    }
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
            upload_path_aliases: Vec::new(),
            data_get_path_aliases: Vec::new(),
            launch_url: None,
            test_users: vec![
                IlabTestUser::new("zhangsan", "张三"),
                IlabTestUser::new("lisi", "李四"),
                IlabTestUser::new("wangwu", "王五"),
            ],
        }
    }
}

impl IlabConfig {
    /// `Ok` when the sandbox can serve this configuration; else what is wrong (a bad
    /// path alias or launch URL), as [`Sandbox::start`](crate::Sandbox::start) reports
    /// it.
    ///
    /// ```
    /// use tokenkit_sandbox::ilab::IlabConfig;
    /// let mut config = IlabConfig::default();
    /// config.upload_path_aliases.push("/oauth/api/data_upload".to_owned());
    /// assert!(config.check().is_ok());
    /// config.data_get_path_aliases.push("/oauth/api/{id}".to_owned());
    /// assert!(config.check().is_err());
    /// let mut config = IlabConfig::default();
    /// config.launch_url = Some("ftp://example/launch".to_owned());
    /// assert!(config.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), String> {
        aliases::check(self)?;
        match &self.launch_url {
            Some(url) => view::check_launch_url(url),
            None => Ok(()),
        }
    }
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Ilab {
    pub(crate) config: Arc<IlabConfig>,
    pub(crate) jwt_key: Arc<[u8]>,
    /// Where the upload outcomes are counted.
    pub(crate) stats: Arc<Stats>,
    /// Where issued and retired tokens are reported, for the console.
    pub(crate) journal: Arc<Journal>,
    pub(crate) state: Arc<Mutex<state::State>>,
}

impl Ilab {
    pub(crate) fn new(common: &Common, config: IlabConfig) -> Self {
        Self {
            config: Arc::new(config),
            jwt_key: Arc::clone(&common.jwt_key),
            stats: Arc::clone(&common.stats),
            journal: Arc::clone(&common.journal),
            state: Arc::default(),
        }
    }
}

/// The ilab routes: the platform's and the admin ones, and apart from them the
/// configured aliases, which the caller serves as the app's fallback so that an alias
/// can never collide with, or displace, any route of the sandbox.
pub(crate) struct Routes {
    pub(crate) routes: Router,
    pub(crate) aliases: Router,
    /// The platform's state, for the console.
    pub(crate) console: Ilab,
}

pub(crate) fn routes(common: Common, config: IlabConfig) -> Routes {
    let ilab = Ilab::new(&common, config);
    let platform = Router::new()
        .route(EXCHANGE_PATH, route(exchange, Dialect::OAuth))
        .route(REFRESH_PATH, route(refresh, Dialect::OAuth))
        .route(V2_EXCHANGE_PATH, route(exchange, Dialect::V2))
        .route(V2_REFRESH_PATH, route(refresh, Dialect::V2))
        .route(DATA_UPLOAD_PATH, post(upload::data_upload))
        .route(DATA_GET_PATH, get(data_get::data_get))
        .with_state(ilab.clone());
    let aliases = aliases::routes(&common, &ilab);
    // Admin routes are outside `platform_routes`: never counted as platform traffic,
    // never hit by injected faults.
    let admin = Router::new()
        .route("/_sandbox/ilab/tickets", post(handlers::issue_ticket))
        .route(RECORDS_PATH, get(upload::list_records))
        .route(REVOKE_PATH, post(access::revoke))
        .route(STALL_PATH, post(stall::arm))
        .with_state(ilab.clone());
    Routes {
        routes: common.platform_routes("ilab", platform).merge(admin),
        aliases,
        console: ilab,
    }
}
