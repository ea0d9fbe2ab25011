//! Which access tokens the emulated ilab platform accepts on the routes that use them
//! (§1.4 `data_upload`), and the revoke admin route.
//!
//! A grant has exactly one *current* access token: the exchange's, then each refresh's
//! new one, which retires its predecessor ("refreshed away"). That is the strictest
//! reading of a refresh, so clients prove they switch to the new token at once. An
//! access token is accepted only while it is its grant's current one, unexpired (its
//! JWT `exp` and our own millisecond record) and not revoked. Revoking an access token
//! leaves the grant's refresh token alone: a refresh still works and issues a fresh
//! access token, which is how a client recovers.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use tokenkit_core::civil::{unix_millis, unix_seconds};

use super::Ilab;
use super::mint::error;
use crate::jwt::verify_hs256;

/// Why an access token is refused (all answered with code 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessRefusal {
    /// Not an access token this platform issued (a refresh token, a foreign token).
    Unknown,
    /// Past its expiry.
    Expired,
    /// A refresh issued its grant a newer access token.
    RefreshedAway,
    /// An operator revoked it (`POST /_sandbox/ilab/revoke`).
    Revoked,
}

#[derive(Debug)]
struct Issued {
    grant: String,
    expires_ms: i64,
    revoked: bool,
}

/// Every access token issued (by `jti`) and each grant's current one.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    issued: HashMap<String, Issued>,
    /// Grant id → `jti` of its current access token.
    current: HashMap<String, String>,
}

impl Ledger {
    /// Records a new access token of `grant`; it replaces the grant's current one.
    pub(crate) fn issue(&mut self, grant: &str, jti: &str, expires_ms: i64) {
        self.issued.insert(
            jti.to_owned(),
            Issued {
                grant: grant.to_owned(),
                expires_ms,
                revoked: false,
            },
        );
        self.current.insert(grant.to_owned(), jti.to_owned());
    }

    /// Whether the access token `jti` is accepted at `now_ms`.
    pub(crate) fn check(&self, jti: &str, now_ms: i64) -> Result<(), AccessRefusal> {
        let issued = self.issued.get(jti).ok_or(AccessRefusal::Unknown)?;
        if issued.revoked {
            return Err(AccessRefusal::Revoked);
        }
        if self.current.get(&issued.grant).map(String::as_str) != Some(jti) {
            return Err(AccessRefusal::RefreshedAway);
        }
        if now_ms >= issued.expires_ms {
            return Err(AccessRefusal::Expired);
        }
        Ok(())
    }

    /// Revokes the access token `jti`; `true` if it is its grant's current one (a
    /// refreshed-away token is refused already and is left alone).
    pub(crate) fn revoke(&mut self, jti: &str) -> bool {
        let Some(issued) = self.issued.get_mut(jti) else {
            return false;
        };
        if self.current.get(&issued.grant).map(String::as_str) != Some(jti) {
            return false;
        }
        issued.revoked = true;
        true
    }
}

/// Whose an accepted access token is.
#[derive(Debug)]
pub(crate) struct Holder {
    /// The claim `un`: the platform user.
    pub(crate) un: String,
    /// The claim `client_id`: the experiment's appid.
    pub(crate) appid: String,
}

/// The check a route that takes `access_token` makes: code 1 when it is missing, code 2
/// (what clients read as "no longer valid", §1.4) for every other refusal.
pub(crate) fn authenticate(ilab: &Ilab, token: Option<&str>) -> Result<Holder, Value> {
    let Some(token) = token else {
        return Err(error(1, "参数错误：缺少参数access_token"));
    };
    let invalid = |why: AccessRefusal| {
        // The reason helps whoever debugs a test; the token itself is a secret.
        tracing::debug!(?why, "ilab sandbox refused an access token");
        error(2, "access_token无效或已过期")
    };
    // An unencoded `+` arrives as a space and fails the signature here, as on the
    // platform.
    let claims =
        verify_hs256(&ilab.jwt_key, token).ok_or_else(|| invalid(AccessRefusal::Unknown))?;
    let claim = |n: &str| claims.get(n).and_then(Value::as_str).map(str::to_owned);
    let now = SystemTime::now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN);
    if unix_seconds(now) >= exp {
        return Err(invalid(AccessRefusal::Expired));
    }
    // A refresh token's `jti` is its grant's id, never an access token's: the ledger
    // does not know it, so a refresh token is refused as unknown.
    let jti = claim("jti").unwrap_or_default();
    ilab.lock()
        .access
        .check(&jti, unix_millis(now))
        .map_err(invalid)?;
    Ok(Holder {
        un: claim("un").unwrap_or_default(),
        appid: claim("client_id").unwrap_or_default(),
    })
}

/// `POST /_sandbox/ilab/revoke`.
pub(crate) async fn revoke(State(ilab): State<Ilab>, body: Bytes) -> Response {
    crate::revoke::respond(&body, |token| {
        let jti = verify_hs256(&ilab.jwt_key, token)
            .and_then(|claims| claims.get("jti")?.as_str().map(str::to_owned));
        jti.is_some_and(|jti| ilab.lock().access.revoke(&jti))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_unexpired_unrevoked_token_passes() {
        let mut ledger = Ledger::default();
        ledger.issue("g", "a1", 1_000);
        assert_eq!(ledger.check("a1", 999), Ok(()));
        assert_eq!(ledger.check("a1", 1_000), Err(AccessRefusal::Expired));
        assert_eq!(ledger.check("g", 0), Err(AccessRefusal::Unknown));
        ledger.issue("g", "a2", 2_000);
        assert_eq!(ledger.check("a1", 0), Err(AccessRefusal::RefreshedAway));
        assert!(!ledger.revoke("a1"), "refreshed away already");
        assert!(ledger.revoke("a2"));
        assert_eq!(ledger.check("a2", 0), Err(AccessRefusal::Revoked));
        assert!(!ledger.revoke("never"));
        ledger.issue("g", "a3", 3_000);
        assert_eq!(ledger.check("a3", 0), Ok(()), "a refresh recovers");
    }
}
