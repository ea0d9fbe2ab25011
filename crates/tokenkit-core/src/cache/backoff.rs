//! Jittered exponential backoff between failed refreshes, bounded by the token's
//! lifetime.

use std::time::Duration;

/// Backoff settings: the n-th consecutive failure waits a random time in
/// `[d/2, d]` where `d = min(max, base × 2^(n-1))` ("equal jitter"), so a fleet that
/// failed together does not retry together.
///
/// The cache bounds `d` further by the token's lifetime
/// ([`Backoff::delay_for_lifetime`]): a grant of 3 s tokens must not sit out a minute
/// after one failure, which would leave it without a token for 20 lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// The share of a token's lifetime one backoff delay may take at most.
pub(crate) const LIFETIME_SHARE: u32 = 8;

/// No delay bounded by a lifetime is shorter than this, so a grant of absurdly short
/// tokens cannot turn its retries into a busy loop against the platform.
pub(crate) const FLOOR: Duration = Duration::from_millis(50);

impl Backoff {
    /// The delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        jittered(self.ceiling(failures))
    }

    /// The delay after `failures` consecutive failures of a grant whose tokens live
    /// `lifetime`: as [`Backoff::delay`], but its ceiling is at most
    /// `lifetime / 8` (and at least 50 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenkit_core::Backoff;
    /// let d = Backoff::default().delay_for_lifetime(10, Some(Duration::from_secs(3)));
    /// assert!(d <= Duration::from_millis(375));
    /// ```
    pub fn delay_for_lifetime(&self, failures: u32, lifetime: Option<Duration>) -> Duration {
        let mut ceiling = self.ceiling(failures);
        if let Some(lifetime) = lifetime {
            ceiling = ceiling.min((lifetime / LIFETIME_SHARE).max(FLOOR));
        }
        jittered(ceiling)
    }

    fn ceiling(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1 << exp).min(self.max)
    }
}

/// A random time in `[ceiling/2, ceiling]`.
fn jittered(ceiling: Duration) -> Duration {
    let half = ceiling / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_their_band() {
        let b = Backoff::default();
        for n in 1..30 {
            let ceiling = Duration::from_secs(1 << (n - 1).min(20)).min(b.max);
            for _ in 0..50 {
                let d = b.delay(n);
                assert!(d >= ceiling / 2 && d <= ceiling, "n={n} d={d:?}");
            }
        }
    }

    #[test]
    fn delays_are_bounded_by_the_lifetime_and_stay_jittered() {
        let b = Backoff::default();
        let lifetime = Duration::from_secs(3);
        for n in 1..30 {
            for _ in 0..50 {
                let d = b.delay_for_lifetime(n, Some(lifetime));
                assert!(d <= lifetime / LIFETIME_SHARE, "n={n} d={d:?}");
                assert!(
                    d >= b.ceiling(n).min(lifetime / LIFETIME_SHARE) / 2,
                    "n={n} d={d:?}"
                );
            }
        }
        let distinct: std::collections::HashSet<_> = (0..20)
            .map(|_| b.delay_for_lifetime(12, Some(lifetime)))
            .collect();
        assert!(distinct.len() > 1);
        // A tiny lifetime does not make a busy loop; an unknown one changes nothing.
        assert!(b.delay_for_lifetime(5, Some(Duration::from_millis(1))) >= FLOOR / 2);
        assert!(b.delay_for_lifetime(1, None) >= Duration::from_millis(500));
    }

    #[test]
    fn delays_are_jittered() {
        let b = Backoff::default();
        let distinct: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5)).collect();
        assert!(distinct.len() > 1);
    }
}
