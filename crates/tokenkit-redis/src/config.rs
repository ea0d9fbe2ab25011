//! How a [`RedisStore`](crate::RedisStore) behaves: timeouts, key lifetimes, what to do
//! while Redis is down.

use std::time::{Duration, SystemTime};

use tokenkit_core::{Keyring, Token};

/// What a [`RedisStore`](crate::RedisStore) does while Redis cannot be reached.
///
/// In every mode a failed Redis operation is first an
/// [`Error::Store`](tokenkit_core::Error::Store) with `transient: true`; a
/// [`TokenCache`](tokenkit_core::TokenCache) keeps serving the token it holds in memory
/// while that token is valid, and retries with backoff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// Report the transient error and do nothing else (the default). The only safe
    /// choice for budget-limited grants (ilab): a refresh counted in one process's
    /// memory is invisible to the others, which could then spend it again.
    #[default]
    FailClosed,
    /// While Redis is unreachable, keep tokens of grants *without* a refresh budget in
    /// an in-process [`MemoryStore`](tokenkit_core::MemoryStore), so this process can
    /// still fetch and refresh on its own (other processes do the same: the fleet loses
    /// its single-flight, not its tokens). Budget-limited grants still fail closed.
    /// When Redis answers again, a locally written token is copied to Redis if Redis
    /// holds none or an older one (earlier expiry), and the local copy is dropped.
    Local,
}

/// How long the state of a grant lives in Redis.
///
/// The key must outlive the *refresh token*, not the access token: an expired access
/// token is still the base of the next refresh (ac renews up to 24 h after expiry). By
/// default the key lives for the longer of the access token's remaining lifetime plus
/// [`KeyTtl::grace`] and [`KeyTtl::refresh_token_lifetime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyTtl {
    /// Added to the access token's remaining lifetime (default 24 h, ac's renewal window).
    pub grace: Duration,
    /// How long the platform's refresh tokens live, when known (default: unknown).
    pub refresh_token_lifetime: Option<Duration>,
    /// A fixed key lifetime that overrides both of the above.
    pub fixed: Option<Duration>,
}

impl Default for KeyTtl {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(24 * 3600),
            refresh_token_lifetime: None,
            fixed: None,
        }
    }
}

impl KeyTtl {
    /// Sets the grace added to the access token's remaining lifetime.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets the lifetime of the platform's refresh tokens.
    pub fn with_refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_token_lifetime = Some(lifetime);
        self
    }

    /// Uses one fixed lifetime for every key.
    pub fn fixed(lifetime: Duration) -> Self {
        Self {
            fixed: Some(lifetime),
            ..Self::default()
        }
    }

    /// The longest span a [`RedisStore`](crate::RedisStore) sets: ten years. Longer key
    /// TTLs, lease TTLs and tokens' times left are clamped to it: Redis refuses an
    /// expiry whose absolute time overflows (and a failed expiry must not leave a
    /// record behind), while no platform's grant lives that long. A token that claims
    /// more is read back as valid for this long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenkit_core::{Arrival, Expiry, Token};
    /// use tokenkit_redis::KeyTtl;
    /// let token = Token::new("t", Expiry::after(Arrival::now(), Duration::from_secs(60)));
    /// assert_eq!(KeyTtl::fixed(Duration::MAX).for_token(&token), KeyTtl::MAX);
    /// ```
    pub const MAX: Duration = Duration::from_secs(10 * 365 * 86_400);

    /// The key lifetime for `token`, at least one millisecond and at most
    /// [`KeyTtl::MAX`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenkit_core::{Arrival, Expiry, Token};
    /// use tokenkit_redis::KeyTtl;
    /// let token = Token::new("t", Expiry::after(Arrival::now(), Duration::from_secs(60)));
    /// let ttl = KeyTtl::default().with_grace(Duration::from_secs(10)).for_token(&token);
    /// assert!(ttl <= Duration::from_secs(70) && ttl > Duration::from_secs(65));
    /// ```
    pub fn for_token(&self, token: &Token) -> Duration {
        let ttl = self.fixed.unwrap_or_else(|| {
            // Measured on the wall clock, as the other hosts will read it.
            let remaining = token
                .expiry()
                .wall()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            remaining
                .saturating_add(self.grace)
                .max(self.refresh_token_lifetime.unwrap_or(Duration::ZERO))
        });
        ttl.clamp(Duration::from_millis(1), Self::MAX)
    }
}

/// Settings of a [`RedisStore`](crate::RedisStore); see
/// [`RedisStoreBuilder`](crate::RedisStoreBuilder).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) prefix: String,
    pub(crate) operation_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) key_ttl: KeyTtl,
    pub(crate) fallback: Fallback,
    pub(crate) probe_interval: Duration,
    /// Seals the record's secrets and the pending data ([`tokenkit_core::store::seal`]).
    pub(crate) keyring: Option<Keyring>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            prefix: "tokenkit".into(),
            operation_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            key_ttl: KeyTtl::default(),
            fallback: Fallback::FailClosed,
            probe_interval: Duration::from_secs(1),
            keyring: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenkit_core::{Arrival, Expiry};

    fn token(lifetime: Duration) -> Token {
        Token::new("t", Expiry::after(Arrival::now(), lifetime))
    }

    #[test]
    fn the_key_outlives_the_access_token() {
        let ttl = KeyTtl::default().for_token(&token(Duration::from_secs(60)));
        assert!(ttl > Duration::from_secs(24 * 3600), "{ttl:?}");
        let ttl = KeyTtl::default()
            .with_grace(Duration::from_secs(5))
            .with_refresh_token_lifetime(Duration::from_secs(7 * 86_400))
            .for_token(&token(Duration::from_secs(60)));
        assert_eq!(ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(
            KeyTtl::fixed(Duration::from_secs(3)).for_token(&token(Duration::from_secs(60))),
            Duration::from_secs(3)
        );
        // An expired token still keeps its key for the grace (it is the refresh base).
        let ttl = KeyTtl::default()
            .with_grace(Duration::from_secs(30))
            .for_token(&token(Duration::ZERO));
        assert!(ttl <= Duration::from_secs(30) && ttl > Duration::from_secs(29));
        assert_eq!(
            KeyTtl::fixed(Duration::ZERO).for_token(&token(Duration::ZERO)),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn the_key_ttl_is_clamped_never_overflows() {
        let forever = token(Duration::from_secs(u64::MAX / 4));
        for policy in [
            KeyTtl::default(),
            KeyTtl::fixed(Duration::MAX),
            KeyTtl::default().with_grace(Duration::MAX),
            KeyTtl::default().with_refresh_token_lifetime(Duration::MAX),
        ] {
            assert_eq!(policy.for_token(&forever), KeyTtl::MAX, "{policy:?}");
        }
    }
}
