//! The sessions of the emulated bo platform as chains: a session made by
//! `POST /_sandbox/bo/sessions` is session number n (1, 2, …), and every refresh token
//! and access token it ever got belongs to it, in the order it got them. The console
//! shows the chains and revokes a session as a whole.
//!
//! The chains are the platform's record for display; what the refresh route and
//! `whoami` accept is still decided by the book's `live` map, its retired refresh
//! tokens and the access ledger, and every change here is made under the same lock as
//! the change there. A chain keeps tokens only masked, and access tokens by `jti`.

use crate::journal::{End, Platform};
use crate::mask::mask;

use super::{Bo, Book, now_ms};

/// Why a refresh token the platform issued is no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retirement {
    /// Spent by its refresh, which issued its successor (rotation).
    Rotated,
    /// Its session was revoked.
    Revoked,
}

impl Retirement {
    /// The `errorText` of the refresh route's 401 for a token retired this way.
    pub(super) fn refusal_text(self) -> &'static str {
        match self {
            Retirement::Rotated => "the refresh token was already used",
            Retirement::Revoked => "the refresh token was revoked",
        }
    }
}

/// A refresh token of a session, masked.
#[derive(Debug, Clone)]
pub(super) struct RefreshLink {
    pub(super) masked: String,
    pub(super) issued_ms: i64,
    pub(super) expires_ms: i64,
    /// How it was retired, if it was; an unretired one may still have expired.
    pub(super) end: Option<Retirement>,
}

/// An access token of a session: its `jti` (what the ledger knows it by), masked.
#[derive(Debug, Clone)]
pub(super) struct AccessLink {
    pub(super) jti: String,
    pub(super) masked: String,
    pub(super) issued_ms: i64,
    pub(super) expires_ms: i64,
}

/// One session: whose it is and every token it got.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    pub(super) user_id: String,
    pub(super) user_name: String,
    /// In issue order. With rotation on, only the last can be live: a refresh retires
    /// the token it spends before the next one is issued, under one lock.
    pub(super) refresh: Vec<RefreshLink>,
    /// In issue order.
    pub(super) access: Vec<AccessLink>,
    /// When the console revoked it.
    pub(super) revoked_ms: Option<i64>,
}

/// Every session, by number.
#[derive(Debug, Default)]
pub(super) struct Chains {
    chains: Vec<Chain>,
}

impl Chains {
    /// Opens the next session for the user; answers its number (the first is 1).
    pub(super) fn open(&mut self, user_id: &str, user_name: &str) -> u64 {
        self.chains.push(Chain {
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            refresh: Vec::new(),
            access: Vec::new(),
            revoked_ms: None,
        });
        self.chains.len() as u64
    }

    /// Session `number`, if there is one.
    pub(super) fn get(&self, number: u64) -> Option<&Chain> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.chains.get(index)
    }

    fn get_mut(&mut self, number: u64) -> Option<&mut Chain> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.chains.get_mut(index)
    }

    /// Every session with its number, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &Chain)> {
        (1_u64..).zip(self.chains.iter())
    }

    /// Adds `token`, just issued to session `number`, to its chain.
    pub(super) fn refresh_issued(
        &mut self,
        number: u64,
        token: &str,
        now_ms: i64,
        expires_ms: i64,
    ) {
        if let Some(chain) = self.get_mut(number) {
            chain.refresh.push(RefreshLink {
                masked: mask(token),
                issued_ms: now_ms,
                expires_ms,
                end: None,
            });
        }
    }

    /// Adds the access token `token` (`jti`), just issued to session `number`.
    pub(super) fn access_issued(
        &mut self,
        number: u64,
        jti: &str,
        token: &str,
        now_ms: i64,
        expires_ms: i64,
    ) {
        if let Some(chain) = self.get_mut(number) {
            chain.access.push(AccessLink {
                jti: jti.to_owned(),
                masked: mask(token),
                issued_ms: now_ms,
                expires_ms,
            });
        }
    }

    /// Marks session `number`'s live refresh token (its last) retired as `how`.
    pub(super) fn retire_last(&mut self, number: u64, how: Retirement) {
        if let Some(link) = self
            .get_mut(number)
            .and_then(|chain| chain.refresh.last_mut())
            .filter(|link| link.end.is_none())
        {
            link.end = Some(how);
        }
    }
}

