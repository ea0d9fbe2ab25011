//! The tokens the emulated ac platform considers current, one per (user, cluster), and
//! the pairs whose account is suspended now.
//!
//! Issuing a new token for a pair (a renewal, or a login after expiry) replaces the
//! previous one, which from then on is refused with 10008: the strictest reading of
//! "renewal returns a new token", so clients prove they switch over.
//!
//! A revoked token stays recorded as the pair's current one, flagged: it is refused
//! everywhere, a login replaces it, and the replacement is still minted with a strictly
//! later `expireTime`, so it can never be the same JWT again.
//!
//! A suspended pair gets no token from a login; suspending revokes its current one.
//! Both live under one lock with the tokens, so no login can slip a token past a
//! suspension.
//!
//! Every token issued, replaced or revoked is reported to the journal under that same
//! lock, so the journal sees a pair's tokens in the order the platform issued them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::clock::machine_time;
use crate::journal::{End, Issue, Journal, Kind, Platform};

/// Why a presented token is refused (all answered with 10008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Another token (its renewal) has replaced it, or it was never issued here.
    Replaced,
    /// Its `expireTime` has passed.
    Expired,
    /// It is more than the renewal window past its `expireTime`.
    WindowClosed,
    /// An operator revoked it (`POST /_sandbox/ac/revoke`, the console, a suspension).
    Revoked,
}

/// (user, clusterId).
pub(super) type Pair = (String, String);

struct Issued {
    token: String,
    expire_ms: i64,
    revoked: bool,
}

#[derive(Default)]
struct Ledger {
    current: HashMap<Pair, Issued>,
    suspended: HashSet<Pair>,
}

/// The pairs' current tokens and suspensions.
pub(super) struct Registry {
    ledger: Mutex<Ledger>,
    journal: Arc<Journal>,
}

/// When a token is minted: the platform's time and the token lifetime, and the
/// machine's time read with it (the journal keeps the machine's clock).
pub(super) struct Clock {
    pub now_ms: i64,
    pub ttl_ms: i64,
    pub machine_now: SystemTime,
}

