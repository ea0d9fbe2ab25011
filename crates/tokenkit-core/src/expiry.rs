//! When a token expires, measured so that a skewed local clock cannot make an expired
//! token look valid (PROTOCOLS.md, "Common rules").
//!
//! Every estimate is turned into a *lifetime on the server's clock* — `expires_in`,
//! `expires_time - create_time`, JWT `exp - iat`, or an absolute expiry minus the
//! response's HTTP `Date` — and anchored at the local *monotonic* instant the response
//! arrived. Only when nothing else exists is an absolute expiry compared with the local
//! wall clock. The earliest estimate wins.
//!
//! Two plausibility rules bound what a platform can make the cache believe: a lifetime
//! is capped by a plausible maximum ([`ExpiryEstimate::max_lifetime`]; each platform
//! client sets its own, configurable through
//! [`HttpConfig::max_lifetime`](crate::http::HttpConfig::max_lifetime)), and a token
//! that is already expired when it arrives is refused as
//! [`Error::Implausible`] ([`ExpiryEstimate::build_usable`]) instead of being cached,
//! so that it cannot trigger another (possibly budgeted) refresh at once. Every
//! deadline saturates at [`LONGEST_LIFETIME`] instead of overflowing.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::Error;
use crate::civil::rfc3339_utc;

