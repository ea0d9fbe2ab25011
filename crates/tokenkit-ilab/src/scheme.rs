//! How ilab presents a token on its data calls and refuses one (PROTOCOLS.md §1.4),
//! for the core's authenticated calls.

use tokenkit_core::auth::{Answer, Placement, Refusal, TokenScheme};
use tokenkit_core::{AccessToken, Error};

use crate::PLATFORM;

/// The code a data call answers for a token the platform no longer accepts (§1.4).
pub const TOKEN_INVALID: &str = "2";

/// The ilab scheme for data calls (`data_upload`, `data_get`): the token in the
/// `access_token` query parameter, percent-encoded once (tokens of the main platform
/// hold `+ / =`); a refusal is `code 2`. The token is scrubbed from the URL of the
/// response handed back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IlabScheme;

impl IlabScheme {
    fn placement() -> Placement {
        Placement::query(crate::ACCESS_TOKEN_PARAM)
    }
}

impl TokenScheme for IlabScheme {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        Self::placement().apply(request, token)
    }

    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        let code = answer.json_field("code")?;
        (code.trim() == TOKEN_INVALID)
            .then(|| Refusal::with_code(TOKEN_INVALID, answer.json_message()))
    }

    fn scrub_url(&self, url: &mut reqwest::Url) {
        Self::placement().scrub_url(url);
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
        let cases: [(&[u8], bool); 6] = [
            (r#"{"code":2,"msg":"access_token无效"}"#.as_bytes(), true),
            (br#"{"code":"2"}"#, true),
            (br#"{"code":0,"msg":"ok"}"#, false),
            (br#"{"code":3,"msg":"missing title"}"#, false),
            (b"<html>2</html>", false),
            (br#"{"msg":"no code"}"#, false),
        ];
        for (body, refused) in cases {
            let answer = Answer::new(StatusCode::OK, &headers, Some(body));
            assert_eq!(IlabScheme.refusal(&answer).is_some(), refused);
        }
    }

    #[test]
    fn the_token_is_encoded_once_and_scrubbed() {
        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "https://ilab.example/open/api/v2/data_upload"
                .parse()
                .expect("url"),
        );
        IlabScheme
            .apply(&mut request, &AccessToken::new("ab+c/d=="))
            .expect("apply");
        assert_eq!(request.url().query(), Some("access_token=ab%2Bc%2Fd%3D%3D"));
        let mut url = request.url().clone();
        IlabScheme.scrub_url(&mut url);
        assert_eq!(url.query(), Some("access_token=redacted"), "{url}");
    }
}
