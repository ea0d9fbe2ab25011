//! The ac platform's routes (PROTOCOLS.md §2):
//!
//! - `POST /ac/openapi/v2/tokens` (headers `user`, `password`, `orgId`): one token per
//!   configured cluster, `"token": null` (and the `accountStatus`) for a suspended one
//!   (configured so, or suspended from the console since: see the admin section);
//! - `POST /api/user/v3/tokens` (the access-key login of §2.5, [`AK_TOKENS_PATH`];
//!   headers `user`, `accessKey`, `timestamp` in epoch seconds, `signature`; any body
//!   is ignored): the same region list as the password login, with the same tokens
//!   (both logins share one current token per (user, cluster)). Counted as
//!   `ac.ak_tokens`; `ac.tokens` counts the password login only. Its checks, in order:
//!   1. every header present and non-empty, else 10003 `参数不全`;
//!   2. `accessKey` one of [`AcConfig::access_keys`], of exactly this `user`, who is
//!      one of [`AcConfig::users`] (its claims are the tokens'), else 10004
//!      `参数无效：accessKey或user错误`;
//!   3. `timestamp` all decimal digits, else 10004 `参数无效：timestamp格式错误`;
//!   4. `timestamp` within [`AcConfig::max_timestamp_skew`] of the platform's clock,
//!      else 10004 `参数无效：timestamp <t> 与服务器时间相差超过<n>秒`;
//!   5. `signature` = `lowercase_hex(HMAC-SHA256(key = secretKey, message))` with
//!      `message` the compact JSON `{"accessKey":"…","timestamp":"…","user":"…"}` of
//!      the values as sent (non-ASCII as raw UTF-8), compared in constant time, else
//!      10004 `参数无效：签名错误`;
//! - `POST /ac/openapi/v2/tokens/next` (header `token`): a new token that *replaces*
//!   the old one (the strictest reading: the old one then answers 10008), refused with
//!   10008 once the token is more than `renewal_window` past its `expireTime`;
//! - `GET /ac/openapi/v2/tokens/state` (header `token`): `token is valid` or 10008;
//! - `GET /ac/openapi/v2/center` (header `token`, a region token; §2.6): the token's
//!   region as a one-element list
//!   `[{"id", "name", "clusterUserInfo": {"userName", "homePath"}, "hpcUrls",
//!   "efileUrls", "aiUrls"}]`, each URL `{"url", "enable": "true"|"false", "version"}`
//!   (see [`AcUrls`]). It checks the token as `tokens/state` does (10003, 10004,
//!   10008); a platform token (cluster `0`) is answered 10009 (ours: it names no
//!   region).
//!
//! Admin (not counted, never fault-injected): `POST /_sandbox/ac/revoke` with
//! `{"token": "…"}` answers `{"revoked": true}` if the token was the current token of
//! some (user, cluster), else `{"revoked": false}` (400 without a string `token`). A
//! revoked token is refused with 10008 by `tokens/state`, `tokens/next` and `center`,
//! and the next login issues a new token in its place. `POST /_sandbox/ac/check` with
//! `{"token": "…"}` answers `{"accepted": true|false}`: whether `tokens/state` would
//! accept the token now (not replaced by a renewal or a login, not expired, not
//! revoked), so a test can tell a token the platform still takes without spending a
//! platform request or meeting an injected fault.
//!
//! The console's ac page (`/_sandbox/console/ac`) acts on a (user, cluster) pair:
//!
//! - **revoke** revokes the pair's current token, exactly as `POST /_sandbox/ac/revoke`
//!   with that token does;
//! - **suspend** suspends the account in that region (the platform region `0`
//!   included) and revokes the pair's current token: from then on both logins list the
//!   region with `"token": null` and an `accountStatus` of `Disable` (or, for a region
//!   configured suspended, `AcCluster::suspended`, its configured status), exactly as
//!   for a region configured suspended, and `tokens/state`, `tokens/next` and `center`
//!   refuse the old token with 10008;
//! - **resume** lifts the suspension: the next login mints a new token, whose
//!   `accountStatus` claim is the configured status, or `Normal` for a region
//!   configured suspended. The revoked token stays revoked.
//!
//! An account starts suspended in every region configured suspended; what the console
//! changes lasts until the sandbox stops.
//!
//! Tokens are HS256 JWTs with the documented claims, all strings (§2.4). Coded errors
//! are answered with HTTP 200, as the platform does.
//!
//! The platform keeps its own clock: the machine's plus
//! [`AcConfig::clock_offset`]. It decides `expireTime`, expiry, the renewal window and
//! the access-key timestamp window, and every ac answer (admin included) states it in
//! its `Date` header, so a test can play a client whose local clock is wrong.

mod access_key;
mod center;
mod clock;
mod handlers;
mod registry;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_access_key;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::map_response_with_state;
use axum::routing::{get, post};

use crate::Common;
pub use access_key::{AK_TOKENS_PATH, AcAccessKey};
pub use center::{AcUrl, AcUrls};
pub(crate) use handlers::AcState;
pub(crate) use view::{AcView, PairRefusal, TokenState};

/// The admin route that revokes a token.
pub const REVOKE_PATH: &str = "/_sandbox/ac/revoke";

/// The admin route that tells whether the platform accepts a token now.
pub const CHECK_PATH: &str = "/_sandbox/ac/check";

