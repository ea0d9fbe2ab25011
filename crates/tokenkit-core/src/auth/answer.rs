//! An answer as a [`TokenScheme`](super::TokenScheme) sees it: status, headers and
//! the body when it is small enough to be a refusal envelope.

use std::sync::OnceLock;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::lenient;

/// The status, headers and (when small) the body of an answer to an authenticated
/// call.
///
/// ```
/// use reqwest::header::HeaderMap;
/// use tokenkit_core::auth::Answer;
/// let headers = HeaderMap::new();
/// let body = r#"{"code": 10008, "msg": "权限不足"}"#.as_bytes();
/// let answer = Answer::new(reqwest::StatusCode::OK, &headers, Some(body));
/// assert_eq!(answer.json_field("code").as_deref(), Some("10008"));
/// assert_eq!(answer.json_field("msg").as_deref(), Some("权限不足"));
/// ```
#[derive(Debug)]
pub struct Answer<'a> {
    status: StatusCode,
    headers: &'a HeaderMap,
    body: Option<&'a [u8]>,
    envelope: OnceLock<Option<Envelope>>,
}

/// The top-level fields refusal envelopes are made of, read leniently (numbers or
/// strings) and once per answer.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    msg: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    success: Option<Value>,
}

impl<'a> Answer<'a> {
    /// An answer; `body` is `None` when the body was not read (larger than the
    /// scheme's cap, or a stream).
    pub fn new(status: StatusCode, headers: &'a HeaderMap, body: Option<&'a [u8]>) -> Self {
        Self {
            status,
            headers,
            body,
            envelope: OnceLock::new(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The whole body, when it was read (at most the scheme's
    /// [`max_refusal_body`](super::TokenScheme::max_refusal_body) bytes).
    pub fn body(&self) -> Option<&[u8]> {
        self.body
    }

    /// A top-level field of a JSON object body, as a string: `code`, `msg`, `message`
    /// or `success` (numbers and booleans as their text). `None` when the body is not
    /// a JSON object, was not read, or lacks the field.
    pub fn json_field(&self, name: &str) -> Option<String> {
        let envelope = self.envelope.get_or_init(|| self.parse()).as_ref()?;
        let value = match name {
            "code" => envelope.code.as_ref(),
            "msg" => envelope.msg.as_ref(),
            "message" => envelope.message.as_ref(),
            "success" => envelope.success.as_ref(),
            _ => return self.other_field(name),
        }?;
        lenient::value_as_string(value)
    }

    /// The platform's message: `msg`, else `message`.
    pub fn json_message(&self) -> Option<String> {
        self.json_field("msg")
            .or_else(|| self.json_field("message"))
    }

    fn parse(&self) -> Option<Envelope> {
        let body = self.body?;
        // Cheap refusal of what cannot be a JSON object (HTML pages, empty bodies).
        let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    /// Any other field: a full parse, only for schemes that ask for one.
    fn other_field(&self, name: &str) -> Option<String> {
        let value: Value = serde_json::from_slice(self.body?).ok()?;
        lenient::value_as_string(value.get(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_leniently() {
        let headers = HeaderMap::new();
        let cases: [(&[u8], Option<&str>); 6] = [
            (br#"{"code": "10008"}"#, Some("10008")),
            (br#"{"code": 2, "data": [1, 2, {"x": null}]}"#, Some("2")),
            (br#"<html>code</html>"#, None),
            (br#"{"code": "#, None),
            (br#"["code", 1]"#, None),
            (b"", None),
        ];
        for (body, code) in cases {
            let answer = Answer::new(StatusCode::OK, &headers, Some(body));
            assert_eq!(answer.json_field("code").as_deref(), code);
        }
        let answer = Answer::new(
            StatusCode::OK,
            &headers,
            Some(br#"{"success": false, "message": "m", "errcode": 7}"#),
        );
        assert_eq!(answer.json_field("success").as_deref(), Some("false"));
        assert_eq!(answer.json_message().as_deref(), Some("m"));
        assert_eq!(answer.json_field("errcode").as_deref(), Some("7"));
        assert_eq!(
            Answer::new(StatusCode::OK, &headers, None).json_field("code"),
            None
        );
    }
}
