//! The exchange and refresh answers (§1.1–§1.3, `reply::parse`), in both dialects:
//! arbitrary bytes and mutations of the seed's answers (their access token a JWT of
//! mutated claims, too) are a token or a typed error. A token is only ever a non-empty
//! JSON string of the answer's `access_token`; a code other than 0 is a refusal.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, Token, jwt, lenient};

use super::fuzz::{self, Edit};
use crate::PLATFORM;
use crate::codes::Operation;
use crate::reply::{NextRefresh, parse};
use crate::test_vectors::{SEED_EXCHANGE_BODY, SEED_REFRESH_BODY, SEED_REFRESH_TOKEN};

/// The operations and dialects an answer may be parsed for.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// §1.1: the refresh token comes from the answer.
    Exchange,
    /// §1.2: the credential sent is kept.
    Refresh,
    /// §1.3: the access token refreshes the grant.
    ExchangeV2,
}

fn seed(call: Call) -> Value {
    let body = match call {
        Call::Exchange => SEED_EXCHANGE_BODY,
        Call::Refresh => SEED_REFRESH_BODY,
        // The v2 answer's shapes (§1.3): numeric times, an opaque Base64 token.
        Call::ExchangeV2 => {
            return json!({"code": 0, "msg": "ok", "access_token": "q+8Z/4xT1vA3nE5u0mYc7w==",
                "create_time": 1_711_103_229_122_i64, "expires_time": 1_711_189_628_122_i64,
                "create_time_display": "2024-03-22 18:27:09",
                "expires_time_display": "2024-03-23 18:27:08",
                "un": "1701808169793138690", "dis": "用户姓名"});
        }
    };
    serde_json::from_str(body).expect("the seed is JSON")
}

/// The seed access token's claims, to put mutated JWTs in its place.
fn seed_claims() -> Value {
    let access = seed(Call::Exchange)["access_token"]
        .as_str()
        .map(str::to_owned)
        .expect("a token");
    Value::Object(jwt::decode_claims(&access).expect("a JWT"))
}

fn token_replaced_by_a_mutated_jwt() -> impl Strategy<Value = Option<Edit>> + Clone {
    fuzz::jwt_mutations(seed_claims())
        .prop_map(|t| Some(Edit::Replace(fuzz::path(&["access_token"]), Value::from(t))))
}

fn arrival() -> impl Strategy<Value = Arrival> {
    fuzz::server_dates().prop_map(|date| Arrival::now().with_server_date(date))
}

fn run(call: Call, status: u16, arrival: Arrival, body: &[u8]) -> Result<Token, Error> {
    let response = Response::from_parts(PLATFORM, status, arrival, body.to_vec());
    match call {
        Call::Exchange => parse(&response, Operation::Exchange, NextRefresh::FromReply),
        Call::Refresh => parse(
            &response,
            Operation::Refresh,
            NextRefresh::Keep(SEED_REFRESH_TOKEN),
        ),
        Call::ExchangeV2 => parse(&response, Operation::Exchange, NextRefresh::AccessToken),
    }
}

