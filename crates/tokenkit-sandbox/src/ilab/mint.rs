//! Tokens and answers shaped like the seed's examples (§1.1/§1.2) and like the
//! `open/api/v2` dialect's (§1.3).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokenkit_core::civil::{beijing_display, from_unix_millis, unix_millis};

use super::handlers::Dialect;
use super::opaque;
use super::state::Grant;
use crate::jwt::mint_hs256;

pub(crate) const SUCCESS_MSG: &str = "调用成功，返回所需数据";
const SCOPE: &str = "callback:score";

/// A freshly minted access token and the grant's refresh token.
pub(crate) struct Minted {
    /// A JWT in the seed dialect, an opaque token in the `open/api/v2` one.
    pub(crate) access: String,
    /// Whether `access` is opaque (found by its value, not by a `jti` claim).
    pub(crate) opaque: bool,
    pub(crate) access_jti: String,
    pub(crate) refresh: String,
    created_ms: i64,
    /// When the access token expires, to the millisecond (its `exp` is rounded up).
    pub(crate) expires_ms: i64,
    ttl: Duration,
}

/// Mints an access token for `grant` (its `jti` is new) and the grant's refresh token
/// (`jti` = grant id, `ati` = the new access token), as in the seed's §1.2 example.
///
/// In the `open/api/v2` dialect the access token is opaque standard Base64 (§1.3), as
/// the platform's main deployment issues them; its `jti` is then only the ledger's id.
pub(crate) fn mint(
    key: &[u8],
    appid: &str,
    grant: &Grant,
    ttl: Duration,
    dialect: Dialect,
) -> Minted {
    let created_ms = unix_millis(SystemTime::now());
    let expires_ms = created_ms + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let access_jti = uuid::Uuid::new_v4().to_string();
    let mut claims = json!({
        "msg": SUCCESS_MSG,
        "code": 0,
        "create_time": created_ms,
        "create_time_display": beijing_display(from_unix_millis(created_ms)),
        "user_name": grant.un,
        "authorities": ["ADMIN"],
        "client_id": appid,
        // The seed's tokens carry the user id in `dis`.
        "dis": grant.un,
        "scope": [SCOPE],
        "expires_time_display": beijing_display(from_unix_millis(expires_ms)),
        "un": grant.un,
        // `exp` in seconds, rounded up as in the seed (…628122 ms → …629 s).
        "exp": (expires_ms + 999).div_euclid(1000),
        "jti": access_jti,
        "expires_time": expires_ms,
    });
    let is_opaque = dialect == Dialect::V2;
    let access = if is_opaque {
        opaque::mint()
    } else {
        mint_hs256(key, &claims)
    };
    claims["ati"] = json!(access_jti);
    claims["jti"] = json!(grant.id);
    claims["exp"] = json!(unix_millis(grant.refresh_expires).div_euclid(1000));
    let refresh = mint_hs256(key, &claims);
    Minted {
        access,
        opaque: is_opaque,
        access_jti,
        refresh,
        created_ms,
        expires_ms,
        ttl,
    }
}

/// The full §1.1/§1.2 answer: every documented field, times as 13-digit strings.
pub(crate) fn oauth_body(minted: &Minted, un: &str, dis: &str) -> Value {
    json!({
        "code": 0,
        "msg": SUCCESS_MSG,
        "access_token": minted.access,
        "token_type": "bearer",
        "refresh_token": minted.refresh,
        "expires_in": minted.ttl.as_secs(),
        "scope": SCOPE,
        "un": un,
        "dis": dis,
        "create_time": minted.created_ms.to_string(),
        "create_time_display": beijing_display(from_unix_millis(minted.created_ms)),
        "expires_time": minted.expires_ms.to_string(),
        "expires_time_display": beijing_display(from_unix_millis(minted.expires_ms)),
        "jti": minted.access_jti,
    })
}

/// The `open/api/v2` answer (§1.3) in the shapes public typed clients declare: `code`
/// and the 13-digit times as JSON numbers, both display times, an opaque token, no
/// refresh token (the original access token refreshes).
pub(crate) fn v2_body(minted: &Minted, un: &str, dis: &str) -> Value {
    json!({
        "code": 0,
        "msg": SUCCESS_MSG,
        "access_token": minted.access,
        "create_time": minted.created_ms,
        "create_time_display": beijing_display(from_unix_millis(minted.created_ms)),
        "expires_time": minted.expires_ms,
        "expires_time_display": beijing_display(from_unix_millis(minted.expires_ms)),
        "un": un,
        "dis": dis,
    })
}

/// `{"code": N, "msg": "..."}`.
pub(crate) fn error(code: u32, msg: &str) -> Value {
    json!({"code": code, "msg": msg})
}
