//! A `success: false` answer (`rejection::rejected`, PROTOCOLS.md §3.1): any JSON, and
//! mutations of the seed's error body, become a refusal carrying what was sent, never a
//! panic; a refresh answer saying `success: false` is always that refusal.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, RefreshToken, lenient};

use super::fuzz;
use crate::PLATFORM;
use crate::rejection::rejected;
use crate::response::parse_refresh;

fn seed() -> Value {
    json!({"code": "401", "message": "登录已过期", "success": false,
           "error": {"errorCode": "REFRESH_TOKEN_INVALID", "errorText": "refresh token used"}})
}

fn check(body: &Value, status: u16) -> Result<(), TestCaseError> {
    let error = rejected(body, status, &tokenkit_core::Sent::new());
    prop_assert!(
        matches!(
            error,
            Error::Rejected {
                platform: PLATFORM,
                ..
            }
        ),
        "{error:?}"
    );
    let code = body
        .get("code")
        .and_then(lenient::value_as_string)
        .unwrap_or_default();
    prop_assert_eq!(error.platform_code(), Some(code.as_str()));
    let _ = error.to_string();
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn any_json_is_a_refusal(body in fuzz::arbitrary_json(), status in 100u16..600) {
        check(&body, status)?;
    }

    #[test]
    fn mutated_error_bodies_are_a_refusal_or_malformed(mutated in fuzz::mutations(seed())) {
        if let Some(body) = mutated.json() {
            check(&body, 200)?;
        }
        let response = Response::from_parts(PLATFORM, 200, Arrival::now(), mutated.bytes.clone());
        match parse_refresh(&response, &RefreshToken::new("spent")) {
            // A mutation may have turned the refusal into a success without a token,
            // which is malformed, never a token.
            Ok(token) => prop_assert!(false, "a token from an error body: {:?}", token.expiry()),
            Err(Error::Rejected { .. }) => {
                let body = mutated.json().expect("a refusal was read from JSON");
                prop_assert_eq!(body.get("success").and_then(|s| match s {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) => Some(matches!(s.trim(), "true" | "1")),
                    Value::Number(n) => Some(n.as_i64() == Some(1)),
                    _ => None,
                }), Some(false));
            }
            Err(Error::Malformed { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}
