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
        let real = SystemTime::now();
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
}
