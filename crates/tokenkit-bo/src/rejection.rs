//! A `success: false` answer as a typed error (PROTOCOLS.md §3.1).
//!
//! The seed documents the shape (`code`, `message`, `error.errorCode`,
//! `error.errorText`) but no code values: its only example is `code 0` with null
//! details. The codes below are the contract of this project and of its sandbox
//! (ours); anything else is carried through as the platform sent it.

use serde_json::Value;
use tokenkit_core::{Error, Sent, lenient};

use crate::PLATFORM;

/// `code` of a request missing a required parameter or header.
pub const CODE_BAD_REQUEST: &str = "400";
/// `code` of a refresh token that is unknown, expired or already used: only a new login
/// helps.
pub const CODE_REFRESH_TOKEN_INVALID: &str = "401";
/// `code` of an `XverifyApi` header that failed the check (key, shape, time, replay).
pub const CODE_VERIFY_FAILED: &str = "403";
/// `code` of an unknown `XownerId`.
pub const CODE_UNKNOWN_OWNER: &str = "404";

/// `error.errorCode` of a refresh token that is unknown, expired or already used.
pub const ERROR_REFRESH_TOKEN_INVALID: &str = "REFRESH_TOKEN_INVALID";

/// The English meaning of a code.
pub fn meaning(code: &str) -> &'static str {
    match code {
        CODE_BAD_REQUEST => "a required parameter or header is missing or invalid",
        CODE_REFRESH_TOKEN_INVALID => {
            "the refresh token is unknown, expired or already used: the user must log in again"
        }
        CODE_VERIFY_FAILED => {
            "the XverifyApi header was refused (wrong DES key or IV, plaintext shape, clock off by more than 5 minutes, or a reused guid)"
        }
        CODE_UNKNOWN_OWNER => "the XownerId is not a known project",
        "" | "0" => "refused without a reason (success is false)",
        _ => "refused with a code this client does not know",
    }
}

/// The error of a `success: false` body. `status` is the HTTP status it came with;
/// `sent` what the request carried, scrubbed from every text of the body before it is
/// cut to an excerpt (a platform may echo the request).
pub(crate) fn rejected(body: &Value, status: u16, sent: &Sent) -> Error {
    let field = |names: &[&str], within: &Value| {
        names
            .iter()
            .find_map(|n| within.get(*n).and_then(lenient::value_as_string))
            .unwrap_or_default()
    };
    let code = field(&["code"], body);
    let message = field(&["message", "msg"], body);
    let detail = body.get("error").cloned().unwrap_or(Value::Null);
    let error_code = field(&["errorCode", "error_code"], &detail);
    let error_text = field(&["errorText", "error_text"], &detail);

    let reauth_required = code == CODE_REFRESH_TOKEN_INVALID
        || error_code == ERROR_REFRESH_TOKEN_INVALID
        || status == 401;
    let mut error = Error::rejected(
        PLATFORM,
        sent.scrub(&code),
        // Server text is echoed into logs; anything token-like is cut out of it.
        sent.excerpt(message.as_bytes()),
        meaning(&code),
        reauth_required,
    );
    // The second-level details (`error.errorCode`, `error.errorText`), when sent.
    if !error_code.is_empty() {
        error = error.with_detail("errorCode", sent.scrub(&error_code));
    }
    if !error_text.is_empty() {
        error = error.with_detail("errorText", sent.excerpt(error_text.as_bytes()));
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_error_body() {
        let body = json!({"code": 0, "message": "", "error": {"errorCode": null, "errorText": null}, "success": false});
        let err = rejected(&body, 200, &Sent::new());
        assert_eq!(err.platform_code(), Some("0"));
        assert_eq!(err.platform_message(), Some(""));
        assert!(!err.is_reauth_required());
        assert!(err.to_string().contains("success is false"), "{err}");
    }

    #[test]
    fn every_documented_field_reaches_the_error() {
        let body = json!({"code": "401", "message": "登录已过期", "success": false,
            "error": {"errorCode": "REFRESH_TOKEN_INVALID", "errorText": "refresh token used"}});
        let err = rejected(&body, 200, &Sent::new());
        let text = err.to_string();
        for part in [
            "bo",
            "code 401",
            "登录已过期",
            "REFRESH_TOKEN_INVALID",
            "refresh token used",
            "log in again",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        assert!(err.is_reauth_required());
        assert_eq!(err.platform_code(), Some("401"));
        assert_eq!(err.platform_message(), Some("登录已过期"));
        assert_eq!(
            err.platform_detail("errorCode"),
            Some("REFRESH_TOKEN_INVALID")
        );
        assert_eq!(err.platform_detail("errorText"), Some("refresh token used"));
    }

    #[test]
    fn snake_case_details_and_classification_table() {
        let cases = [
            (
                json!({"code": 403, "error": {"error_code": "VERIFY_REPLAY"}}),
                200,
                false,
            ),
            (json!({"code": "400"}), 400, false),
            (
                json!({"code": 0, "error": {"error_code": "REFRESH_TOKEN_INVALID"}}),
                200,
                true,
            ),
            (json!({"code": 9}), 401, true),
            (json!({"code": 9, "error": "text"}), 200, false),
        ];
        for (body, status, reauth) in cases {
            let err = rejected(&body, status, &Sent::new());
            assert_eq!(err.is_reauth_required(), reauth, "{err}");
            assert!(!err.is_transient(), "{err}");
        }
        let err = rejected(
            &json!({"code": 403, "error": {"error_code": "VERIFY_REPLAY"}}),
            200,
            &Sent::new(),
        );
        assert!(err.to_string().contains("VERIFY_REPLAY"), "{err}");
        assert!(err.to_string().contains("reused guid"), "{err}");
    }

    #[test]
    fn token_like_text_in_messages_is_redacted() {
        let secret = "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT";
        let body = json!({"code": 401, "message": format!("bad token {secret}"),
            "error": {"errorText": format!("refreshToken={secret}")}});
        let text = rejected(&body, 200, &Sent::new()).to_string();
        assert!(!text.contains(secret), "{text}");
    }
}
