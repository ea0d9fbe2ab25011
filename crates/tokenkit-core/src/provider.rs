//! The contract between the cache and a platform: how to get a token, how to renew it,
//! and the rules the cache must respect while doing so.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::{Error, Token};

/// A source of tokens for one grant (one user, one cluster, one session).
///
/// The cache decides *when* to call it; the provider only knows *how*.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Obtains a token from primary credentials (a ticket, a password, a login).
    /// Providers that cannot (a spent ticket) return a re-authentication error.
    async fn fetch(&self) -> Result<Token, Error>;

    /// Renews `current`. A refusal that only a new login can fix is a
    /// re-authentication error; the cache then tries [`TokenProvider::fetch`].
    async fn refresh(&self, current: &Token) -> Result<Token, Error>;

    /// What the cache must respect for this platform.
    fn policy(&self) -> RefreshPolicy {
        RefreshPolicy::default()
    }

    /// The platform's name in the errors the cache itself raises about this provider's
    /// answers (a token already expired when handed over).
    fn platform(&self) -> &'static str {
        "provider"
    }
}

#[async_trait]
impl<P: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<P> {
    async fn fetch(&self) -> Result<Token, Error> {
        (**self).fetch().await
    }
    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        (**self).refresh(current).await
    }
    fn policy(&self) -> RefreshPolicy {
        (**self).policy()
    }
    fn platform(&self) -> &'static str {
        (**self).platform()
    }
}

/// The rules the cache follows for one provider.
///
/// The refresh-ahead margins are capped by a fraction of the token's lifetime, so a
/// token that lives 60 s is not refreshed the moment it arrives:
/// `advisory margin = min(refresh_ahead, lifetime × margin_fraction)` and
/// `mandatory margin = min(mandatory_ahead, advisory margin / 4)`.
///
/// ```
/// use std::time::Duration;
/// use tokenkit_core::RefreshPolicy;
/// let ilab = RefreshPolicy::default().with_refresh_budget(2).with_background_refresh(false);
/// assert_eq!(ilab.refresh_budget, Some(2));
/// let (advisory, mandatory) = RefreshPolicy::default().margins(Duration::from_secs(60));
/// assert_eq!((advisory, mandatory), (Duration::from_secs(12), Duration::from_secs(3)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refreshes one grant allows (ilab: 2); `None` = unlimited.
    pub refresh_budget: Option<u32>,
    /// Start refreshing in the background this long before expiry.
    pub refresh_ahead: Duration,
    /// From this long before expiry, callers wait for the refresh.
    pub mandatory_ahead: Duration,
    /// The margins never exceed this fraction of the token's lifetime.
    pub margin_fraction: f64,
    /// How long after expiry a refresh is still accepted (ac: 24 h); after it, the
    /// cache fetches. `None`: no limit known (the refresh token decides).
    pub renewal_grace: Option<Duration>,
    /// Whether to refresh ahead of need in the background. Off for scarce refreshes
    /// (ilab): then a refresh happens only when the token is about to expire.
    pub background_refresh: bool,
    /// Whether a renewal revokes the token it renews (ac). After a renewal whose answer
    /// was lost the current token is then suspect: it is renewed again, or replaced by
    /// a login, before it is served again.
    pub renewal_revokes: bool,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_budget: None,
            refresh_ahead: Duration::from_secs(300),
            mandatory_ahead: Duration::from_secs(10),
            margin_fraction: 0.2,
            renewal_grace: None,
            background_refresh: true,
            renewal_revokes: false,
        }
    }
}

impl RefreshPolicy {
    /// Sets the refresh budget.
    pub fn with_refresh_budget(mut self, budget: u32) -> Self {
        self.refresh_budget = Some(budget);
        self
    }

    /// Sets the advisory margin.
    pub fn with_refresh_ahead(mut self, margin: Duration) -> Self {
        self.refresh_ahead = margin;
        self
    }

    /// Sets the mandatory margin.
    pub fn with_mandatory_ahead(mut self, margin: Duration) -> Self {
        self.mandatory_ahead = margin;
        self
    }

    /// Sets the lifetime fraction that caps the margins (clamped to 0..=0.5).
    pub fn with_margin_fraction(mut self, fraction: f64) -> Self {
        self.margin_fraction = fraction.clamp(0.0, 0.5);
        self
    }

    /// Sets how long after expiry a refresh is still accepted.
    pub fn with_renewal_grace(mut self, grace: Duration) -> Self {
        self.renewal_grace = Some(grace);
        self
    }

    /// Says whether a renewal revokes the token it renews.
    pub fn with_renewal_revokes(mut self, revokes: bool) -> Self {
        self.renewal_revokes = revokes;
        self
    }

    /// Turns background (advisory) refresh on or off.
    pub fn with_background_refresh(mut self, on: bool) -> Self {
        self.background_refresh = on;
        self
    }

    /// The advisory and mandatory margins for a token of this lifetime.
    pub fn margins(&self, lifetime: Duration) -> (Duration, Duration) {
        let cap = lifetime.mul_f64(self.margin_fraction.clamp(0.0, 0.5));
        let advisory = self.refresh_ahead.min(cap);
        let mandatory = self.mandatory_ahead.min(advisory / 4);
        (advisory, mandatory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_are_capped_by_the_lifetime() {
        let p = RefreshPolicy::default();
        assert_eq!(
            p.margins(Duration::from_secs(86_400)),
            (Duration::from_secs(300), Duration::from_secs(10))
        );
        assert_eq!(
            p.margins(Duration::from_secs(10)),
            (Duration::from_secs(2), Duration::from_millis(500))
        );
        assert_eq!(p.margins(Duration::ZERO), (Duration::ZERO, Duration::ZERO));
        assert_eq!(p.with_margin_fraction(3.0).margin_fraction, 0.5);
    }
}
