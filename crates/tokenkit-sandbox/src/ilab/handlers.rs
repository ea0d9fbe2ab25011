//! The ilab handlers: checks in the order a careful server makes them — parameters
//! (code 1), appid and signature (code 2) before the ticket or token is looked at, so a
//! bad signature never burns a ticket or a refresh.

use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Value, json};
use tokenkit_core::civil::unix_seconds;

use super::Ilab;
use super::access::{Holder, Issue, jti_of};
use super::mint::{self, Minted, error};
use super::state::{Grant, State as Memory, TicketRefusal};
use crate::journal::{End, Issue as JournalIssue, Kind, Platform};
use crate::jwt::verify_hs256;
use crate::params::Params;

/// Which dialect a route speaks (§1.1/§1.2 or §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `/oauth/token/…` (§1.1/§1.2).
    OAuth,
    /// `/open/api/v2/token…` (§1.3).
    V2,
}

/// One of the two operations of a dialect.
type Operation = fn(&Ilab, &Params, Dialect) -> Value;

/// GET and POST of one route: parameters from the query or a form body (§1.1/§1.2).
pub(crate) fn route(operation: Operation, dialect: Dialect) -> MethodRouter<Ilab> {
    let handler = move |State(ilab): State<Ilab>, RawQuery(query): RawQuery, body: Bytes| async move {
        Json(operation(
            &ilab,
            &Params::parse(query.as_deref(), &body),
            dialect,
        ))
    };
    get(handler).post(handler)
}

/// The body of `POST /_sandbox/ilab/tickets`.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketRequest {
    un: String,
    #[serde(default)]
    dis: Option<String>,
}

pub(crate) async fn issue_ticket(
    State(ilab): State<Ilab>,
    Json(request): Json<TicketRequest>,
) -> (StatusCode, Json<Value>) {
    if request.un.trim().is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "`un` must not be empty"})),
        );
    }
    let dis = request.dis.unwrap_or_else(|| request.un.clone());
    let ticket = ilab
        .lock()
        .issue_ticket(&request.un, &dis, ilab.config.ticket_ttl);
    let encoded =
        percent_encoding::utf8_percent_encode(&ticket, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    (
        StatusCode::OK,
        Json(json!({"ticket": ticket, "ticket_url_encoded": encoded})),
    )
}

impl Ilab {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, super::state::State> {
        // Every update is a single map operation: a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `None` when appid and signature are right, else the error answer.
    pub(crate) fn check_signature(
        &self,
        value: &str,
        appid: &str,
        signature: &str,
    ) -> Option<Value> {
        if appid != self.config.appid {
            return Some(error(6, "非法操作：appid不存在"));
        }
        (!self.signature_matches(value, appid, signature)).then(|| {
            error(
                2,
                "密钥错误：signature不匹配。请注意签名时如有encode参数，均需要decode解码处理",
            )
        })
    }

