//! When a token expires, measured so that a skewed local clock cannot make an expired
//! token look valid (PROTOCOLS.md, "Common rules").
//!
//! Every estimate is turned into a *lifetime on the server's clock* — `expires_in`,
//! `expires_time - create_time`, JWT `exp - iat`, or an absolute expiry minus the
//! response's HTTP `Date` — and anchored at the local *monotonic* instant the response
//! arrived. Only when nothing else exists is an absolute expiry compared with the local
//! wall clock. The earliest estimate wins.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The moment a response arrived, read from both clocks, plus the server's `Date`.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Local monotonic clock at arrival.
    pub instant: Instant,
    /// Local wall clock at arrival (may be skewed).
    pub wall: SystemTime,
    /// The response's HTTP `Date` header (the server's clock), if any.
    pub server_date: Option<SystemTime>,
}

impl Arrival {
    /// Now, with no server date.
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
            server_date: None,
        }
    }

    /// The same arrival with the server's `Date`.
    pub fn with_server_date(mut self, date: Option<SystemTime>) -> Self {
        self.server_date = date;
        self
    }
}

/// A token's expiry: a monotonic deadline plus the wall-clock estimate shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    issued: Instant,
    deadline: Instant,
    wall: SystemTime,
}

impl Expiry {
    /// An expiry `lifetime` after `arrival`.
    pub fn after(arrival: Arrival, lifetime: Duration) -> Self {
        Self {
            issued: arrival.instant,
            deadline: arrival.instant + lifetime,
            wall: arrival.wall + lifetime,
        }
    }

    /// Starts collecting estimates for a response that arrived at `arrival`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenkit_core::{Arrival, Expiry};
    /// let arrival = Arrival::now();
    /// let expiry = Expiry::estimate(arrival)
    ///     .lifetime(Duration::from_secs(86_399))    // expires_in
    ///     .lifetime(Duration::from_secs(60))        // JWT exp - iat: earlier, wins
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(expiry.lifetime(), Duration::from_secs(60));
    /// ```
    pub fn estimate(arrival: Arrival) -> ExpiryEstimate {
        ExpiryEstimate {
            arrival,
            earliest: None,
        }
    }

    /// Rebuilds an expiry from a stored wall-clock expiry (a store written by another
    /// process on this host): the remaining time is measured on this host's clock.
    pub fn from_wall(expires_at: SystemTime, lifetime: Duration) -> Self {
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let remaining = expires_at
            .duration_since(wall_now)
            .unwrap_or(Duration::ZERO);
        let deadline = now + remaining;
        let issued = deadline.checked_sub(lifetime).unwrap_or(now);
        Self {
            issued,
            deadline,
            wall: expires_at,
        }
    }

    /// An expiry `remaining` from now, of a token that lived `lifetime` in all: for a
    /// store that measures the time left on its own clock (Redis), so that the clocks
    /// of the hosts sharing it do not matter.
    pub fn from_remaining(remaining: Duration, lifetime: Duration) -> Self {
        let now = Instant::now();
        let deadline = now + remaining;
        let issued = deadline.checked_sub(lifetime.max(remaining)).unwrap_or(now);
        Self {
            issued,
            deadline,
            wall: SystemTime::now() + remaining,
        }
    }

    /// The monotonic deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// When the token arrived.
    pub fn issued(&self) -> Instant {
        self.issued
    }

    /// The total lifetime the server granted.
    pub fn lifetime(&self) -> Duration {
        self.deadline.saturating_duration_since(self.issued)
    }

    /// The expiry on the wall clock, for display and for stores.
    pub fn wall(&self) -> SystemTime {
        self.wall
    }

    /// Time left from now (zero when expired).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

/// Collects expiry estimates; the earliest wins. See [`Expiry::estimate`].
#[derive(Debug, Clone, Copy)]
pub struct ExpiryEstimate {
    arrival: Arrival,
    earliest: Option<Duration>,
}

impl ExpiryEstimate {
    fn consider(mut self, lifetime: Duration) -> Self {
        self.earliest = Some(self.earliest.map_or(lifetime, |e| e.min(lifetime)));
        self
    }

    /// A lifetime on the server's clock (`expires_in`, `exp - iat`, …).
    pub fn lifetime(self, lifetime: Duration) -> Self {
        self.consider(lifetime)
    }

    /// A lifetime in seconds that may be negative or absurd (ignored if negative).
    pub fn lifetime_secs(self, secs: i64) -> Self {
        self.consider(Duration::from_secs(secs.max(0) as u64))
    }

