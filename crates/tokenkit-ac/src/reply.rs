//! The ac reply envelope `{"code", "msg", "data"}` and its error codes (PROTOCOLS.md
//! §2.2): `code` may be a string (documented) or a number (seen); anything but `0` is
//! a refusal; `0` with a missing or `null` `data` is a malformed reply.

use serde::Deserialize;
use serde_json::Value;
use tokenkit_core::http::Response;
use tokenkit_core::{Error, lenient};

use crate::PLATFORM;

/// The code that means success.
pub const SUCCESS: &str = "0";
/// 内部错误: internal error.
pub const INTERNAL_ERROR: &str = "10001";
/// 参数不全: parameters incomplete.
pub const PARAMETERS_INCOMPLETE: &str = "10003";
/// 参数无效: parameter invalid.
pub const PARAMETER_INVALID: &str = "10004";
/// 权限不足: insufficient permission (public clients see it for expired tokens).
pub const INSUFFICIENT_PERMISSION: &str = "10008";
/// 没有权限访问接口: no permission to access the interface.
pub const NO_INTERFACE_PERMISSION: &str = "10009";

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "lenient::string")]
    code: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    msg: Option<String>,
    #[serde(default)]
    data: Value,
}

/// What a code means and whether only a new login can get past it.
///
/// 10004 and 10008 need a new token: 10004 answers a token (or credentials) the
/// platform does not accept, 10008 a token that expired, was replaced by its renewal,
/// or is more than 24 h past expiry (§2.2). The others are not fixed by logging in.
pub fn meaning(code: &str) -> (&'static str, bool) {
    match code {
        INTERNAL_ERROR => ("internal error", false),
        PARAMETERS_INCOMPLETE => ("parameters incomplete", false),
        PARAMETER_INVALID => (
            "parameter invalid (wrong user, password or orgId, or a token the platform does not accept)",
            true,
        ),
        INSUFFICIENT_PERMISSION => (
            "insufficient permission (the token expired, was replaced by a renewal, or is past its renewal window)",
            true,
        ),
        NO_INTERFACE_PERMISSION => ("no permission to access the interface", false),
        _ => ("unknown code", false),
    }
}

/// The platform's refusal as a typed error.
pub fn rejection(code: &str, message: Option<&str>) -> Error {
    let (meaning, reauth_required) = meaning(code);
    Error::Rejected {
        platform: PLATFORM,
        code: code.to_owned(),
        message: message.unwrap_or_default().to_owned(),
        meaning: meaning.to_owned(),
        reauth_required,
    }
}

/// Whether an error is the ac platform refusing a token with 10008, the answer an API
/// call gets for an expired or replaced token: call
/// [`TokenCache::invalidate`](tokenkit_core::TokenCache::invalidate) and retry once.
///
/// ```
/// use tokenkit_core::Error;
/// let err = Error::Rejected { platform: "ac", code: "10008".into(), message: "权限不足".into(),
///     meaning: String::new(), reauth_required: true };
/// assert!(tokenkit_ac::is_token_refused(&err));
/// ```
pub fn is_token_refused(error: &Error) -> bool {
    error.platform() == Some(PLATFORM) && error.platform_code() == Some(INSUFFICIENT_PERMISSION)
}

/// The `data` of a successful reply; a refusal or a malformed reply as a typed error.
pub fn data(response: &Response) -> Result<Value, Error> {
    let envelope: Envelope = response.json()?;
    let code = envelope.code.trim();
    if code != SUCCESS {
        return Err(rejection(code, envelope.msg.as_deref()));
    }
    if envelope.data.is_null() {
        return Err(response.malformed("code 0 without data (missing or null)"));
    }
    Ok(envelope.data)
}

/// The JSON type of a value, for error messages that must not quote the value itself
/// (it may be a token).
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        let table = [
            (INTERNAL_ERROR, false),
            (PARAMETERS_INCOMPLETE, false),
            (PARAMETER_INVALID, true),
            (INSUFFICIENT_PERMISSION, true),
            (NO_INTERFACE_PERMISSION, false),
            ("424242", false),
        ];
        for (code, reauth) in table {
            let err = rejection(code, Some("消息"));
            assert_eq!(err.platform_code(), Some(code));
            assert_eq!(err.platform_message(), Some("消息"));
            assert_eq!(err.is_reauth_required(), reauth, "{code}");
            assert!(!err.is_transient(), "{code}");
            let text = err.to_string();
            assert!(text.starts_with("ac: code "), "{text}");
            assert!(text.contains(meaning(code).0), "{text}");
        }
        assert!(is_token_refused(&rejection(INSUFFICIENT_PERMISSION, None)));
        assert!(!is_token_refused(&rejection(PARAMETER_INVALID, None)));
    }
}
