//! The lifetimes of the tokens the platforms issued, for the console's views and
//! timelines: when each was issued, when it expires, and how it ended (refreshed away,
//! replaced by a login, rotated, revoked) if it did.
//!
//! The platforms report here where they issue and retire tokens; their own ledgers
//! stay the authority on what they accept. A token is known here by a hash of its id
//! (the token itself, or its `jti` where the platform retires tokens by `jti`) and
//! shown masked, so nothing that renders the journal can give a token away.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::mask::mask;

/// Which emulated platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// The ilab platform.
    Ilab,
    /// The ac platform.
    Ac,
    /// The bo platform.
    Bo,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An access token (ilab, bo) or an ac token.
    Access,
    /// A refresh token (bo's rotated ones).
    Refresh,
}

/// How a token stopped being accepted before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A refresh or renewal issued its successor.
    Refreshed,
    /// A login issued a new token in its place (ac, after an expiry or a revocation).
    Replaced,
    /// A refresh token spent by its refresh (bo's rotation).
    Rotated,
    /// An operator revoked it (an admin route or the console).
    Revoked,
}

/// One token's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    /// Whose platform.
    pub platform: Platform,
    /// Access or refresh token.
    pub kind: Kind,
    /// Whose token, as the console names it (`zhangsan`, `demo @ 11112`, `session 3`).
    pub subject: String,
    /// The token, masked.
    pub masked: String,
    /// When it was issued (the machine's clock).
    pub issued: SystemTime,
    /// When it expires (the machine's clock).
    pub expires: SystemTime,
    /// How and when it ended, if it did before anyone looked.
    pub end: Option<(SystemTime, End)>,
    key: u64,
}

impl Life {
    /// Whether the platform still takes it at `now`: not ended, not expired.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.end.is_none() && now < self.expires
    }
}

/// The last [`Journal::CAPACITY`] tokens issued.
#[derive(Debug, Default)]
pub struct Journal {
    lives: Mutex<VecDeque<Life>>,
}

/// A token being issued, as [`Journal::issued`] records it.
#[derive(Debug)]
pub struct Issue<'a> {
    /// Whose platform.
    pub platform: Platform,
    /// Access or refresh token.
    pub kind: Kind,
    /// Whose token.
    pub subject: String,
    /// The token itself: masked here, never kept.
    pub token: &'a str,
    /// What [`Journal::ended`] will name it by: the token, or its `jti`. Hashed, never
    /// kept.
    pub id: &'a str,
    /// When it expires (the machine's clock).
    pub expires: SystemTime,
}

impl Journal {
    /// How many tokens are remembered; the oldest issued goes first.
    pub const CAPACITY: usize = 2000;

    /// Records a token just issued.
    pub fn issued(&self, issue: Issue<'_>) {
        let mut lives = self.lock();
        if lives.len() == Self::CAPACITY {
            lives.pop_front();
        }
        lives.push_back(Life {
            platform: issue.platform,
            kind: issue.kind,
            subject: issue.subject,
            masked: mask(issue.token),
            issued: SystemTime::now(),
            expires: issue.expires,
            end: None,
            key: key_of(issue.id),
        });
    }

    /// Records that the token `id` of `platform` ended as `end`, now; a token not in
    /// the journal (or ended already) is left alone.
    pub fn ended(&self, platform: Platform, id: &str, end: End) {
        let key = key_of(id);
        let mut lives = self.lock();
        if let Some(life) = lives
            .iter_mut()
            .rev()
            .find(|l| l.platform == platform && l.key == key && l.end.is_none())
        {
            life.end = Some((SystemTime::now(), end));
        }
    }

    /// Every remembered token of `platform`, oldest first.
    pub fn lives(&self, platform: Platform) -> Vec<Life> {
        self.lock()
            .iter()
            .filter(|l| l.platform == platform)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Life>> {
        // Each update is one operation on the deque: a poisoned journal is consistent.
        self.lives.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key_of(token: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    token.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn issue(journal: &Journal, platform: Platform, token: &str) {
        journal.issued(Issue {
            platform,
            kind: Kind::Access,
            subject: "u".into(),
            token,
            id: token,
            expires: SystemTime::now() + Duration::from_secs(60),
        });
    }

    #[test]
    fn a_token_ends_once_and_only_on_its_platform() {
        let journal = Journal::default();
        issue(&journal, Platform::Ac, "token-one-token-one");
        issue(&journal, Platform::Bo, "token-one-token-one");
        journal.ended(Platform::Ac, "token-one-token-one", End::Revoked);
        journal.ended(Platform::Ac, "token-one-token-one", End::Refreshed);
        let ac = journal.lives(Platform::Ac);
        assert_eq!(ac.len(), 1);
        assert!(matches!(ac[0].end, Some((_, End::Revoked))));
        assert!(!ac[0].is_live(SystemTime::now()));
        assert!(journal.lives(Platform::Bo)[0].is_live(SystemTime::now()));
        assert_eq!(ac[0].masked, "toke…-one");
    }

    #[test]
    fn the_journal_is_bounded() {
        let journal = Journal::default();
        for n in 0..Journal::CAPACITY + 3 {
            issue(&journal, Platform::Ilab, &format!("token-number-{n:08}"));
        }
        let lives = journal.lives(Platform::Ilab);
        assert_eq!(lives.len(), Journal::CAPACITY);
        assert_eq!(lives[0].masked, "toke…0003");
    }
}
