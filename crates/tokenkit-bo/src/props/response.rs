//! The refresh answer (`response::parse_refresh`, PROTOCOLS.md §3.1), camelCase and
//! snake_case: arbitrary bytes and mutations of the seed's answer (its access token a
//! JWT of mutated claims, too) are a token or a typed error. A token is only ever a
//! non-empty JSON string of the answer's access token, and only `success: true` carries
//! one.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, RefreshToken, Token};

use super::fuzz::{self, Edit};
use crate::PLATFORM;
use crate::response::parse_refresh;

const SPENT: &str = "the-refresh-token-spent";

/// The claims of the seed's access token: it lived 60 s in 2021.
fn seed_claims() -> Value {
    json!({"iss": "RG3", "aud": "api", "id": "ptdev", "name": "dev", "client_id": "ptdev",
           "push_name": "开发管理员", "role_id": "development", "developer": "1",
           "nbf": 1_614_248_497, "exp": 1_614_248_557, "iat": 1_614_248_497})
}

fn seed(snake_case: bool) -> Value {
    let data = json!({
        "tokenType": "Bearer",
        "tokenUser": {"clientId": "ptdev", "userId": "ptdev", "userName": "dev",
            "pushName": "开发管理员", "roleId": ["development"], "depId": [], "areaCode": [],
            "jobId": [], "sysId": [], "mergeUserId": [], "developer": 1},
        "timeStamp": 1_614_246_960_367.543_7,
        "refreshToken": "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT",
        "accessToken": fuzz::jwt_of(seed_claims().to_string().as_bytes()),
        "clientId": "ptdev",
        "expires": "2021-03-11T17:56:00",
        "expiresIn": 1_614_246_960_368_i64,
    });
    let data = if snake_case { snake(&data) } else { data };
    json!({"success": true, "data": data})
}

/// The `common-data-under` spelling of every key.
fn snake(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut key = String::new();
                    for c in k.chars() {
                        if c.is_ascii_uppercase() {
                            key.push('_');
                            key.push(c.to_ascii_lowercase());
                        } else {
                            key.push(c);
                        }
                    }
                    (key, snake(v))
                })
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn token_replaced_by_a_mutated_jwt(
    snake_case: bool,
) -> impl Strategy<Value = Option<Edit>> + Clone {
    let field = if snake_case {
        "access_token"
    } else {
        "accessToken"
    };
    fuzz::jwt_mutations(seed_claims())
        .prop_map(move |t| Some(Edit::Replace(fuzz::path(&["data", field]), Value::from(t))))
}

fn arrival() -> impl Strategy<Value = Arrival> {
    fuzz::server_dates().prop_map(|date| Arrival::now().with_server_date(date))
}

fn run(status: u16, arrival: Arrival, body: &[u8]) -> Result<Token, Error> {
    let response = Response::from_parts(PLATFORM, status, arrival, body.to_vec());
    parse_refresh(&response, &RefreshToken::new(SPENT))
}

fn check(
    outcome: Result<Token, Error>,
    sent: Option<&Value>,
    arrival: Arrival,
) -> Result<(), TestCaseError> {
    match outcome {
        Ok(token) => {
            let access = token.access_token().expose_secret();
            prop_assert!(!access.trim().is_empty());
            prop_assert!(token.expiry().deadline() >= arrival.instant);
            prop_assert!(token.expiry().wall() >= arrival.wall);
            if let Some(sent) = sent {
                let data = &sent["data"];
                let said = data.get("accessToken").or_else(|| data.get("access_token"));
                prop_assert_eq!(said.and_then(Value::as_str), Some(access));
                let refresh = token.refresh_token().map(|r| r.expose_secret().to_owned());
                let sent_refresh = data
                    .get("refreshToken")
                    .or_else(|| data.get("refresh_token"))
                    .and_then(Value::as_str)
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or(SPENT);
                prop_assert_eq!(refresh.as_deref(), Some(sent_refresh));
            }
        }
        Err(Error::Malformed { platform, .. })
        | Err(Error::Rejected { platform, .. })
        | Err(Error::Transient { platform, .. }) => prop_assert_eq!(platform, PLATFORM),
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn arbitrary_bytes_are_a_token_or_a_typed_error(
        status in prop_oneof![Just(200u16), 100u16..600],
        arrival in arrival(),
        body in fuzz::arbitrary_bytes(),
    ) {
        let sent: Option<Value> = serde_json::from_slice(&body).ok();
        check(run(status, arrival, &body), sent.as_ref(), arrival)?;
    }

    #[test]
    fn mutated_camel_case_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations_with(seed(false), token_replaced_by_a_mutated_jwt(false)),
        arrival in arrival(),
    ) {
        check(run(200, arrival, &mutated.bytes), mutated.json().as_ref(), arrival)?;
    }

    #[test]
    fn mutated_snake_case_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations_with(seed(true), token_replaced_by_a_mutated_jwt(true)),
        arrival in arrival(),
    ) {
        check(run(200, arrival, &mutated.bytes), mutated.json().as_ref(), arrival)?;
    }

    /// Defect 8 of issue 13, as a property: a token of any type but a string (or null)
    /// is refused, in either spelling.
    #[test]
    fn a_token_field_that_is_not_a_string_is_refused(
        snake_case in any::<bool>(),
        refresh in any::<bool>(),
        value in fuzz::not_a_string(),
    ) {
        let mut body = seed(snake_case);
        let field = match (snake_case, refresh) {
            (false, false) => "accessToken",
            (false, true) => "refreshToken",
            (true, false) => "access_token",
            (true, true) => "refresh_token",
        };
        body["data"][field] = value;
        let outcome = run(200, Arrival::now(), body.to_string().as_bytes());
        prop_assert!(matches!(outcome, Err(Error::Malformed { .. })), "{field}: {outcome:?}");
    }
}
