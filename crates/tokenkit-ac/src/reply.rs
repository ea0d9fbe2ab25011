//! The ac reply envelope `{"code", "msg", "data"}` and its error codes (PROTOCOLS.md
//! §2.2): `code` may be a string (documented) or a number (seen); anything but `0` is
//! a refusal; `0` with a missing or `null` `data` is a malformed reply.

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
            "parameter invalid (wrong credentials: user, password, orgId, access key, signature or timestamp; or a token the platform does not accept)",
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

/// The platform's refusal as a typed error. Its message is kept as sent, except that
/// anything token-like is redacted (a gateway may echo the request's `token` header).
pub fn rejection(code: &str, message: Option<&str>) -> Error {
    let (meaning, reauth_required) = meaning(code);
    Error::rejected(
        PLATFORM,
        code,
        tokenkit_core::excerpt(message.unwrap_or_default().as_bytes()),
        meaning,
        reauth_required,
    )
}

/// Whether an error is the ac platform refusing a token with 10008, the answer an API
/// call gets for an expired or replaced token: call
/// [`TokenCache::invalidate`](tokenkit_core::TokenCache::invalidate) and retry once.
///
/// ```
/// use tokenkit_core::Error;
/// let err = Error::rejected("ac", "10008", "权限不足", "insufficient permission", true);
/// assert!(tokenkit_ac::is_token_refused(&err));
/// ```
pub fn is_token_refused(error: &Error) -> bool {
    error.platform() == Some(PLATFORM) && error.platform_code() == Some(INSUFFICIENT_PERMISSION)
}

/// The `data` of a successful reply; a refusal or a malformed reply as a typed error,
/// without the secrets the request carried ([`Response::with_sent`]).
///
/// The envelope is read by hand rather than derived: serde would accept a JSON list
/// as a struct (`["0", "msg", …]`), and its messages may quote values (tokens).
pub(crate) fn data(response: &Response) -> Result<Value, Error> {
    let reply: Value = response.json()?;
    let Value::Object(mut envelope) = reply else {
        return Err(response.malformed(format!(
            "unexpected JSON: the reply is {} where an object was expected",
            describe(&reply)
        )));
    };
    let code = match envelope.get("code") {
        None => return Err(response.malformed("unexpected JSON: the reply has no code")),
        Some(v) => lenient::value_as_string(v).ok_or_else(|| {
            response.malformed(format!(
                "unexpected JSON: code is {} where a string or number was expected",
                describe(v)
            ))
        })?,
    };
    let code = code.trim();
    if code != SUCCESS {
        // Scrubbed before `rejection` cuts the message to an excerpt: a secret cut in
        // half would no longer be found.
        let message = envelope
            .get("msg")
            .and_then(lenient::value_as_string)
            .map(|m| response.scrub(&m));
        return Err(response.sent().error(rejection(code, message.as_deref())));
    }
    match envelope.remove("data") {
        None | Some(Value::Null) => {
            Err(response.malformed("code 0 without data (missing or null)"))
        }
        Some(data) => Ok(data),
    }
}

/// The JSON type of a value, for error messages that must not quote the value itself
/// (it may be a token).
pub(crate) fn describe(v: &Value) -> &'static str {
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