    /// Whether `signature` is `HEX(MD5(value + appid + secret))` in the configured case
    /// (§1.1–§1.4: every signed route hashes the decoded value this way).
    pub(crate) fn signature_matches(&self, value: &str, appid: &str, signature: &str) -> bool {
        let digest = Md5::digest(format!("{value}{appid}{}", self.config.secret).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        let expected = if self.config.lowercase_hex {
            hex.to_lowercase()
        } else {
            hex
        };
        signature == expected
    }
}

pub(crate) fn exchange(ilab: &Ilab, params: &Params, dialect: Dialect) -> Value {
    let (Some(ticket), Some(appid), Some(signature)) = (
        params.get("ticket"),
        params.get("appid"),
        params.get("signature"),
    ) else {
        return error(1, "参数错误：ticket缺失/appid缺失/signature缺失");
    };
    if let Some(refusal) = ilab.check_signature(ticket, appid, signature) {
        return refusal;
    }
    let mut state = ilab.lock();
    let (un, dis) = match state.redeem(ticket) {
        Ok(who) => who,
        Err(TicketRefusal::Expired) => return error(3, "ticket过期"),
        Err(TicketRefusal::Invalid) => return error(4, "无效ticket"),
    };
    let mut grant = Grant {
        un,
        dis,
        id: uuid::Uuid::new_v4().to_string(),
        original_ati: String::new(),
        refreshes: 0,
        refresh_expires: SystemTime::now() + ilab.config.refresh_ttl,
    };
    let minted = mint::mint(&ilab.jwt_key, appid, &grant, ilab.config.ttl, dialect);
    grant.original_ati.clone_from(&minted.access_jti);
    issue(ilab, &mut state, &grant, &minted, appid);
    state.add_grant(grant.clone());
    match dialect {
        Dialect::OAuth => mint::oauth_body(&minted, &grant.un, &grant.dis),
        Dialect::V2 => mint::v2_body(&minted, &grant.un, &grant.dis),
    }
}

pub(crate) fn refresh(ilab: &Ilab, params: &Params, dialect: Dialect) -> Value {
    let name = match dialect {
        Dialect::OAuth => "refresh_token",
        Dialect::V2 => "access_token",
    };
    let (Some(token), Some(appid), Some(signature)) = (
        params.get(name),
        params.get("appid"),
        params.get("signature"),
    ) else {
        return error(1, "参数错误：access_token缺失/appid缺失/signature缺失");
    };
    if let Some(refusal) = ilab.check_signature(token, appid, signature) {
        return refusal;
    }
    let mut state = ilab.lock();
    let grant = match dialect {
        Dialect::OAuth => {
            let Some(claims) = verify_hs256(&ilab.jwt_key, token) else {
                return error(3, "无效access_token");
            };
            let claim = |n: &str| claims.get(n).and_then(Value::as_str).unwrap_or_default();
            if claim("ati").is_empty() {
                // An access token where the refresh token belongs.
                return error(4, "原始access_token不正确");
            }
            let Some(grant) = state.grant_mut(claim("jti")) else {
                return error(3, "无效access_token");
            };
            if grant.original_ati != claim("ati") {
                // A refresh token issued by a refresh: it cannot start a new chain.
                return error(4, "原始access_token不正确");
            }
            grant
        }
        // §1.3: the grant's original access token, opaque as this dialect issues it (a
        // JWT of the seed dialect's exchange names its grant as well).
        Dialect::V2 => {
            let Some(jti) = jti_of(&state, &ilab.jwt_key, token) else {
                return error(3, "无效access_token");
            };
            match state.grant_of_original_access(&jti) {
                Some(grant) => grant,
                None => return error(4, "原始access_token不正确"),
            }
        }
    };
    if unix_seconds(SystemTime::now()) >= unix_seconds(grant.refresh_expires) {
        return error(3, "无效access_token");
    }
    if grant.refreshes >= ilab.config.refresh_budget {
        return error(5, "请重新获取access_token（重新获取次数超出2次）");
    }
    grant.refreshes += 1;
    let grant = grant.clone();
    // Minted under the lock so the spent refresh and the new current access token (which
    // retires the previous one for `data_upload`) are recorded together.
    let minted = mint::mint(&ilab.jwt_key, appid, &grant, ilab.config.ttl, dialect);
    issue(ilab, &mut state, &grant, &minted, appid);
    drop(state);
    // As in the seed's §1.2 example, the refresh answer carries the user id in `dis`.
    match dialect {
        Dialect::OAuth => mint::oauth_body(&minted, &grant.un, &grant.un),
        Dialect::V2 => mint::v2_body(&minted, &grant.un, &grant.un),
    }
}

/// Records `minted`'s access token in the ledger as `grant`'s current one, and in the
/// journal (its predecessor, if any, as refreshed away).
fn issue(ilab: &Ilab, state: &mut Memory, grant: &Grant, minted: &Minted, appid: &str) {
    let previous = state.access.issue(Issue {
        grant: &grant.id,
        jti: &minted.access_jti,
        expires_ms: minted.expires_ms,
        holder: Holder {
            un: grant.un.clone(),
            appid: appid.to_owned(),
            grant: grant.id.clone(),
        },
        opaque: minted.opaque.then_some(minted.access.as_str()),
        token: &minted.access,
    });
    if let Some(previous) = previous {
        ilab.journal
            .ended(Platform::Ilab, &previous, End::Refreshed);
    }
    ilab.journal.issued(JournalIssue {
        platform: Platform::Ilab,
        kind: Kind::Access,
        subject: grant.un.clone(),
        token: &minted.access,
        id: &minted.access_jti,
        expires: tokenkit_core::civil::from_unix_millis(minted.expires_ms),
    });
}