/// What revoking a session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionRevocation {
    /// Its live refresh token was retired and its access tokens revoked.
    Revoked,
    /// It had been revoked before: nothing changed.
    AlreadyRevoked,
    /// There is no session of that number.
    Unknown,
}

impl Bo {
    /// Revokes session `number` (the console's revoke button): its live refresh token
    /// is retired, so the refresh route refuses it as revoked, and every access token
    /// it got is revoked, so `whoami` refuses them; the journal is told of both.
    pub(crate) fn revoke_session(&self, number: u64) -> SessionRevocation {
        let now = now_ms();
        let mut book = self.book();
        let Book {
            live,
            retired,
            access,
            chains,
            ..
        } = &mut *book;
        match chains.get(number) {
            None => return SessionRevocation::Unknown,
            Some(chain) if chain.revoked_ms.is_some() => return SessionRevocation::AlreadyRevoked,
            Some(_) => {}
        }
        // With rotation on a session has one live refresh token, with it off one that
        // is used again; `live` holds it, so the search finds every one there is.
        let spent: Vec<String> = live
            .iter()
            .filter(|(_, session)| session.number == number)
            .map(|(token, _)| token.clone())
            .collect();
        for token in &spent {
            if let Some(session) = live.remove(token)
                && now <= session.refresh_expires_ms
            {
                // An expired one ended by expiring; it is retired all the same.
                chains.retire_last(number, Retirement::Revoked);
                self.common.journal.ended(Platform::Bo, token, End::Revoked);
            }
            retired.insert(token.clone(), Retirement::Revoked);
        }
        if let Some(chain) = chains.get_mut(number) {
            chain.revoked_ms = Some(now);
            for link in &chain.access {
                if access.revoke(&link.jti) {
                    self.common
                        .journal
                        .ended(Platform::Bo, &link.jti, End::Revoked);
                }
            }
        }
        SessionRevocation::Revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_numbered_from_one_and_keep_tokens_masked() {
        let mut chains = Chains::default();
        assert_eq!(chains.open("u1", "one"), 1);
        assert_eq!(chains.open("u2", "two"), 2);
        assert!(chains.get(0).is_none() && chains.get(3).is_none());
        let token = "0123456789abcdef0123456789abcdef";
        chains.refresh_issued(2, token, 10, 20);
        chains.access_issued(2, "jti-1", "eyJhbGciOiJIUzI1NiJ9.e30.sig-x9Qk", 10, 30);
        chains.refresh_issued(9, token, 10, 20);
        let chain = chains.get(2).expect("session 2");
        assert_eq!(chain.user_id, "u2");
        assert_eq!(chain.refresh[0].masked, "0123…cdef");
        assert_eq!(chain.access[0].masked, "eyJh…x9Qk");
        assert_eq!(chain.access[0].jti, "jti-1");
        assert!(chains.get(1).expect("session 1").refresh.is_empty());
    }

    #[test]
    fn only_an_unretired_last_link_is_retired() {
        let mut chains = Chains::default();
        let n = chains.open("u", "u");
        chains.refresh_issued(n, "first-refresh-token-0001", 1, 2);
        chains.retire_last(n, Retirement::Rotated);
        chains.retire_last(n, Retirement::Revoked);
        chains.refresh_issued(n, "second-refresh-token-0002", 1, 2);
        let chain = chains.get(n).expect("the session");
        assert_eq!(chain.refresh[0].end, Some(Retirement::Rotated));
        assert_eq!(chain.refresh[1].end, None);
    }
}
