//! Property tests of the refusal parsers of the three schemes: any bytes and any
//! status are classified without a panic; a mutated envelope too; a JSON object is a
//! refusal exactly when its code is the platform's refusal code, whatever else it holds.
#![cfg(feature = "full")]

use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokenkit::ac::AcScheme;
use tokenkit::bo::BoScheme;
use tokenkit::core::auth::{Answer, TokenScheme};
use tokenkit::ilab::IlabScheme;

fn schemes() -> [&'static dyn TokenScheme; 3] {
    [&AcScheme, &IlabScheme, &BoScheme]
}

fn classify(scheme: &dyn TokenScheme, status: u16, body: Option<&[u8]>) -> bool {
    let headers = HeaderMap::new();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    scheme
        .refusal(&Answer::new(status, &headers, body))
        .is_some()
}

fn other_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[a-z]{1,8}".prop_filter("not an envelope field", |k| {
            !["code", "msg", "message", "success"].contains(&k.as_str())
        }),
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
            Just(Value::Null)
        ],
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_answers_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512), read in any::<bool>()) {
        for scheme in schemes() {
            let _ = classify(scheme, status, read.then_some(body.as_slice()));
        }
    }

    #[test]
    fn mutated_refusals_never_panic(flips in prop::collection::vec((0usize..64, any::<u8>()), 1..6), cut in 0usize..64) {
        let bodies = [
            r#"{"code":"10008","msg":"权限不足","data":null}"#,
            r#"{"code":2,"msg":"access_token无效或已过期"}"#,
            r#"{"success":false,"code":401,"message":"token无效","error":{"errorCode":"TOKEN_INVALID"}}"#,
        ];
        for body in bodies {
            let mut bytes = body.as_bytes().to_vec();
            for (at, byte) in &flips {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
            bytes.truncate(cut.max(1).min(bytes.len()));
            for scheme in schemes() {
                let _ = classify(scheme, 200, Some(&bytes));
            }
        }
    }

    #[test]
    fn a_200_object_is_a_refusal_exactly_when_its_code_is_the_platforms(
        fields in other_fields(),
        code in prop_oneof![Just("10008".to_owned()), Just("2".to_owned()), Just("401".to_owned()), "[1-9][0-9]{0,5}"],
        as_number in any::<bool>(),
        success in any::<bool>(),
    ) {
        let mut object = fields;
        let value = match code.parse::<i64>() {
            Ok(n) if as_number => json!(n),
            _ => json!(code),
        };
        object.insert("code".into(), value);
        object.insert("success".into(), json!(success));
        let body = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
        let code = code.as_str();
        prop_assert_eq!(classify(&AcScheme, 200, Some(&body)), code == "10008");
        prop_assert_eq!(classify(&IlabScheme, 200, Some(&body)), code == "2");
        prop_assert_eq!(classify(&BoScheme, 200, Some(&body)), code == "401" && !success);
    }
}
