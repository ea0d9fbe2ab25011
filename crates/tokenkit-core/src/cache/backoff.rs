//! Jittered exponential backoff between failed refreshes.

use std::time::Duration;

/// Backoff settings: the n-th consecutive failure waits a random time in
/// `[d/2, d]` where `d = min(max, base × 2^(n-1))` ("equal jitter"), so a fleet that
/// failed together does not retry together.
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

impl Backoff {
    /// The delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << exp).min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }
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
    fn delays_are_jittered() {
        let b = Backoff::default();
        let distinct: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5)).collect();
        assert!(distinct.len() > 1);
    }
}