/// Settings of the emulated ac platform.
#[derive(Debug, Clone)]
pub struct AcConfig {
    /// Lifetime of the tokens it issues (`expireTime` = issue time + ttl).
    pub ttl: Duration,
    /// How long past `expireTime` a token can still be renewed (the platform: 24 h).
    pub renewal_window: Duration,
    /// The accounts that can log in.
    pub users: Vec<AcUser>,
    /// The regions every account has, in the order a login lists them.
    pub clusters: Vec<AcCluster>,
    /// The access keys of the access-key login (§2.5); each names an account of
    /// `users`.
    pub access_keys: Vec<AcAccessKey>,
    /// How far an access-key login's `timestamp` may be from the platform's clock
    /// (default 5 min).
    pub max_timestamp_skew: Duration,
    /// How far the emulated platform's clock is ahead (+) or behind (−) the machine's,
    /// in seconds; lets tests see a client whose local clock is off.
    pub clock_offset: i64,
}

impl Default for AcConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(86400),
            renewal_window: Duration::from_secs(24 * 3600),
            users: vec![AcUser::new("demo", "demo-password", "demo-org")],
            clusters: vec![
                AcCluster::new("0", "ac"),
                AcCluster::new("11112", "华东一区"),
            ],
            access_keys: vec![AcAccessKey::new(
                "demo",
                "demo-access-key",
                "demo-secret-key",
            )],
            max_timestamp_skew: Duration::from_secs(300),
            clock_offset: 0,
        }
    }
}

impl AcConfig {
    /// Adds the region `11113`/`华北一区` where the account is suspended (status
    /// `Disable`): a login lists it with `"token": null`.
    pub fn with_suspended_cluster(mut self) -> Self {
        self.clusters
            .push(AcCluster::suspended("11113", "华北一区", "Disable"));
        self
    }
}

/// An account of the emulated platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcUser {
    /// Login name (header `user`; claims `user` and `computeUser`).
    pub user: String,
    /// Password (header `password`).
    pub password: String,
    /// The orgId issued to the caller (header `orgId`; claim `invoker`).
    pub org_id: String,
    /// The numeric user id (claim `userId`).
    pub user_id: String,
}

impl AcUser {
    /// An account with a user id of `11655048541` (the seed's).
    pub fn new(
        user: impl Into<String>,
        password: impl Into<String>,
        org_id: impl Into<String>,
    ) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            org_id: org_id.into(),
            user_id: "11655048541".into(),
        }
    }
}

/// A region (cluster) of the emulated platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcCluster {
    /// `clusterId`; `0` is the platform token.
    pub id: String,
    /// `clusterName`.
    pub name: String,
    /// The `accountStatus` stated in its tokens (`Trial`, `Normal`, `Owe`, `Disable`);
    /// for a region where accounts start suspended, the one stated beside the null
    /// token (its tokens, once the console resumes an account, state `Normal`).
    pub account_status: String,
    /// Whether accounts start suspended here: no token is issued until the console
    /// resumes one.
    pub suspended: bool,
    /// The service URLs `center` lists for this region.
    pub urls: AcUrls,
}

impl AcCluster {
    /// A region where the account is in `Normal` standing, with the URLs of
    /// [`AcUrls::for_cluster`].
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            urls: AcUrls::for_cluster(&id),
            id,
            name: name.into(),
            account_status: "Normal".into(),
            suspended: false,
        }
    }

    /// A region where the account is suspended with `status`.
    pub fn suspended(
        id: impl Into<String>,
        name: impl Into<String>,
        status: impl Into<String>,
    ) -> Self {
        let id = id.into();
        Self {
            urls: AcUrls::for_cluster(&id),
            id,
            name: name.into(),
            account_status: status.into(),
            suspended: true,
        }
    }

    /// The same region with other service URLs.
    ///
    /// ```
    /// use tokenkit_sandbox::ac::{AcCluster, AcUrl, AcUrls};
    /// let cluster = AcCluster::new("11112", "华东一区").with_urls(AcUrls {
    ///     hpc: vec![AcUrl::enabled("http://127.0.0.1:9000")],
    ///     ..AcUrls::default()
    /// });
    /// assert!(cluster.urls.efile.is_empty());
    /// ```
    pub fn with_urls(mut self, urls: AcUrls) -> Self {
        self.urls = urls;
        self
    }
}

/// The ac routes, and the platform's state for the console.
pub(crate) struct Routes {
    pub(crate) routes: Router,
    pub(crate) console: Arc<handlers::AcState>,
}

pub(crate) fn routes(common: Common, config: AcConfig) -> Routes {
    let state = Arc::new(handlers::AcState::new(&common, config));
    let clock = state.platform_clock();
    let router = Router::new()
        .route("/ac/openapi/v2/tokens", post(handlers::login))
        .route("/ac/openapi/v2/tokens/next", post(handlers::renew))
        .route("/ac/openapi/v2/tokens/state", get(handlers::state))
        .route("/ac/openapi/v2/center", get(handlers::center))
        .with_state(Arc::clone(&state));
    // Its last segment is `tokens` like the password login's: its own counter name.
    let access_key = Router::new()
        .route(AK_TOKENS_PATH, post(access_key::login))
        .with_state(Arc::clone(&state));
    // Admin routes are outside `platform_routes`: never counted as platform traffic,
    // never hit by injected faults.
    let admin = Router::new()
        .route(REVOKE_PATH, post(handlers::revoke))
        .route(CHECK_PATH, post(handlers::check))
        .with_state(Arc::clone(&state));
    let routes = common
        .platform_routes("ac", router)
        .merge(common.named_platform_routes("ac.ak_tokens", access_key))
        .merge(admin)
        // Outermost, so an injected 503 also carries the platform's Date, as the
        // platform's own gateway would.
        .layer(map_response_with_state(clock, clock::stamp_date));
    Routes {
        routes,
        console: state,
    }
}
