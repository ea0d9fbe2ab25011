//! Body excerpts for error messages ([`crate::excerpt`]): any bytes, and any mutation of
//! a success body, give a bounded excerpt without a panic.

use proptest::prelude::*;
use serde_json::json;

use super::fuzz;
use crate::{EXCERPT_LEN, excerpt, scrub};

/// A bit of every platform's answers, tokens included.
fn answer() -> serde_json::Value {
    json!({
        "code": 0, "msg": "调用成功",
        "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJ1biI6ImEifQ.c2ln",
        "refresh_token": "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT", "expires_in": 86399,
        "data": [{"clusterId": "0", "token": "t"}], "error": {"errorText": "x"}
    })
}

fn assert_bounded(body: &[u8]) {
    let text = excerpt(body);
    assert!(text.chars().count() <= EXCERPT_LEN + 1, "{text:?}");
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_bytes_give_a_bounded_excerpt(body in fuzz::arbitrary_bytes()) {
        assert_bounded(&body);
    }

    #[test]
    fn mutated_answers_give_a_bounded_excerpt(body in fuzz::mutations(answer())) {
        assert_bounded(&body.bytes);
    }

    #[test]
    fn scrubbing_any_text_never_panics(
        text in fuzz::arbitrary_text(),
        secret in fuzz::arbitrary_text(),
    ) {
        let clean = scrub(&text, &[&secret]);
        if secret.is_empty() {
            prop_assert_eq!(clean, text);
        }
    }
}
