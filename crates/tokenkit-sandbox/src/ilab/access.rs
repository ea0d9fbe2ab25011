//! Which access tokens the emulated ilab platform accepts on the routes that use them
//! (§1.4 `data_upload`, `data_get`), and the revoke admin route.
//!
//! A grant has exactly one *current* access token: the exchange's, then each refresh's
//! new one, which retires its predecessor ("refreshed away"). That is the strictest
//! reading of a refresh, so clients prove they switch to the new token at once. An
//! access token is accepted only while it is its grant's current one, unexpired (our own
//! millisecond record, never later than a JWT's `exp`) and not revoked. Revoking an
//! access token leaves the grant's refresh token alone: a refresh still works and issues
//! a fresh access token, which is how a client recovers.
//!
//! Access tokens come in two forms: HS256 JWTs (the seed dialect) and opaque Base64
//! strings (the `open/api/v2` dialect, §1.3). Both resolve to the same ledger entry, by
//! the JWT's `jti` or by the opaque value, so every rule above holds for either.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use tokenkit_core::civil::unix_millis;

use super::Ilab;
use super::mint::error;
use super::state::State as Memory;
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

/// Whose an accepted access token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// The platform user (`un`).
    pub(crate) un: String,
    /// The experiment's appid the token was issued to (`client_id`).
    pub(crate) appid: String,
    /// The grant (refresh-token `jti`) the token belongs to: whose session a record
    /// uploaded with it is shown under.
    pub(crate) grant: String,
}

/// One access token being issued.
#[derive(Debug)]
pub(crate) struct Issue<'a> {
    /// The grant (refresh-token `jti`) it belongs to.
    pub(crate) grant: &'a str,
    /// Its id.
    pub(crate) jti: &'a str,
    /// Its expiry, to the millisecond.
    pub(crate) expires_ms: i64,
    /// Whose it is.
    pub(crate) holder: Holder,
    /// The token itself when it is opaque: a JWT carries its `jti`, an opaque token is
    /// found by its value.
    pub(crate) opaque: Option<&'a str>,
    /// The token, for its masked form (the console shows no more).
    pub(crate) token: &'a str,
}

#[derive(Debug)]
struct Issued {
    grant: String,
    expires_ms: i64,
    revoked: bool,
    holder: Holder,
    masked: String,
}

/// A grant's current access token, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    /// Its id.
    pub(crate) jti: String,
    /// The token, masked.
    pub(crate) masked: String,
    /// Its expiry, to the millisecond.
    pub(crate) expires_ms: i64,
    /// Whether an operator revoked it.
    pub(crate) revoked: bool,
}

/// Every access token issued (by `jti`) and each grant's current one.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    issued: HashMap<String, Issued>,
    /// Grant id → `jti` of its current access token.
    current: HashMap<String, String>,
    /// Opaque token → its `jti`.
    opaque: HashMap<String, String>,
}

impl Ledger {
    /// Records a new access token; it replaces its grant's current one, whose `jti`
    /// is returned.
    pub(crate) fn issue(&mut self, issue: Issue<'_>) -> Option<String> {
        self.issued.insert(
            issue.jti.to_owned(),
            Issued {
                grant: issue.grant.to_owned(),
                expires_ms: issue.expires_ms,
                revoked: false,
                holder: issue.holder,
                masked: crate::mask::mask(issue.token),
            },
        );
        let previous = self
            .current
            .insert(issue.grant.to_owned(), issue.jti.to_owned());
        if let Some(token) = issue.opaque {
            self.opaque.insert(token.to_owned(), issue.jti.to_owned());
        }
        previous
    }

    /// The current access token of `grant`, if it has one.
    pub(crate) fn current_of(&self, grant: &str) -> Option<Current> {
        let jti = self.current.get(grant)?;
        let issued = self.issued.get(jti)?;
        Some(Current {
            jti: jti.clone(),
            masked: issued.masked.clone(),
            expires_ms: issued.expires_ms,
            revoked: issued.revoked,
        })
    }

    /// The `jti` of the opaque token `token`, if this platform issued it.
    pub(crate) fn jti_of_opaque(&self, token: &str) -> Option<&str> {
        self.opaque.get(token).map(String::as_str)
    }

