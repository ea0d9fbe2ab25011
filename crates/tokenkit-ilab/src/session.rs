//! One user's experiment session in a [`SessionRegistry`](crate::SessionRegistry): the
//! user's identity and the cache of their grant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokenkit_core::{CachedToken, Error, TokenCache, TokenGuard, UserIdentity};

/// One user's experiment session: their identity and the cache of their grant.
#[derive(Debug)]
pub struct Session {
    pub(crate) user: UserIdentity,
    pub(crate) cache: TokenCache,
    /// Milliseconds since the registry's epoch of the last lookup.
    pub(crate) last_used: AtomicU64,
}

impl Session {
    /// The platform user id (`un`).
    pub fn un(&self) -> &str {
        &self.user.id
    }

    /// The user's display name (`dis`), when the platform gave one.
    pub fn display_name(&self) -> Option<&str> {
        self.user.display_name.as_deref()
    }

    /// A valid token of this user's grant (refreshed at most twice, near expiry).
    pub async fn token(&self) -> Result<TokenGuard, Error> {
        self.cache.token().await
    }

    /// The cache of this user's grant (to `invalidate` a token an API rejected).
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// The latest token the cache installed, without any waiting or refreshing.
    pub fn current(&self) -> Option<Arc<CachedToken>> {
        self.cache.subscribe().borrow().clone()
    }

    /// The refreshes of this user's grant spent so far, as the latest token says (0
    /// before the first token); counted by every holder of the grant, in any process.
    pub fn refreshes_spent(&self) -> u32 {
        self.current().map_or(0, |c| c.grant().refreshes_spent)
    }

    /// Whether the grant is over: its token has expired, and either both refreshes
    /// are spent or nobody has used the session for `max_idle`.
    pub(crate) fn is_over(&self, now_ms: u64, max_idle: Duration) -> bool {
        let Some(current) = self.current() else {
            return true;
        };
        if !current.expiry().is_expired() {
            return false;
        }
        let no_refresh_left = current.grant().refreshes_left() == Some(0);
        let idle = now_ms.saturating_sub(self.last_used.load(Ordering::Relaxed));
        no_refresh_left || u128::from(idle) >= max_idle.as_millis()
    }
}

/// A session holds its grant's cache: `client.calls(session)` makes authenticated data
/// calls with this user's tokens.
impl AsRef<TokenCache> for Session {
    fn as_ref(&self) -> &TokenCache {
        &self.cache
    }
}
