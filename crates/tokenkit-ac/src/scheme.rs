//! How ac presents a token and refuses one (PROTOCOLS.md §2.7), for the core's
//! authenticated calls.

use tokenkit_core::auth::{Answer, Placement, Refusal, TokenScheme};
use tokenkit_core::{AccessToken, Error};

use crate::PLATFORM;
use crate::reply::INSUFFICIENT_PERMISSION;

/// The ac scheme: the region token in the `token` header; a refusal is HTTP 401 or
/// `code` `10008` (a string or a number) in the envelope.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_ac::{AcClient, AcProvider, ClusterSelector};
/// use tokenkit_core::TokenCache;
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice").password("s3cret").org_id("org").build()?;
/// let cache = Arc::new(TokenCache::new(AcProvider::new(client.clone(), ClusterSelector::id("11112"))));
/// let calls = client.calls(cache); // AuthClient::new(reqwest_client, AcScheme, cache)
/// let jobs = calls.send(calls.get("https://hpc.example/hpc/openapi/v2/jobs")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcScheme;

impl TokenScheme for AcScheme {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        Placement::header("token").apply(request, token)
    }

    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        let code = answer.json_field("code");
        if answer.status() == 401 {
            return Some(match code {
                Some(code) => Refusal::with_code(code, answer.json_message()),
                None => Refusal::by_status(),
            });
        }
        let code = code?;
        (code.trim() == INSUFFICIENT_PERMISSION)
            .then(|| Refusal::with_code(INSUFFICIENT_PERMISSION, answer.json_message()))
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    use super::*;

    /// Status, body, and the refusal's code if the answer is a refusal.
    type Case = (u16, &'static [u8], Option<Option<&'static str>>);

    #[test]
    fn refusal_table() {
        let headers = HeaderMap::new();
        let cases: [Case; 7] = [
            (200, br#"{"code":"10008","msg":"m"}"#, Some(Some("10008"))),
            (200, br#"{"code":10008}"#, Some(Some("10008"))),
            (401, b"<html>401</html>", Some(None)),
            (200, br#"{"code":"10009","msg":"no"}"#, None),
            (200, br#"{"code":"0","data":"x"}"#, None),
            (500, br#"{"code":"10001"}"#, None),
            (200, b"<html>10008</html>", None),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            let refusal = AcScheme.refusal(&Answer::new(status, &headers, Some(body)));
            assert_eq!(
                refusal.as_ref().map(|r| r.code()),
                expected,
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
