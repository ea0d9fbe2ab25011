//! What a `data_upload` answer says (§1.4): `code` 0 acknowledges the record, `code 2`
//! is a token the platform no longer accepts, any other code refuses the record, and an
//! answer without a code says nothing (the record may or may not be kept).

use serde_json::Value;
use tokenkit_core::Error;
use tokenkit_core::http::Response;
use tokenkit_core::lenient::value_as_string;

use crate::codes::{Operation, rejected};

/// The meaning of an upload answer that decoded as JSON.
#[derive(Debug)]
pub(crate) enum UploadAnswer {
    /// `code` 0, with the platform's message.
    Acknowledged(String),
    /// No readable `code`.
    Unreadable(Error),
    /// `code 2`: the token is no longer accepted.
    TokenInvalid(Error),
    /// Any other code: the platform refused the record.
    Refused(Error),
}

/// Reads `answer`, the decoded body of `response`: every text taken from it, errors
/// and the acknowledgement's message, has the secrets the request carried scrubbed
/// ([`Response::with_sent`]).
pub(crate) fn read(answer: &Value, response: &Response) -> UploadAnswer {
    let code = answer.get("code").and_then(value_as_string);
    let message = answer.get("msg").and_then(value_as_string);
    let refused = |code: &str| {
        response
            .sent()
            .error(rejected(Operation::Upload, code, message.clone()))
    };
    match code.as_deref().map(str::trim) {
        Some("0") => UploadAnswer::Acknowledged(response.scrub(&message.unwrap_or_default())),
        None => {
            UploadAnswer::Unreadable(response.malformed("the data_upload answer has no `code`"))
        }
        Some(code @ crate::TOKEN_INVALID) => UploadAnswer::TokenInvalid(refused(code)),
        Some(code) => UploadAnswer::Refused(refused(code)),
    }
}
