//! What the console shows of the bo platform: its settings (never the DES key or IV)
//! and every session with its chain of refresh tokens and its access tokens, masked
//! and judged as the platform would judge them now.

use std::time::{Duration, SystemTime};

use tokenkit_core::civil::from_unix_millis;

use super::chain::{Chain, Retirement};
use super::{Bo, Book, now_ms};

/// A token's state, as the platform would judge it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Accepted (by the refresh route, or by `whoami`).
    Live,
    /// A refresh token spent by its refresh.
    Rotated,
    /// Revoked by an operator (a session revoked in the console, or the admin route).
    Revoked,
    /// Past its expiry.
    Expired,
}

/// A token of a session, masked.
#[derive(Debug, Clone)]
pub(crate) struct TokenView {
    /// The token, masked.
    pub(crate) masked: String,
    /// When it was issued.
    pub(crate) issued: SystemTime,
    /// When it expires.
    pub(crate) expires: SystemTime,
    /// How the platform judges it now.
    pub(crate) state: TokenState,
}

/// A session as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// Its live refresh token can renew it.
    Active,
    /// No refresh token of it can: the last one expired.
    Expired,
    /// Revoked in the console, at that time.
    Revoked(SystemTime),
}

/// One session: a login and everything it was issued since.
#[derive(Debug, Clone)]
pub(crate) struct SessionView {
    /// Its number (1, 2, …).
    pub(crate) number: u64,
    /// The user's id and name.
    pub(crate) user_id: String,
    pub(crate) user_name: String,
    /// Its refresh tokens in issue order; the live one, if any, is the last.
    pub(crate) refresh: Vec<TokenView>,
    /// Its access tokens in issue order.
    pub(crate) access: Vec<TokenView>,
    /// How it stands now.
    pub(crate) state: SessionState,
}

/// The platform's settings a console may show: no key, no IV.
#[derive(Debug, Clone)]
pub(crate) struct SettingsView {
    /// The project id `XownerId` must carry.
    pub(crate) owner_id: String,
    /// Whether each refresh rotates the refresh token.
    pub(crate) rotates: bool,
    /// Lifetime of access tokens.
    pub(crate) ttl: Duration,
    /// Lifetime of refresh tokens.
    pub(crate) refresh_ttl: Duration,
}

impl Bo {
    /// Every session, oldest first.
    pub(crate) fn sessions(&self) -> Vec<SessionView> {
        let now = now_ms();
        let book = self.book();
        book.chains
            .iter()
            .map(|(number, chain)| session_view(&book, number, chain, now))
            .collect()
    }

    /// The settings the console shows.
    pub(crate) fn settings(&self) -> SettingsView {
        SettingsView {
            owner_id: self.config.owner_id.clone(),
            rotates: self.config.rotate_refresh_tokens,
            ttl: self.config.ttl,
            refresh_ttl: self.config.refresh_ttl,
        }
    }
}

fn session_view(book: &Book, number: u64, chain: &Chain, now: i64) -> SessionView {
    let refresh: Vec<TokenView> = chain
        .refresh
        .iter()
        .map(|link| TokenView {
            masked: link.masked.clone(),
            issued: from_unix_millis(link.issued_ms),
            expires: from_unix_millis(link.expires_ms),
            // The refresh route accepts a token up to and including its expiry.
            state: match link.end {
                Some(Retirement::Rotated) => TokenState::Rotated,
                Some(Retirement::Revoked) => TokenState::Revoked,
                None if now > link.expires_ms => TokenState::Expired,
                None => TokenState::Live,
            },
        })
        .collect();
    let access = chain
        .access
        .iter()
        .map(|link| TokenView {
            masked: link.masked.clone(),
            issued: from_unix_millis(link.issued_ms),
            expires: from_unix_millis(link.expires_ms),
            // `whoami` refuses a token from its expiry on.
            state: if book.access.is_revoked(&link.jti) {
                TokenState::Revoked
            } else if now >= link.expires_ms {
                TokenState::Expired
            } else {
                TokenState::Live
            },
        })
        .collect();
    let state = match chain.revoked_ms {
        Some(at) => SessionState::Revoked(from_unix_millis(at)),
        None if refresh.last().is_some_and(|t| t.state == TokenState::Live) => SessionState::Active,
        None => SessionState::Expired,
    };
    SessionView {
        number,
        user_id: chain.user_id.clone(),
        user_name: chain.user_name.clone(),
        refresh,
        access,
        state,
    }
}
