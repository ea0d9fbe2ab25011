//! How bo presents a token and refuses one, for the core's authenticated calls.
//!
//! The seed names `tokenType: Bearer`; `Authorization: Bearer <accessToken>` and the
//! refusal below are this project's contract (the sandbox's `/_sandbox/bo/whoami`).

use tokenkit_core::auth::{Answer, Placement, Refusal, TokenScheme};
use tokenkit_core::{AccessToken, Error};

use crate::PLATFORM;
use crate::rejection::CODE_REFRESH_TOKEN_INVALID;

/// The bo scheme: `Authorization: Bearer <accessToken>`; a refusal is HTTP 401, or
/// `success: false` with `code` 401.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoScheme;

impl TokenScheme for BoScheme {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        Placement::Bearer.apply(request, token)
    }

    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        let code = answer.json_field("code");
        let refusal = || match &code {
            Some(code) => Refusal::with_code(code.trim(), answer.json_message()),
            None => Refusal::by_status(),
        };
        if answer.status() == 401 {
            return Some(refusal());
        }
        let failed = answer.json_field("success").as_deref() == Some("false");
        let unauthorized = code.as_deref().map(str::trim) == Some(CODE_REFRESH_TOKEN_INVALID);
        (failed && unauthorized).then(refusal)
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    use super::*;

    #[test]
    fn refusal_table() {
        let headers = HeaderMap::new();
        let cases: [(u16, &[u8], bool); 6] = [
            (401, br#"{"success":false,"code":401}"#, true),
            (401, b"", true),
            (200, br#"{"success":false,"code":401,"message":"m"}"#, true),
            (200, br#"{"success":false,"code":"401"}"#, true),
            (200, br#"{"success":false,"code":403}"#, false),
            (200, br#"{"success":true,"code":401}"#, false),
        ];
        for (status, body, refused) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            let answer = Answer::new(status, &headers, Some(body));
            assert_eq!(BoScheme.refusal(&answer).is_some(), refused, "{status}");
        }
    }
}
