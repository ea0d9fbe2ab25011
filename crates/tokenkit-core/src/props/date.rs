//! The HTTP `Date` header ([`crate::http`]'s `server_date`): any header bytes are a date
//! or none, never a panic; every date in each of the three HTTP formats reads back to
//! the second; mutated dates never panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use reqwest::header::{DATE, HeaderMap, HeaderValue};

use super::fuzz;
use crate::http::server_date;

fn date_of(bytes: &[u8]) -> Option<SystemTime> {
    let mut headers = HeaderMap::new();
    headers.insert(DATE, HeaderValue::from_bytes(bytes).ok()?);
    server_date(&headers)
}

/// The three formats of RFC 9110 §5.6.7 for `t`.
fn formats(t: SystemTime) -> [String; 3] {
    let imf = httpdate::fmt_http_date(t); // Sun, 06 Nov 1994 08:49:37 GMT
    let parts: Vec<&str> = imf.split(' ').collect();
    let (day, date, month, year, time) = (
        parts[0].trim_end_matches(','),
        parts[1],
        parts[2],
        parts[3],
        parts[4],
    );
    let long_day = match day {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    };
    let rfc850 = format!("{long_day}, {date}-{month}-{} {time} GMT", &year[2..]);
    let asctime = format!(
        "{day} {month} {:>2} {time} {year}",
        date.trim_start_matches('0')
    );
    [imf, rfc850, asctime]
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_header_bytes_never_panic(bytes in fuzz::arbitrary_bytes()) {
        let _ = date_of(&bytes);
    }

    #[test]
    fn every_date_reads_back_in_each_format(secs in 0u64..253_402_300_800) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let [imf, rfc850, asctime] = formats(t);
        prop_assert_eq!(date_of(imf.as_bytes()), Some(t), "{}", imf);
        prop_assert_eq!(date_of(asctime.as_bytes()), Some(t), "{}", asctime);
        // Two-digit years: read within 1970..2069, as httpdate interprets them.
        if (0..3_155_760_000).contains(&secs) {
            prop_assert_eq!(date_of(rfc850.as_bytes()), Some(t), "{}", rfc850);
        } else {
            let _ = date_of(rfc850.as_bytes());
        }
    }

    #[test]
    fn mutated_dates_never_panic(
        secs in 0u64..253_402_300_800,
        format in 0usize..3,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let text = formats(UNIX_EPOCH + Duration::from_secs(secs))[format].clone().into_bytes();
        let i = at.index(text.len());
        let mutated = if cut {
            text[..i].to_vec()
        } else {
            let mut text = text;
            text[i] = byte;
            text
        };
        let _ = date_of(&mutated);
    }
}
