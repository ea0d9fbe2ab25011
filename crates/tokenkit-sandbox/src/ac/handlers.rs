//! The ac handlers and their coded answers (PROTOCOLS.md §2.2 error table), the
//! region-list answer both logins share, and the revoke admin route.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::clock::PlatformClock;
use super::registry::{Clock, Refusal, Registry};
use super::{AcCluster, AcConfig, AcUser};
use crate::Common;

pub(crate) struct AcState {
    key: Arc<[u8]>,
    pub(super) config: AcConfig,
    pub(super) registry: Registry,
}

impl AcState {
    pub(crate) fn new(common: &Common, config: AcConfig) -> Self {
        // Every account starts suspended where its region is configured suspended.
        let suspended: Vec<_> = config
            .users
            .iter()
            .flat_map(|user| {
                config
                    .clusters
                    .iter()
                    .filter(|cluster| cluster.suspended)
                    .map(|cluster| (user.user.clone(), cluster.id.clone()))
            })
            .collect();
        Self {
            key: Arc::clone(&common.jwt_key),
            registry: Registry::new(Arc::clone(&common.journal), suspended),
            config,
        }
    }

    /// The platform's clock: the machine's, shifted by `clock_offset`.
    pub(super) fn platform_clock(&self) -> PlatformClock {
        PlatformClock::new(self.config.clock_offset)
    }

    fn clock(&self) -> Clock {
        let (machine_now, now_ms) = self.platform_clock().readings();
        Clock {
            now_ms,
            ttl_ms: millis(self.config.ttl),
            machine_now,
        }
    }

    /// A JWT with the claims of §2.4, every value a string.
    fn mint(&self, user: &AcUser, cluster: &AcCluster, expire_ms: i64) -> String {
        crate::jwt::mint_hs256(
            &self.key,
            &json!({
                "computeUser": user.user,
                "accountStatus": active_status(cluster),
                "creator": "ac",
                "role": "1",
                "expireTime": expire_ms.to_string(),
                "clusterId": cluster.id,
                "invoker": user.org_id,
                "user": user.user,
                "userId": user.user_id,
            }),
        )
    }

    /// The account and cluster a presented token names, if it is one of ours.
    fn owner(&self, token: &str) -> Option<(&AcUser, &AcCluster)> {
        let claims = crate::jwt::verify_hs256(&self.key, token)?;
        let user = claims.get("user")?.as_str()?;
        let cluster = claims.get("clusterId")?.as_str()?;
        Some((
            self.config.users.iter().find(|u| u.user == user)?,
            self.config.clusters.iter().find(|c| c.id == cluster)?,
        ))
    }
}

/// The `accountStatus` a pair's tokens state: the configured one, or `Normal` for a
/// region configured suspended whose account was resumed at run time.
pub(super) fn active_status(cluster: &AcCluster) -> &str {
    if cluster.suspended {
        "Normal"
    } else {
        &cluster.account_status
    }
}

