//! Civil times ([`crate::civil`]): epoch milliseconds of every `i64` survive the trip
//! through `SystemTime`; Beijing display times, arbitrary or mutated, parse without a
//! panic, and what parses displays as itself.

use proptest::prelude::*;

use super::fuzz;
use crate::civil::{
    beijing_display, from_unix_millis, parse_beijing_display, rfc3339_utc, unix_millis,
    unix_seconds,
};

/// What a parsed display time must satisfy: displayed again and parsed again, it is
/// the same instant (impossible dates like 02-31 are normalised once, not drift).
fn assert_stable(text: &str) {
    if let Some(t) = parse_beijing_display(text) {
        let shown = beijing_display(t);
        assert_eq!(
            parse_beijing_display(&shown),
            Some(t),
            "{text:?} shown as {shown:?}"
        );
    }
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn epoch_millis_round_trip(
        ms in prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1), any::<i64>()],
    ) {
        let t = from_unix_millis(ms);
        prop_assert_eq!(unix_millis(t), ms);
        prop_assert_eq!(unix_seconds(t), ms / 1000);
        // Formatting any representable instant does not panic.
        let _ = (rfc3339_utc(t), beijing_display(t));
    }

    #[test]
    fn arbitrary_display_times_never_panic(text in fuzz::arbitrary_text()) {
        assert_stable(&text);
    }

    #[test]
    fn valid_display_times_round_trip(
        y in 0u32..=9999, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60,
        s in 0u32..60, t_separator in any::<bool>(),
    ) {
        let sep = if t_separator { 'T' } else { ' ' };
        let text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}");
        let parsed = parse_beijing_display(&text).expect("a valid display time");
        prop_assert_eq!(beijing_display(parsed), text.replace('T', " "));
    }

    #[test]
    fn mutated_display_times_never_panic(
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        cut in any::<bool>(),
    ) {
        let valid = "2024-03-22 18:27:09";
        let chars: Vec<char> = valid.chars().collect();
        let i = at.index(chars.len());
        let mutated: String = if cut {
            chars[..i].iter().collect()
        } else {
            chars.iter().enumerate().map(|(j, c)| if j == i { replacement } else { *c }).collect()
        };
        assert_stable(&mutated);
    }
}