    /// Whether the access token `jti` is accepted at `now_ms`, and whose it is.
    pub(crate) fn check(&self, jti: &str, now_ms: i64) -> Result<&Holder, AccessRefusal> {
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
        Ok(&issued.holder)
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

/// The `jti` a presented token stands for: an opaque token by its value, a JWT by its
/// verified `jti` claim. `None` for anything this platform did not sign or issue.
///
/// For a refresh token this is its grant's id, which the ledger does not know as an
/// access token: it is refused as unknown wherever an access token is wanted.
pub(crate) fn jti_of(state: &Memory, key: &[u8], token: &str) -> Option<String> {
    if let Some(jti) = state.access.jti_of_opaque(token) {
        return Some(jti.to_owned());
    }
    // An unencoded `+` arrives as a space and fails the lookup or the signature here,
    // as on the platform.
    let claims = verify_hs256(key, token)?;
    claims.get("jti")?.as_str().map(str::to_owned)
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
    let state = ilab.lock();
    let jti =
        jti_of(&state, &ilab.jwt_key, token).ok_or_else(|| invalid(AccessRefusal::Unknown))?;
    let now = unix_millis(SystemTime::now());
    state.access.check(&jti, now).cloned().map_err(invalid)
}

/// `POST /_sandbox/ilab/revoke`.
pub(crate) async fn revoke(State(ilab): State<Ilab>, body: Bytes) -> Response {
    crate::revoke::respond(&body, |token| {
        let jti = jti_of(&ilab.lock(), &ilab.jwt_key, token);
        jti.is_some_and(|jti| ilab.revoke_jti(&jti))
    })
}

impl Ilab {
    /// Revokes the access token `jti` (see [`Ledger::revoke`]) and reports it to the
    /// journal; `true` if it was its grant's current one.
    pub(crate) fn revoke_jti(&self, jti: &str) -> bool {
        let revoked = self.lock().access.revoke(jti);
        if revoked {
            self.journal.ended(
                crate::journal::Platform::Ilab,
                jti,
                crate::journal::End::Revoked,
            );
        }
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue<'a>(
        grant: &'a str,
        jti: &'a str,
        expires_ms: i64,
        opaque: Option<&'a str>,
    ) -> Issue<'a> {
        Issue {
            grant,
            jti,
            expires_ms,
            holder: Holder {
                un: "u".to_owned(),
                appid: "app".to_owned(),
                grant: grant.to_owned(),
            },
            opaque,
            token: jti,
        }
    }

    #[test]
    fn only_the_current_unexpired_unrevoked_token_passes() {
        let mut ledger = Ledger::default();
        ledger.issue(issue("g", "a1", 1_000, None));
        assert_eq!(ledger.check("a1", 999).map(|h| h.un.as_str()), Ok("u"));
        assert_eq!(ledger.check("a1", 1_000), Err(AccessRefusal::Expired));
        assert_eq!(ledger.check("g", 0), Err(AccessRefusal::Unknown));
        ledger.issue(issue("g", "a2", 2_000, None));
        assert_eq!(ledger.check("a1", 0), Err(AccessRefusal::RefreshedAway));
        assert!(!ledger.revoke("a1"), "refreshed away already");
        assert!(ledger.revoke("a2"));
        assert_eq!(ledger.check("a2", 0), Err(AccessRefusal::Revoked));
        assert!(!ledger.revoke("never"));
        ledger.issue(issue("g", "a3", 3_000, None));
        assert!(ledger.check("a3", 0).is_ok(), "a refresh recovers");
    }

    #[test]
    fn an_opaque_token_resolves_to_its_entry() {
        let mut ledger = Ledger::default();
        ledger.issue(issue("g", "a1", 1_000, Some("ab+/cd==")));
        assert_eq!(ledger.jti_of_opaque("ab+/cd=="), Some("a1"));
        assert_eq!(
            ledger.jti_of_opaque("ab /cd=="),
            None,
            "a `+` read as a space"
        );
        ledger.issue(issue("g", "a2", 2_000, Some("ef+/gh==")));
        let old = ledger.jti_of_opaque("ab+/cd==").map(str::to_owned);
        assert_eq!(
            old.map(|jti| ledger.check(&jti, 0).err()),
            Some(Some(AccessRefusal::RefreshedAway)),
            "one ledger: the opaque token is refreshed away like a JWT"
        );
    }
}
