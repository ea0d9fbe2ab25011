//! The `data_upload` answer (§1.4, `upload_answer::read`): any bytes, and mutations of
//! an acknowledgement and of a refusal, are read without a panic; only `code` 0 is an
//! acknowledgement, and every refusal keeps the platform's code.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, lenient};

use super::fuzz;
use crate::PLATFORM;
use crate::upload_answer::{UploadAnswer, read};

/// Decodes the body as the reporter does, then reads it; what the reporter would retry
/// (a body that is not JSON) is `None`.
fn answer_of(status: u16, body: &[u8]) -> Option<(Value, UploadAnswer)> {
    let response = Response::from_parts(PLATFORM, status, Arrival::now(), body.to_vec());
    let answer: Value = response.json().ok()?;
    let read = read(&answer, &response);
    Some((answer, read))
}

fn check(answer: &Value, read: UploadAnswer) -> Result<(), TestCaseError> {
    let code = answer.get("code").and_then(lenient::value_as_string);
    let code = code.as_deref().map(str::trim);
    match read {
        UploadAnswer::Acknowledged(_) => prop_assert_eq!(code, Some("0")),
        UploadAnswer::Unreadable(error) => {
            prop_assert_eq!(code, None);
            prop_assert!(matches!(error, Error::Malformed { .. }), "{error:?}");
        }
        UploadAnswer::TokenInvalid(error) | UploadAnswer::Refused(error) => {
            prop_assert!(code.is_some_and(|c| c != "0"));
            prop_assert_eq!(error.platform_code(), code);
            prop_assert!(matches!(error, Error::Rejected { .. }), "{error:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn any_bytes_are_read_without_a_panic(
        status in prop_oneof![Just(200u16), 100u16..600],
        body in fuzz::arbitrary_bytes(),
    ) {
        if let Some((answer, read)) = answer_of(status, &body) {
            check(&answer, read)?;
        }
    }

    #[test]
    fn mutated_answers_are_read_by_their_code(
        mutated in prop_oneof![
            fuzz::mutations(json!({"code": 0, "msg": "成功"})),
            fuzz::mutations(json!({"code": "3", "msg": "参数错误：title", "data": null})),
        ],
    ) {
        if let Some((answer, read)) = answer_of(200, &mutated.bytes) {
            check(&answer, read)?;
        }
    }
}