/// A pair's current token, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Current {
    /// The token, masked.
    pub masked: String,
    /// Its `expireTime` (platform clock, epoch ms).
    pub expire_ms: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl Registry {
    /// No tokens yet; the `suspended` pairs start suspended; what happens to tokens is
    /// reported to `journal`.
    pub fn new(journal: Arc<Journal>, suspended: impl IntoIterator<Item = Pair>) -> Self {
        Self {
            ledger: Mutex::new(Ledger {
                current: HashMap::new(),
                suspended: suspended.into_iter().collect(),
            }),
            journal,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        // Each update leaves the ledger consistent: a poisoned one is still right.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `None` if the pair is suspended; else its current token if that has not expired
    /// and was not revoked, else a newly minted one that replaces it.
    pub fn login(
        &self,
        key: Pair,
        clock: &Clock,
        mint: impl FnOnce(i64) -> String,
    ) -> Option<String> {
        let mut ledger = self.lock();
        if ledger.suspended.contains(&key) {
            return None;
        }
        if let Some(issued) = ledger.current.get(&key)
            && clock.now_ms < issued.expire_ms
            && !issued.revoked
        {
            return Some(issued.token.clone());
        }
        Some(self.issue(&mut ledger, key, clock, End::Replaced, mint))
    }

    /// Renews `presented`: it must be the pair's current token and within
    /// `window_ms` of its expiry. The new token replaces it.
    pub fn renew(
        &self,
        key: Pair,
        presented: &str,
        clock: &Clock,
        window_ms: i64,
        mint: impl FnOnce(i64) -> String,
    ) -> Result<String, Refusal> {
        let mut ledger = self.lock();
        match ledger.current.get(&key) {
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
        Ok(self.issue(&mut ledger, key, clock, End::Refreshed, mint))
    }

    /// Whether `presented` is the pair's current, unexpired, unrevoked token.
    pub fn check(&self, key: &Pair, presented: &str, now_ms: i64) -> Result<(), Refusal> {
        let ledger = self.lock();
        match ledger.current.get(key) {
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
        let mut ledger = self.lock();
        // A scan, not a lookup by claims: revocation must not depend on the token
        // being well-formed, and a sandbox holds a handful of pairs.
        match ledger.current.values_mut().find(|i| i.token == presented) {
            Some(issued) => {
                self.mark_revoked(issued);
                true
            }
            None => false,
        }
    }

    /// Revokes the pair's current token; `true` if it had one not revoked yet.
    pub fn revoke_pair(&self, key: &Pair) -> bool {
        let mut ledger = self.lock();
        match ledger.current.get_mut(key) {
            Some(issued) if !issued.revoked => {
                self.mark_revoked(issued);
                true
            }
            _ => false,
        }
    }

    /// Suspends the pair's account and revokes its current token.
    pub fn suspend(&self, key: Pair) {
        let mut ledger = self.lock();
        if let Some(issued) = ledger.current.get_mut(&key) {
            self.mark_revoked(issued);
        }
        ledger.suspended.insert(key);
    }

    /// Lifts the pair's suspension: its next login mints a new token.
    pub fn resume(&self, key: &Pair) {
        self.lock().suspended.remove(key);
    }

    /// Whether the pair is suspended, and its current token if it has one.
    pub fn pair(&self, key: &Pair) -> (bool, Option<Current>) {
        let ledger = self.lock();
        let current = ledger.current.get(key).map(|issued| Current {
            masked: crate::mask::mask(&issued.token),
            expire_ms: issued.expire_ms,
            revoked: issued.revoked,
        });
        (ledger.suspended.contains(key), current)
    }

    fn mark_revoked(&self, issued: &mut Issued) {
        issued.revoked = true;
        self.journal
            .ended(Platform::Ac, &issued.token, End::Revoked);
    }

    /// Mints and records a token; its predecessor (if any, and not revoked) ends as
    /// `replaced`. Its `expireTime` is strictly later than its predecessor's, so two
    /// tokens minted in the same millisecond still differ.
    fn issue(
        &self,
        ledger: &mut Ledger,
        key: Pair,
        clock: &Clock,
        replaced: End,
        mint: impl FnOnce(i64) -> String,
    ) -> String {
        let earliest = ledger
            .current
            .get(&key)
            .map_or(i64::MIN, |i| i.expire_ms + 1);
        let expire_ms = clock.now_ms.saturating_add(clock.ttl_ms).max(earliest);
        let token = mint(expire_ms);
        self.journal.issued(Issue {
            platform: Platform::Ac,
            kind: Kind::Access,
            subject: format!("{} @ {}", key.0, key.1),
            token: &token,
            id: &token,
            expires: machine_time(clock.machine_now, clock.now_ms, expire_ms),
        });
        let previous = ledger.current.insert(
            key,
            Issued {
                token: token.clone(),
                expire_ms,
                revoked: false,
            },
        );
        // A revoked predecessor ended when it was revoked; the journal keeps that.
        if let Some(previous) = previous.filter(|p| !p.revoked) {
            self.journal.ended(Platform::Ac, &previous.token, replaced);
        }
        token
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn pair() -> Pair {
        ("demo".into(), "11112".into())
    }

    fn clock(now_ms: i64) -> Clock {
        Clock {
            now_ms,
            ttl_ms: 1_000,
            machine_now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        }
    }

    fn mint(expire_ms: i64) -> String {
        format!("token-expiring-at-{expire_ms:013}")
    }

    fn ends(journal: &Journal) -> Vec<Option<End>> {
        journal
            .lives(Platform::Ac)
            .iter()
            .map(|life| life.end.map(|(_, end)| end))
            .collect()
    }

    #[test]
    fn the_journal_hears_how_each_token_ended() {
        let journal = Arc::new(Journal::default());
        let registry = Registry::new(Arc::clone(&journal), []);
        let first = registry.login(pair(), &clock(0), mint).expect("a token");
        let renewed = registry
            .renew(pair(), &first, &clock(10), 60_000, mint)
            .expect("renewed");
        // Past its expiry a login replaces it.
        let replacement = registry
            .login(pair(), &clock(5_000), mint)
            .expect("a token");
        assert!(registry.revoke(&replacement));
        let after_revocation = registry
            .login(pair(), &clock(5_001), mint)
            .expect("a token");
        assert_eq!(
            ends(&journal),
            [
                Some(End::Refreshed),
                Some(End::Replaced),
                Some(End::Revoked),
                None
            ]
        );
        let lives = journal.lives(Platform::Ac);
        assert_eq!(lives[0].subject, "demo @ 11112");
        assert_eq!(lives[0].masked, crate::mask::mask(&first));
        assert_ne!(renewed, after_revocation);
        // `expireTime` 1 000 ms after platform time 0, which the machine read as 10⁶ s.
        assert_eq!(
            lives[0].expires,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_001_000)
        );
    }

    #[test]
    fn a_suspended_pair_gets_no_token_until_resumed() {
        let journal = Arc::new(Journal::default());
        let registry = Registry::new(Arc::clone(&journal), [("demo".into(), "0".into())]);
        let platform = ("demo".to_owned(), "0".to_owned());
        assert_eq!(registry.login(platform.clone(), &clock(0), mint), None);
        let token = registry.login(pair(), &clock(0), mint).expect("a token");
        registry.suspend(pair());
        assert_eq!(registry.login(pair(), &clock(1), mint), None);
        assert_eq!(registry.check(&pair(), &token, 1), Err(Refusal::Revoked));
        assert_eq!(
            registry.renew(pair(), &token, &clock(1), 60_000, mint),
            Err(Refusal::Revoked)
        );
        assert!(!registry.revoke_pair(&pair()), "already revoked");
        assert_eq!(ends(&journal), [Some(End::Revoked)]);
        registry.resume(&pair());
        registry.resume(&platform);
        let new = registry.login(pair(), &clock(2), mint).expect("a token");
        assert_ne!(new, token);
        assert_eq!(registry.check(&pair(), &new, 2), Ok(()));
        assert!(registry.login(platform, &clock(2), mint).is_some());
        let (suspended, current) = registry.pair(&pair());
        assert!(!suspended);
        assert_eq!(
            current,
            Some(Current {
                masked: crate::mask::mask(&new),
                expire_ms: 1_002,
                revoked: false
            })
        );
    }
}
