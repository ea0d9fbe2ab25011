//! The emulated ac platform's clock: the machine's clock shifted by
//! [`AcConfig::clock_offset`](super::AcConfig::clock_offset) seconds.
//!
//! Every ac decision reads it (minting `expireTime`, the expiry and renewal-window
//! checks, the access-key timestamp window), and every ac answer states it in its
//! `Date` header. A test that sets an offset therefore sees what a client with a wrong
//! local clock sees in production: the server's times and its `Date` agree with each
//! other, not with the client.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::DATE;
use axum::response::Response;

/// The machine's clock plus a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PlatformClock {
    offset_s: i64,
}

impl PlatformClock {
    /// A clock `offset_s` seconds ahead (+) or behind (−) the machine's.
    pub(super) fn new(offset_s: i64) -> Self {
        Self { offset_s }
    }

    /// The platform's now.
    pub(super) fn now(self) -> SystemTime {
        self.at(SystemTime::now())
    }

    /// What the platform's clock reads when the machine's reads `real`.
    fn at(self, real: SystemTime) -> SystemTime {
        let shift = Duration::from_secs(self.offset_s.unsigned_abs());
        // An offset that leaves SystemTime's range is a test's typo; the machine's
        // clock is a better answer than a panic inside a request.
        if self.offset_s >= 0 {
            real.checked_add(shift)
        } else {
            real.checked_sub(shift)
        }
        .unwrap_or(real)
    }

    /// The platform's now, in epoch milliseconds.
    pub(super) fn now_ms(self) -> i64 {
        tokenkit_core::civil::unix_millis(self.now())
    }

    /// The machine's now and the platform's now (epoch ms), from one reading, so a
    /// platform time can be told on the machine's clock ([`machine_time`]).
    pub(super) fn readings(self) -> (SystemTime, i64) {
        let real = SystemTime::now();
        (real, tokenkit_core::civil::unix_millis(self.at(real)))
    }
}

/// When, on the machine's clock, the platform's clock reads `platform_ms`, given that
/// it read `platform_now_ms` at the machine's `machine_now`: what the console and
/// the journal show, as they show every platform's times on one clock.
pub(super) fn machine_time(
    machine_now: SystemTime,
    platform_now_ms: i64,
    platform_ms: i64,
) -> SystemTime {
    shifted(machine_now, platform_ms.saturating_sub(platform_now_ms))
}

/// `t` moved by `ms` milliseconds (either way); `t` itself in the (theoretical) case
/// that leaves [`SystemTime`]'s range.
fn shifted(t: SystemTime, ms: i64) -> SystemTime {
    let by = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        t.checked_add(by)
    } else {
        t.checked_sub(by)
    }
    .unwrap_or(t)
}

/// Response middleware: states the platform's clock in `Date`, replacing the one the
/// HTTP server would add from the machine's clock (hyper only adds its own when the
/// response has none).
pub(super) async fn stamp_date(
    State(clock): State<PlatformClock>,
    mut response: Response,
) -> Response {
    let date = httpdate::fmt_http_date(clock.now());
    // An IMF-fixdate is plain ASCII, so this cannot fail; if it somehow did, the
    // server's own Date is still a valid answer.
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(DATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_the_clock_both_ways() {
        let real = tokenkit_core::civil::unix_millis(SystemTime::now());
        let ahead = PlatformClock::new(3600).now_ms();
        let behind = PlatformClock::new(-3600).now_ms();
        assert!(
            (ahead - real - 3_600_000).abs() < 5_000,
            "{ahead} vs {real}"
        );
        assert!(
            (real - behind - 3_600_000).abs() < 5_000,
            "{behind} vs {real}"
        );
        let same = PlatformClock::new(0).now_ms();
        assert!((same - real).abs() < 5_000);
    }

    #[test]
    fn a_platform_time_is_told_on_the_machines_clock() {
        let (machine, platform) = PlatformClock::new(3600).readings();
        assert_eq!(
            tokenkit_core::civil::unix_millis(machine) + 3_600_000,
            platform,
            "one reading, shifted by exactly the offset"
        );
        let in_two_hours = machine_time(machine, platform, platform + 7_200_000);
        assert_eq!(
            in_two_hours.duration_since(machine).ok(),
            Some(Duration::from_secs(7200))
        );
        let ago = machine_time(machine, platform, platform - 1_000);
        assert_eq!(
            machine.duration_since(ago).ok(),
            Some(Duration::from_secs(1))
        );
    }
}
