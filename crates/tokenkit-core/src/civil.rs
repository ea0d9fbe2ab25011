//! Calendar conversions for the few wall-clock formats the platforms use: RFC 3339 in
//! UTC for our own output, and `YYYY-MM-DD HH:MM:SS` in Beijing time (UTC+8) for the
//! ilab `*_display` fields. Days-from-civil after Howard Hinnant's public-domain
//! algorithms; no time-zone database is needed because China has no daylight saving.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Beijing time is UTC+8 all year.
pub const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_millis(t: SystemTime) -> i64 {
    // Saturated, never wrapped: a wrapped far-future expiry would read back as one
    // long past (an expired token, and a refresh spent by every reader).
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The instant `ms` milliseconds after the Unix epoch.
pub fn from_unix_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

fn format_with_offset(t: SystemTime, offset: i64, sep: char) -> String {
    let secs = unix_seconds(t) + offset;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `2024-03-22T10:27:09Z`: RFC 3339 in UTC, whole seconds.
pub fn rfc3339_utc(t: SystemTime) -> String {
    format!("{}Z", format_with_offset(t, 0, 'T'))
}

/// `2024-03-22 18:27:09`: Beijing time, the format of the ilab `*_display` fields.
pub fn beijing_display(t: SystemTime) -> String {
    format_with_offset(t, BEIJING_OFFSET_SECS, ' ')
}

/// Parses `YYYY-MM-DD HH:MM:SS` (or with a `T`) read as Beijing time.
pub fn parse_beijing_display(s: &str) -> Option<SystemTime> {
    parse_local(s.trim(), BEIJING_OFFSET_SECS)
}

fn parse_local(s: &str, offset: i64) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se) - offset;
    Some(from_unix_millis(secs * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_from_the_ilab_seed() {
        // create_time 1711103229122 is displayed as 2024-03-22 18:27:09 (Beijing).
        let t = from_unix_millis(1_711_103_229_122);
        assert_eq!(beijing_display(t), "2024-03-22 18:27:09");
        assert_eq!(rfc3339_utc(t), "2024-03-22T10:27:09Z");
        let parsed = parse_beijing_display("2024-03-22 18:27:09").expect("parses");
        assert_eq!(unix_seconds(parsed), 1_711_103_229);
    }

    #[test]
    fn round_trip_across_years_and_before_the_epoch() {
        for secs in [-86_400_i64 * 400, -1, 0, 951_782_400, 4_102_444_800] {
            let t = from_unix_millis(secs * 1000);
            let back = parse_beijing_display(&beijing_display(t)).expect("parses");
            assert_eq!(unix_seconds(back), secs);
        }
    }

    #[test]
    fn the_earliest_millisecond_round_trips() {
        // Found by the epoch-millis property: negating i64::MIN overflowed.
        assert_eq!(unix_millis(from_unix_millis(i64::MIN)), i64::MIN);
        assert_eq!(unix_millis(from_unix_millis(i64::MAX)), i64::MAX);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2024-13-01 00:00:00",
            "2024-03-22",
            "abcd-ef-gh ij:kl:mn",
            "2024-03-22 25:00:00",
        ] {
            assert!(parse_beijing_display(s).is_none(), "{s}");
        }
    }
}