/// The `accountStatus` a login states beside a suspended pair's null token: the
/// configured one of a region configured suspended, else `Disable`.
pub(super) fn suspended_status(cluster: &AcCluster) -> &str {
    if cluster.suspended {
        &cluster.account_status
    } else {
        "Disable"
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn ok(data: Value) -> Json<Value> {
    Json(json!({"msg": "success", "code": "0", "data": data}))
}

pub(super) fn refuse(code: &str, msg: &str) -> Json<Value> {
    Json(json!({"msg": msg, "code": code, "data": null}))
}

pub(super) fn incomplete() -> Json<Value> {
    refuse("10003", "参数不全")
}

fn invalid_token() -> Json<Value> {
    refuse("10004", "参数无效：token无效")
}

fn refused(refusal: Refusal) -> Json<Value> {
    let msg = match refusal {
        Refusal::Replaced => "权限不足：token已失效（已被续约替换）",
        Refusal::Expired => "权限不足：token已过期",
        Refusal::WindowClosed => "权限不足：token过期超过24小时，不可续约，请重新获取token",
        Refusal::Revoked => "权限不足：token已被吊销",
    };
    refuse("10008", msg)
}

/// A non-empty header, read as UTF-8 (user names may be Chinese).
pub(super) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = std::str::from_utf8(headers.get(name)?.as_bytes())
        .ok()?
        .trim();
    (!value.is_empty()).then_some(value)
}

/// `POST /ac/openapi/v2/tokens`.
pub(crate) async fn login(State(state): State<Arc<AcState>>, headers: HeaderMap) -> Json<Value> {
    // Header names are case-insensitive: `orgId` and the lower-case `orgid` of some
    // public clients are the same header.
    let (Some(user), Some(password), Some(org_id)) = (
        header(&headers, "user"),
        header(&headers, "password"),
        header(&headers, "orgId"),
    ) else {
        return incomplete();
    };
    let Some(account) = state
        .config
        .users
        .iter()
        .find(|u| u.user == user && u.password == password && u.org_id == org_id)
    else {
        return refuse("10004", "参数无效：用户名、密码或orgId错误");
    };
    state.regions(account)
}

impl AcState {
    /// The answer of a successful login (password or access key, §2.1/§2.5): every
    /// configured region with the pair's current token, a new one if it has none
    /// that is unexpired and unrevoked; `"token": null` where the account is suspended
    /// (as configured, or by the console since).
    pub(super) fn regions(&self, account: &AcUser) -> Json<Value> {
        let clock = self.clock();
        let regions: Vec<Value> = self
            .config
            .clusters
            .iter()
            .map(|cluster| {
                let key = (account.user.clone(), cluster.id.clone());
                let token = self
                    .registry
                    .login(key, &clock, |exp| self.mint(account, cluster, exp));
                match token {
                    Some(token) => json!({"clusterName": cluster.name,
                                          "clusterId": cluster.id, "token": token}),
                    // [ours] the status beside the null token, so clients can name it.
                    None => json!({"clusterName": cluster.name, "clusterId": cluster.id,
                                   "token": null,
                                   "accountStatus": suspended_status(cluster)}),
                }
            })
            .collect();
        ok(Value::Array(regions))
    }
}

/// `POST /ac/openapi/v2/tokens/next`.
pub(crate) async fn renew(State(state): State<Arc<AcState>>, headers: HeaderMap) -> Json<Value> {
    let Some(token) = header(&headers, "token") else {
        return incomplete();
    };
    let Some((account, cluster)) = state.owner(token) else {
        return invalid_token();
    };
    let key = (account.user.clone(), cluster.id.clone());
    let window = millis(state.config.renewal_window);
    match state
        .registry
        .renew(key, token, &state.clock(), window, |exp| {
            state.mint(account, cluster, exp)
        }) {
        Ok(new) => ok(Value::String(new)),
        Err(refusal) => refused(refusal),
    }
}

impl AcState {
    /// The owner of the `token` header if it is a current token (the check of
    /// `tokens/state`, which every token-protected route makes), else the refusal.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(&AcUser, &AcCluster), Json<Value>> {
        let token = header(headers, "token").ok_or_else(incomplete)?;
        let (account, cluster) = self.owner(token).ok_or_else(invalid_token)?;
        let key = (account.user.clone(), cluster.id.clone());
        self.registry
            .check(&key, token, self.clock().now_ms)
            .map_err(refused)?;
        Ok((account, cluster))
    }
}

/// `GET /ac/openapi/v2/tokens/state`.
pub(crate) async fn state(State(state): State<Arc<AcState>>, headers: HeaderMap) -> Json<Value> {
    match state.authenticate(&headers) {
        Ok(_) => ok(Value::String("token is valid".into())),
        Err(refusal) => refusal,
    }
}

/// `GET /ac/openapi/v2/center` (§2.6): the token's region, as a one-element list.
pub(crate) async fn center(State(state): State<Arc<AcState>>, headers: HeaderMap) -> Json<Value> {
    let (account, cluster) = match state.authenticate(&headers) {
        Ok(owner) => owner,
        Err(refusal) => return refusal,
    };
    // Authenticated first, authorised second: a client whose platform token expired
    // learns that (10008) before it learns the token is the wrong kind.
    if cluster.id == "0" {
        return refuse("10009", "没有权限访问接口");
    }
    ok(Value::Array(vec![super::center::region(account, cluster)]))
}

/// `POST /_sandbox/ac/check` (admin): whether the platform accepts the token now, as
/// `tokens/state` would decide.
pub(crate) async fn check(State(state): State<Arc<AcState>>, body: Bytes) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(token) = parsed
        .as_ref()
        .and_then(|v| v.get("token"))
        .and_then(Value::as_str)
    else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "the body must be {\"token\": \"<token>\"}"})),
        )
            .into_response();
    };
    let accepted = state.owner(token).is_some_and(|(account, cluster)| {
        let key = (account.user.clone(), cluster.id.clone());
        state
            .registry
            .check(&key, token, state.clock().now_ms)
            .is_ok()
    });
    Json(json!({ "accepted": accepted })).into_response()
}

/// `POST /_sandbox/ac/revoke`.
pub(crate) async fn revoke(State(state): State<Arc<AcState>>, body: Bytes) -> Response {
    crate::revoke::respond(&body, |token| state.registry.revoke(token))
}
