//! A token as the cache holds it: with its generation and precomputed deadlines, so the
//! hot path is one atomic load, one clock read and one compare.

use std::ops::Deref;
use std::sync::Arc;

use arc_swap::Guard;
use tokio::time::Instant;

use crate::{RefreshPolicy, Token};

/// A cached token: the [`Token`] plus the store generation it came from and the
/// instants at which the cache starts refreshing it.
#[derive(Debug)]
pub struct CachedToken {
    token: Token,
    generation: u64,
    advisory_at: Instant,
    mandatory_at: Instant,
}

impl CachedToken {
    pub(crate) fn new(token: Token, generation: u64, policy: &RefreshPolicy) -> Self {
        if token.grant().suspect {
            // Not to be served: every caller goes to the refresh at once.
            let issued = token.expiry().issued();
            return Self {
                token,
                generation,
                advisory_at: issued,
                mandatory_at: issued,
            };
        }
        let deadline = token.expiry().deadline();
        let (advisory, mandatory) = policy.margins(token.expiry().lifetime());
        let mandatory_at = deadline.checked_sub(mandatory).unwrap_or(deadline);
        let advisory_at = if policy.background_refresh {
            deadline
                .checked_sub(advisory)
                .unwrap_or(deadline)
                .min(mandatory_at)
        } else {
            mandatory_at
        };
        Self {
            token,
            generation,
            advisory_at,
            mandatory_at,
        }
    }

    /// The token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The store generation this token was written at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// From this instant a background refresh is started.
    pub fn advisory_at(&self) -> Instant {
        self.advisory_at
    }

    /// From this instant callers wait for a refresh.
    pub fn mandatory_at(&self) -> Instant {
        self.mandatory_at
    }

    /// Whether the token may be served at `now`: before its deadline, and not suspect
    /// of having been revoked by a renewal whose answer was lost.
    pub(crate) fn is_valid_at(&self, now: Instant) -> bool {
        now < self.token.expiry().deadline() && !self.token.grant().suspect
    }
}

impl Deref for CachedToken {
    type Target = Token;
    fn deref(&self) -> &Token {
        &self.token
    }
}

/// A borrowed cached token, handed out by [`TokenCache::token`](crate::TokenCache::token)
/// without locking, allocating or touching shared memory. Hold it briefly (for the
/// duration of a request); call [`TokenGuard::to_owned_token`] to keep the token longer.
pub struct TokenGuard(pub(crate) Guard<Option<Arc<CachedToken>>>);

impl TokenGuard {
    pub(crate) fn entry(&self) -> &Arc<CachedToken> {
        // Constructed only from a guard that was checked to hold a token.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("a TokenGuard always holds a token"))
    }

    /// The store generation of this token.
    pub fn generation(&self) -> u64 {
        self.entry().generation
    }

    /// An owned handle on the cached token (one reference-count increment).
    pub fn to_arc(&self) -> Arc<CachedToken> {
        Arc::clone(self.entry())
    }

    /// An owned copy of the token (clones the secrets).
    pub fn to_owned_token(&self) -> Token {
        self.entry().token.clone()
    }
}

impl Deref for TokenGuard {
    type Target = Token;
    fn deref(&self) -> &Token {
        &self.entry().token
    }
}

impl std::fmt::Debug for TokenGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TokenGuard").field(&**self.entry()).finish()
    }
}
