//! The tokens the emulated ac platform considers current: one per (user, cluster).
//!
//! Issuing a new token for a pair (a renewal, or a login after expiry) replaces the
//! previous one, which from then on is refused with 10008: the strictest reading of
//! "renewal returns a new token", so clients prove they switch over.
//!
//! A revoked token stays recorded as the pair's current one, flagged: it is refused
//! everywhere, a login replaces it, and the replacement is still minted with a strictly
//! later `expireTime`, so it can never be the same JWT again.

use std::collections::HashMap;
use std::sync::Mutex;

/// Why a presented token is refused (all answered with 10008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Another token (its renewal) has replaced it, or it was never issued here.
    Replaced,
    /// Its `expireTime` has passed.
    Expired,
    /// It is more than the renewal window past its `expireTime`.
    WindowClosed,
    /// An operator revoked it (`POST /_sandbox/ac/revoke`).
    Revoked,
}

struct Issued {
    token: String,
    expire_ms: i64,
    revoked: bool,
}

/// (user, clusterId) → the current token.
#[derive(Default)]
pub(super) struct Registry {
    current: Mutex<HashMap<(String, String), Issued>>,
}

/// What a new token needs: the time and the expiry to mint it with.
pub(super) struct Clock {
    pub now_ms: i64,
    pub ttl_ms: i64,
}

impl Registry {
    /// The current token of the pair if it has not expired and was not revoked, else a
    /// newly minted one that replaces it.
    pub fn login(
        &self,
        key: (String, String),
        clock: &Clock,
        mint: impl FnOnce(i64) -> String,
    ) -> String {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(issued) = current.get(&key)
            && clock.now_ms < issued.expire_ms
            && !issued.revoked
        {
            return issued.token.clone();
        }
        issue(&mut current, key, clock, mint)
    }

    /// Renews `presented`: it must be the pair's current token and within
    /// `window_ms` of its expiry. The new token replaces it.
    pub fn renew(
        &self,
        key: (String, String),
        presented: &str,
        clock: &Clock,
        window_ms: i64,
        mint: impl FnOnce(i64) -> String,
    ) -> Result<String, Refusal> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.get(&key) {
            Some(issued) if issued.token == presented => {
                if issued.revoked {
                    return Err(Refusal::Revoked);
                }
                if clock.now_ms > issued.expire_ms.saturating_add(window_ms) {
                    return Err(Refusal::WindowClosed);
                }
            }
            _ => return Err(Refusal::Replaced),
        }
        Ok(issue(&mut current, key, clock, mint))
    }

    /// Whether `presented` is the pair's current, unexpired, unrevoked token.
    pub fn check(
        &self,
        key: &(String, String),
        presented: &str,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.get(key) {
            Some(issued) if issued.token == presented => {
                if issued.revoked {
                    Err(Refusal::Revoked)
                } else if now_ms >= issued.expire_ms {
                    Err(Refusal::Expired)
                } else {
                    Ok(())
                }
            }
            _ => Err(Refusal::Replaced),
        }
    }

    /// Revokes `presented`; `true` if it is the current token of some pair (expired or
    /// not, revoked before or not: an expired token can still be renewed, so revoking
    /// it matters). A replaced token is refused already and is left alone.
    pub fn revoke(&self, presented: &str) -> bool {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        // A scan, not a lookup by claims: revocation must not depend on the token
        // being well-formed, and a sandbox holds a handful of pairs.
        match current.values_mut().find(|i| i.token == presented) {
            Some(issued) => {
                issued.revoked = true;
                true
            }
            None => false,
        }
    }
}

/// Mints and records a token. Its `expireTime` is strictly later than its
/// predecessor's, so two tokens minted in the same millisecond still differ.
fn issue(
    current: &mut HashMap<(String, String), Issued>,
    key: (String, String),
    clock: &Clock,
    mint: impl FnOnce(i64) -> String,
) -> String {
    let earliest = current.get(&key).map_or(i64::MIN, |i| i.expire_ms + 1);
    let expire_ms = clock.now_ms.saturating_add(clock.ttl_ms).max(earliest);
    let token = mint(expire_ms);
    current.insert(
        key,
        Issued {
            token: token.clone(),
            expire_ms,
            revoked: false,
        },
    );
    token
}
