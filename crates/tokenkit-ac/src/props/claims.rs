//! Token claims (`AcClaims::decode`) and the token built from them (`token::build`,
//! PROTOCOLS.md §2.4): any string, and JWTs of mutated claims, decode without a panic,
//! and give a token that does not expire before it arrived, whatever the `Date`.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use tokenkit_core::Arrival;

use super::fuzz;
use super::{ac_claims, arrival, exp_claims};
use crate::{AcClaims, token};

fn build(raw: &str, arrival: Arrival) -> tokenkit_core::Token {
    token::build(
        raw.to_owned(),
        tokenkit_core::Expiry::estimate(arrival).max_lifetime(crate::MAX_LIFETIME),
        None,
        Some("alice"),
        Duration::from_secs(3600),
    )
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn any_string_decodes_or_is_opaque(raw in fuzz::arbitrary_text(), arrival in arrival()) {
        let _ = AcClaims::decode(&raw);
        let token = build(&raw, arrival);
        prop_assert!(token.expiry().deadline() >= arrival.instant);
    }

    #[test]
    fn mutated_claims_decode_and_build_without_a_panic(
        raw in prop_oneof![fuzz::jwt_mutations(ac_claims()), fuzz::jwt_mutations(exp_claims())],
        arrival in arrival(),
    ) {
        if let Some(claims) = AcClaims::decode(&raw) {
            let _ = (claims.status(), claims.expires_at());
        }
        let token = build(&raw, arrival);
        prop_assert!(token.expiry().deadline() >= arrival.instant);
        prop_assert!(token.expiry().wall() >= arrival.wall);
        // The claims kept are the token's own, whatever they hold.
        let kept = Value::Object(token.metadata().claims.clone());
        let decoded = tokenkit_core::jwt::decode_claims(&raw).map(Value::Object);
        let non_empty = |v: &Value| v.as_object().is_some_and(|m| !m.is_empty());
        prop_assert_eq!(Some(kept).filter(non_empty), decoded.filter(non_empty));
    }
}

/// Found by these properties: a JWT whose `exp - iat` saturated at `i64::MAX` seconds
/// overflowed the monotonic clock in the core's `Expiry::after`, a panic. Expiries now
/// saturate and lifetimes are capped.
#[test]
fn an_exp_minus_iat_of_i64_max_seconds_neither_panics_nor_wraps() {
    let claims = serde_json::json!({"exp": 1_796_140_800_i64, "iat": i64::MIN});
    let raw = fuzz::jwt_of(claims.to_string().as_bytes());
    let token = build(&raw, Arrival::now());
    assert!(token.to_record().expires_at_ms > 0, "no wrap to negative");
}