/// The longest lifetime an [`Expiry`] represents (100 years): anything longer saturates
/// here, so no arithmetic on instants or on stored milliseconds can overflow.
pub const LONGEST_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

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
    /// An expiry `lifetime` after `arrival` (saturating at [`LONGEST_LIFETIME`]).
    pub fn after(arrival: Arrival, lifetime: Duration) -> Self {
        let lifetime = lifetime.min(LONGEST_LIFETIME);
        Self {
            issued: arrival.instant,
            deadline: later(arrival.instant, lifetime),
            wall: arrival.wall.checked_add(lifetime).unwrap_or(arrival.wall),
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
            max_lifetime: None,
        }
    }

    /// Rebuilds an expiry from a stored wall-clock expiry (a store written by another
    /// process on this host): the remaining time is measured on this host's clock.
    pub fn from_wall(expires_at: SystemTime, lifetime: Duration) -> Self {
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let remaining = expires_at
            .duration_since(wall_now)
            .unwrap_or(Duration::ZERO)
            .min(LONGEST_LIFETIME);
        let deadline = later(now, remaining);
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
        let remaining = remaining.min(LONGEST_LIFETIME);
        let now = Instant::now();
        let deadline = later(now, remaining);
        let issued = deadline.checked_sub(lifetime.max(remaining)).unwrap_or(now);
        let wall_now = SystemTime::now();
        Self {
            issued,
            deadline,
            wall: wall_now.checked_add(remaining).unwrap_or(wall_now),
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
    earliest: Option<(Duration, Basis)>,
    max_lifetime: Option<Duration>,
}

/// What an estimate was measured from, to explain an implausible one.
#[derive(Debug, Clone, Copy)]
enum Basis {
    Lifetime,
    Seconds(i64),
    Between {
        issued: SystemTime,
        expires: SystemTime,
    },
    Absolute {
        expires: SystemTime,
        reference: SystemTime,
        server_date: bool,
    },
}

impl Basis {
    fn describe(self) -> String {
        match self {
            Self::Lifetime => "its stated lifetime is zero".to_owned(),
            Self::Seconds(secs) => format!("its stated lifetime is {secs} s"),
            Self::Between { issued, expires } => format!(
                "its expiry {} is not after its issue time {}",
                rfc3339_utc(expires),
                rfc3339_utc(issued)
            ),
            Self::Absolute {
                expires,
                reference,
                server_date,
            } => {
                let against = if server_date {
                    "the response's Date"
                } else {
                    "the local clock (the response had no usable Date)"
                };
                format!(
                    "its expiry {} is not after {against} {}",
                    rfc3339_utc(expires),
                    rfc3339_utc(reference)
                )
            }
        }
    }
}

impl ExpiryEstimate {
    fn consider(mut self, lifetime: Duration, basis: Basis) -> Self {
        if self.earliest.is_none_or(|(e, _)| lifetime < e) {
            self.earliest = Some((lifetime, basis));
        }
        self
    }

    /// A lifetime on the server's clock (`expires_in`, `exp - iat`, …).
    pub fn lifetime(self, lifetime: Duration) -> Self {
        self.consider(lifetime, Basis::Lifetime)
    }

    /// A lifetime in seconds that may be negative or absurd (a negative one counts as
    /// zero: the token is expired).
    pub fn lifetime_secs(self, secs: i64) -> Self {
        self.consider(
            Duration::from_secs(secs.max(0) as u64),
            Basis::Seconds(secs),
        )
    }

    /// Two server timestamps, e.g. `create_time` and `expires_time`.
    pub fn between(self, issued: SystemTime, expires: SystemTime) -> Self {
        self.consider(
            expires.duration_since(issued).unwrap_or(Duration::ZERO),
            Basis::Between { issued, expires },
        )
    }

    /// An absolute expiry on the server's clock. Measured against the response's `Date`
    /// when there is one; otherwise, as a last resort, against the local wall clock.
    pub fn absolute(self, expires: SystemTime) -> Self {
        let reference = self.arrival.server_date.unwrap_or(self.arrival.wall);
        self.consider(
            expires.duration_since(reference).unwrap_or(Duration::ZERO),
            Basis::Absolute {
                expires,
                reference,
                server_date: self.arrival.server_date.is_some(),
            },
        )
    }

    /// Caps the lifetime: no estimate is believed beyond `max` (a platform's plausible
    /// maximum). A capped estimate is logged.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Whether the response's `Date` is known (and plausible), so that an absolute
    /// expiry is measured on the server's clock.
    pub fn has_server_date(&self) -> bool {
        self.arrival.server_date.is_some()
    }

    /// Whether any estimate was given.
    pub fn is_known(&self) -> bool {
        self.earliest.is_some()
    }

    /// The lifetime the estimates give, capped; `None` when no estimate was given.
    fn capped(&self) -> Option<Duration> {
        let (lifetime, _) = self.earliest?;
        let cap = self
            .max_lifetime
            .unwrap_or(LONGEST_LIFETIME)
            .min(LONGEST_LIFETIME);
        if lifetime > cap {
            tracing::warn!(
                stated_s = lifetime.as_secs(),
                cap_s = cap.as_secs(),
                "a token's stated lifetime exceeds the plausible maximum; capped"
            );
        }
        Some(lifetime.min(cap))
    }

    /// The expiry, or `None` when no estimate was given. A token with no lifetime left
    /// gets an expired expiry; see [`ExpiryEstimate::build_usable`] to refuse it.
    pub fn build(self) -> Option<Expiry> {
        Some(Expiry::after(self.arrival, self.capped()?))
    }

    /// Like [`ExpiryEstimate::build`], but a token that is already expired on arrival
    /// is [`Error::Implausible`] for `platform`, saying why (its expiry, the `Date` or
    /// clock it was measured against): such an answer must not be cached, where it
    /// would make the next caller spend another refresh at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenkit_core::{Arrival, Expiry};
    /// let err = Expiry::estimate(Arrival::now()).lifetime_secs(0).build_usable("ilab").unwrap_err();
    /// assert!(err.to_string().contains("implausible"), "{err}");
    /// ```
    pub fn build_usable(self, platform: &'static str) -> Result<Option<Expiry>, Error> {
        let Some(lifetime) = self.capped() else {
            return Ok(None);
        };
        if lifetime.is_zero() {
            let basis = self.earliest.map_or(Basis::Lifetime, |(_, b)| b);
            return Err(Error::Implausible {
                platform,
                reason: format!(
                    "the token was already expired when it arrived: {}",
                    basis.describe()
                ),
            });
        }
        Ok(Some(Expiry::after(self.arrival, lifetime)))
    }
}

/// The threshold between the two units of epoch timestamps: 10^11 seconds is the year
/// 5138, 10^11 milliseconds is 1973. A value above it is milliseconds, below seconds
/// (PROTOCOLS.md §3.1's rule for bo's `expiresIn`, applied to every timestamp that a
/// platform may send in either unit: a JWT `exp` in milliseconds must not make a token
/// valid until the year 58886).
pub const EPOCH_MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// An epoch timestamp in seconds or milliseconds (see [`EPOCH_MILLIS_THRESHOLD`]);
/// `None` for a negative value.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tokenkit_core::epoch_seconds_or_millis as at;
/// assert_eq!(at(1_711_189_629), Some(UNIX_EPOCH + Duration::from_secs(1_711_189_629)));
/// assert_eq!(at(1_711_189_629_000), at(1_711_189_629));
/// assert_eq!(at(-1), None);
/// ```
pub fn epoch_seconds_or_millis(value: i64) -> Option<SystemTime> {
    let value = u64::try_from(value).ok()?;
    let since_epoch = if value > EPOCH_MILLIS_THRESHOLD as u64 {
        Duration::from_millis(value)
    } else {
        Duration::from_secs(value)
    };
    SystemTime::UNIX_EPOCH.checked_add(since_epoch)
}

/// `start + by`, saturating: an instant that far away cannot be represented on every
/// platform, so the deadline stops at the latest one that can.
fn later(start: Instant, mut by: Duration) -> Instant {
    loop {
        if let Some(deadline) = start.checked_add(by) {
            return deadline;
        }
        by /= 2;
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
