//! Reading reported results back: `GET /open/api/v2/data_get?access_token&appid&signature`
//! with `signature = UPPERCASE_HEX(MD5(access_token + appid + secret))` (§1.4).
//!
//! The evidence for this call is thin (one line of §1.4), so the answer is taken as
//! loosely as it can be read: `code` 0 and the records in `data` (an array, or an
//! object holding one under `records`/`list`), each handed back as the platform sent
//! it. The signature covers the token, so it is computed in the scheme's `apply`: a
//! request repeated with a renewed token carries the renewed token's signature.

use serde_json::Value;
use tokenkit_core::auth::{Answer, Placement, Refusal, TokenScheme};
use tokenkit_core::lenient::value_as_string;
use tokenkit_core::{AccessToken, Error, Sent};

use crate::codes::{Operation, rejected};
use crate::{IlabClient, IlabScheme, PLATFORM};

/// The query parameters that must never be shown: the token and its signature.
const HIDDEN: [&str; 2] = [crate::ACCESS_TOKEN_PARAM, "signature"];

/// The ilab scheme of `data_get`: the token, the appid and the token's signature in the
/// query; refusals as [`IlabScheme`] recognises them.
#[derive(Debug, Clone)]
pub(crate) struct SignedQuery {
    pub(crate) client: IlabClient,
}

impl TokenScheme for SignedQuery {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        let value = token.expose_secret();
        let signature = self.client.sign(value);
        let url = request.url_mut();
        // The query is this scheme's alone: rebuilt whole, each value encoded once.
        url.set_query(None);
        url.query_pairs_mut()
            .append_pair(crate::ACCESS_TOKEN_PARAM, value)
            .append_pair("appid", self.client.appid())
            .append_pair("signature", &signature);
        Ok(())
    }

    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        IlabScheme.refusal(answer)
    }

    fn scrub_url(&self, url: &mut reqwest::Url) {
        Placement::query(crate::ACCESS_TOKEN_PARAM).scrub_url(url);
        let Some(query) = url.query() else { return };
        if !query.contains("signature=") {
            return;
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if HIDDEN.contains(&k.as_ref()) {
                    "redacted".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}

/// The records of a `data_get` answer body (already JSON, `raw` as it came); what the
/// request carried (`sent`) is scrubbed from every error.
pub(crate) fn parse_records(body: &Value, raw: &[u8], sent: &Sent) -> Result<Vec<Value>, Error> {
    let code = body.get("code").and_then(value_as_string);
    let message = body.get("msg").and_then(value_as_string);
    match code.as_deref().map(str::trim) {
        Some("0") => {}
        Some(code) => return Err(sent.error(rejected(Operation::DataGet, code, message))),
        None => {
            return Err(sent.malformed(PLATFORM, "the data_get answer has no `code`", raw));
        }
    }
    let data = match body.get("data") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(data) => data,
    };
    let list = match data {
        Value::Array(list) => list,
        Value::Object(map) => match map.get("records").or_else(|| map.get("list")) {
            Some(Value::Array(list)) => list,
            _ => {
                return Err(sent.malformed(
                    PLATFORM,
                    "the data_get answer's `data` holds no list of records",
                    raw,
                ));
            }
        },
        _ => {
            return Err(sent.malformed(
                PLATFORM,
                "the data_get answer's `data` is not a list of records",
                raw,
            ));
        }
    };
    Ok(list.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn client() -> IlabClient {
        IlabClient::builder("https://ilab.example", "app", "123456")
            .build()
            .expect("client")
    }

    #[test]
    fn the_signature_follows_the_token_and_is_scrubbed() {
        let scheme = SignedQuery { client: client() };
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://ilab.example/open/api/v2/data_get"
                .parse()
                .expect("url"),
        );
        scheme
            .apply(&mut request, &AccessToken::new("a+b/c="))
            .expect("apply");
        let expected = crate::signature("a+b/c=", "app", "123456", crate::HexCase::Upper);
        assert_eq!(
            request.url().query(),
            Some(format!("access_token=a%2Bb%2Fc%3D&appid=app&signature={expected}").as_str())
        );
        // A repeat with a renewed token replaces all three.
        scheme
            .apply(&mut request, &AccessToken::new("new"))
            .expect("apply");
        let renewed = crate::signature("new", "app", "123456", crate::HexCase::Upper);
        assert_eq!(
            request.url().query(),
            Some(format!("access_token=new&appid=app&signature={renewed}").as_str())
        );
        let mut url = request.url().clone();
        scheme.scrub_url(&mut url);
        assert_eq!(
            url.query(),
            Some("access_token=redacted&appid=app&signature=redacted")
        );
    }

    #[test]
    fn answers_are_read_loosely_and_refusals_are_typed() {
        let raw = b"";
        let records = |v: Value| parse_records(&v, raw, &Sent::new());
        assert_eq!(
            records(json!({"code": 0, "data": [{"a": 1}]}))
                .expect("ok")
                .len(),
            1
        );
        assert_eq!(
            records(json!({"code": "0", "data": {"records": [1, 2]}}))
                .expect("ok")
                .len(),
            2
        );
        assert!(records(json!({"code": 0})).expect("ok").is_empty());
        let err = records(json!({"code": 3, "msg": "签名错误"})).unwrap_err();
        assert_eq!(err.platform_code(), Some("3"));
        assert!(err.to_string().contains("signature mismatch"), "{err}");
        assert!(
            records(json!({"msg": "?"}))
                .unwrap_err()
                .to_string()
                .contains("no `code`")
        );
        assert!(records(json!({"code": 0, "data": 5})).is_err());
    }
}
