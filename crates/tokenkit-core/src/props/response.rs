//! Decoding a response body ([`crate::http::Response::json`]): any status and any body
//! give JSON or a typed error — transient for 429 and 5xx, malformed otherwise — never a
//! panic, with a bounded excerpt.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fuzz;
use crate::http::Response;
use crate::{Arrival, EXCERPT_LEN, Error};

fn check(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let response = Response::from_parts("ilab", status, Arrival::now(), body.to_vec());
    let transient = status == 429 || (500..600).contains(&status);
    match response.json::<Value>() {
        Ok(value) => {
            prop_assert!(!transient && !(300..400).contains(&status));
            prop_assert_eq!(Some(value), serde_json::from_slice::<Value>(body).ok());
        }
        Err(Error::Transient {
            status: got,
            excerpt,
            ..
        }) => {
            prop_assert!(transient);
            prop_assert_eq!(got, Some(status));
            prop_assert!(excerpt.chars().count() <= EXCERPT_LEN + 1);
        }
        Err(Error::Malformed { excerpt, .. }) => {
            prop_assert!(!transient);
            prop_assert!(excerpt.chars().count() <= EXCERPT_LEN + 1);
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_status_and_body_is_json_or_a_typed_error(
        status in prop_oneof![Just(200u16), 100u16..1000],
        body in fuzz::arbitrary_bytes(),
    ) {
        check(status, &body)?;
    }

    #[test]
    fn mutated_answers_are_json_or_malformed(body in fuzz::mutations(json!({
        "code": "0", "msg": "success",
        "data": [{"clusterName": "ac", "clusterId": "0", "token": "eyJ"}]
    }))) {
        check(200, &body.bytes)?;
    }
}