    /// Two server timestamps, e.g. `create_time` and `expires_time`.
    pub fn between(self, issued: SystemTime, expires: SystemTime) -> Self {
        self.consider(expires.duration_since(issued).unwrap_or(Duration::ZERO))
    }

    /// An absolute expiry on the server's clock. Measured against the response's `Date`
    /// when there is one; otherwise, as a last resort, against the local wall clock.
    pub fn absolute(self, expires: SystemTime) -> Self {
        let reference = self.arrival.server_date.unwrap_or(self.arrival.wall);
        self.consider(expires.duration_since(reference).unwrap_or(Duration::ZERO))
    }

    /// Whether any estimate was given.
    pub fn is_known(&self) -> bool {
        self.earliest.is_some()
    }

    /// The expiry, or `None` when no estimate was given.
    pub fn build(self) -> Option<Expiry> {
        Some(Expiry::after(self.arrival, self.earliest?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn arrival_with_skew(skew_forward: bool, server_now: SystemTime) -> Arrival {
        let wall = if skew_forward {
            server_now + HOUR
        } else {
            server_now - HOUR
        };
        Arrival {
            instant: Instant::now(),
            wall,
            server_date: Some(server_now),
        }
    }

    #[test]
    fn skewed_local_clock_cannot_extend_an_absolute_expiry_with_a_date_header() {
        let server_now = SystemTime::now();
        for forward in [true, false] {
            let arrival = arrival_with_skew(forward, server_now);
            // The server says the token expires 10 minutes from *its* now.
            let expiry = Expiry::estimate(arrival)
                .absolute(server_now + Duration::from_secs(600))
                .build()
                .expect("known");
            assert_eq!(
                expiry.lifetime(),
                Duration::from_secs(600),
                "skew forward={forward}"
            );
        }
    }

    #[test]
    fn an_already_expired_token_stays_expired_whatever_the_local_clock() {
        let server_now = SystemTime::now();
        for forward in [true, false] {
            let arrival = arrival_with_skew(forward, server_now);
            let expiry = Expiry::estimate(arrival)
                .absolute(server_now - Duration::from_secs(1))
                .build()
                .expect("known");
            assert!(expiry.is_expired(), "skew forward={forward}");
        }
    }

    #[test]
    fn relative_lifetimes_ignore_the_wall_clock() {
        let server_now = SystemTime::now();
        for forward in [true, false] {
            let arrival = arrival_with_skew(forward, server_now);
            let expiry = Expiry::estimate(arrival)
                .between(server_now, server_now + Duration::from_secs(86_399))
                .build()
                .expect("known");
            assert_eq!(expiry.lifetime(), Duration::from_secs(86_399));
            assert_eq!(
                expiry.deadline(),
                arrival.instant + Duration::from_secs(86_399)
            );
        }
    }

    #[test]
    fn the_earliest_estimate_wins() {
        let arrival = Arrival::now();
        let expiry = Expiry::estimate(arrival)
            .lifetime_secs(86_399)
            .absolute(arrival.wall + Duration::from_secs(120))
            .lifetime(Duration::from_secs(600))
            .build()
            .expect("known");
        assert_eq!(expiry.lifetime(), Duration::from_secs(120));
        assert!(Expiry::estimate(arrival).build().is_none());
        assert_eq!(
            Expiry::estimate(arrival)
                .lifetime_secs(-5)
                .build()
                .map(|e| e.lifetime()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn from_remaining_keeps_the_lifetime_for_the_margins() {
        let expiry = Expiry::from_remaining(Duration::from_secs(100), Duration::from_secs(300));
        assert!(expiry.remaining() <= Duration::from_secs(100));
        assert!(expiry.remaining() > Duration::from_secs(95));
        assert_eq!(expiry.lifetime(), Duration::from_secs(300));
        assert!(Expiry::from_remaining(Duration::ZERO, Duration::from_secs(1)).is_expired());
    }

    #[test]
    fn from_wall_measures_remaining_time_locally() {
        let expiry = Expiry::from_wall(
            SystemTime::now() + Duration::from_secs(100),
            Duration::from_secs(300),
        );
        let left = expiry.remaining();
        assert!(
            left <= Duration::from_secs(100) && left > Duration::from_secs(95),
            "{left:?}"
        );
        assert_eq!(expiry.lifetime(), Duration::from_secs(300));
        assert!(Expiry::from_wall(SystemTime::now() - HOUR, HOUR).is_expired());
    }
}