/// What every outcome must satisfy, given the answer's JSON when it still is JSON.
fn check(
    outcome: Result<Token, Error>,
    sent: Option<&Value>,
    arrival: Arrival,
) -> Result<(), TestCaseError> {
    match outcome {
        Ok(token) => {
            let access = token.access_token().expose_secret();
            prop_assert!(!access.trim().is_empty());
            prop_assert!(
                token.expiry().deadline() > arrival.instant,
                "expired on arrival"
            );
            prop_assert!(token.expiry().wall() >= arrival.wall);
            prop_assert!(token.expiry().lifetime() <= tokenkit_core::http::DEFAULT_MAX_LIFETIME);
            // The answer may still be read by a parser that skips what a `Value`
            // cannot hold (an unknown field nested past the depth limit).
            if let Some(sent) = sent {
                prop_assert_eq!(sent["access_token"].as_str(), Some(access));
                let code = lenient::value_as_string(&sent["code"]);
                prop_assert_eq!(code.and_then(|c| c.trim().parse::<i64>().ok()), Some(0));
            }
        }
        Err(Error::Malformed { platform, .. })
        | Err(Error::Rejected { platform, .. })
        | Err(Error::Implausible { platform, .. }) => {
            prop_assert_eq!(platform, PLATFORM);
        }
        Err(Error::Transient { platform, .. }) => prop_assert_eq!(platform, PLATFORM),
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        Just(Call::Exchange),
        Just(Call::Refresh),
        Just(Call::ExchangeV2)
    ]
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn arbitrary_bytes_are_a_typed_error(
        call in call(),
        status in prop_oneof![Just(200u16), 100u16..600],
        arrival in arrival(),
        body in fuzz::arbitrary_bytes(),
    ) {
        let sent: Option<Value> = serde_json::from_slice(&body).ok();
        let outcome = run(call, status, arrival, &body);
        if status != 200 && outcome.is_ok() {
            prop_assert!(!(300..400).contains(&status) && status != 429 && status < 500);
        }
        check(outcome, sent.as_ref(), arrival)?;
    }

    #[test]
    fn mutated_exchange_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations_with(seed(Call::Exchange), token_replaced_by_a_mutated_jwt()),
        arrival in arrival(),
    ) {
        let outcome = run(Call::Exchange, 200, arrival, &mutated.bytes);
        check(outcome, mutated.json().as_ref(), arrival)?;
    }

    #[test]
    fn mutated_refresh_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations_with(seed(Call::Refresh), token_replaced_by_a_mutated_jwt()),
        arrival in arrival(),
    ) {
        let outcome = run(Call::Refresh, 200, arrival, &mutated.bytes);
        if let Ok(token) = &outcome {
            // §1.2: the credential sent is the next one, whatever the answer says.
            let next = token.refresh_token().map(|r| r.expose_secret());
            prop_assert_eq!(next, Some(SEED_REFRESH_TOKEN));
        }
        check(outcome, mutated.json().as_ref(), arrival)?;
    }

    /// The least an answer may hold: each mutation of one of its few estimates counts.
    #[test]
    fn mutated_minimal_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations(
            json!({"code": "0", "access_token": "opaque", "expires_in": 60}),
        ),
        arrival in arrival(),
    ) {
        let outcome = run(Call::Exchange, 200, arrival, &mutated.bytes);
        check(outcome, mutated.json().as_ref(), arrival)?;
    }

    #[test]
    fn mutated_v2_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations(seed(Call::ExchangeV2)),
        arrival in arrival(),
    ) {
        let outcome = run(Call::ExchangeV2, 200, arrival, &mutated.bytes);
        check(outcome, mutated.json().as_ref(), arrival)?;
    }

    /// Defect 8 of issue 13, as a property: a token field of any type but a string
    /// (or null, for the refresh token) is refused, whatever else the answer holds.
    #[test]
    fn a_token_field_that_is_not_a_string_is_refused(
        call in call(),
        field in prop_oneof![Just("access_token"), Just("refresh_token")],
        value in fuzz::not_a_string(),
    ) {
        let mut body = seed(call);
        body[field] = value;
        let outcome = run(call, 200, Arrival::now(), body.to_string().as_bytes());
        match outcome {
            // (A value nested past the depth limit is refused before its type is seen.)
            Err(Error::Malformed { reason, .. }) => prop_assert!(
                reason.contains(&format!("`{field}` is ")) || reason.contains("recursion limit"),
                "{}", reason
            ),
            other => prop_assert!(false, "{field} = {}: {other:?}", body[field]),
        }
    }
}

/// Found by these properties: a lifetime of `i64::MAX` seconds overflowed the monotonic
/// clock in the core's `Expiry::after` ("overflow when adding duration to instant").
/// Expiries now saturate and lifetimes are capped at the platform's maximum.
#[test]
fn an_expires_in_of_i64_max_seconds_neither_panics_nor_wraps() {
    let body = format!(
        r#"{{"code": 0, "access_token": "opaque", "expires_in": {}}}"#,
        i64::MAX
    );
    let token = run(Call::Exchange, 200, Arrival::now(), body.as_bytes()).expect("plausible");
    assert!(token.to_record().expires_at_ms > 0, "no wrap to negative");
    assert_eq!(
        token.expiry().lifetime(),
        tokenkit_core::http::DEFAULT_MAX_LIFETIME
    );
}
