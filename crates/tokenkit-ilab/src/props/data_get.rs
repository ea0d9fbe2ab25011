//! The `data_get` answer (§1.4, `data_get::parse_records`): any bytes, and mutations of
//! answers listing records in `data` or in `data.records`, are records or a typed
//! error; the records are the ones the answer lists, as sent.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, lenient};

use super::fuzz;
use crate::PLATFORM;
use crate::data_get::parse_records;

fn record() -> Value {
    json!({"username": "u1", "title": "单摆", "status": 1, "score": 86,
           "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
           "originId": "o-1", "steps": [{"seq": 1, "title": "实验操作"}]})
}

fn check(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let response = Response::from_parts(PLATFORM, status, Arrival::now(), body.to_vec());
    let answer: Value = match response.json() {
        Ok(answer) => answer,
        Err(error) => {
            prop_assert!(
                matches!(error, Error::Malformed { .. } | Error::Transient { .. }),
                "{error:?}"
            );
            return Ok(());
        }
    };
    match parse_records(&answer, &response.body, &tokenkit_core::Sent::new()) {
        Ok(records) => {
            let code = answer.get("code").and_then(lenient::value_as_string);
            prop_assert_eq!(code.as_deref().map(str::trim), Some("0"));
            let listed = match &answer["data"] {
                Value::Array(list) => list.clone(),
                Value::Object(map) => map
                    .get("records")
                    .or_else(|| map.get("list"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            prop_assert_eq!(records, listed);
        }
        Err(error) => prop_assert!(
            matches!(error, Error::Malformed { .. } | Error::Rejected { .. }),
            "{error:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn any_bytes_are_records_or_a_typed_error(
        status in prop_oneof![Just(200u16), 100u16..600],
        body in fuzz::arbitrary_bytes(),
    ) {
        check(status, &body)?;
    }

    #[test]
    fn mutated_answers_are_records_or_a_typed_error(
        mutated in prop_oneof![
            fuzz::mutations(json!({"code": 0, "msg": "ok", "data": [record(), record()]})),
            fuzz::mutations(json!({"code": "0", "data": {"records": [record()], "total": 1}})),
        ],
    ) {
        check(200, &mutated.bytes)?;
    }
}
