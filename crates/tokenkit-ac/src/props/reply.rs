//! The reply envelope (`reply::data`) and what the logins and the renewal read from it
//! (`AcClient::regions`, `AcClient::renewed`, PROTOCOLS.md §2.1, §2.2, §2.5): arbitrary
//! bytes and mutations of valid answers (their tokens JWTs of mutated claims, too) are
//! tokens or typed errors. A token is only ever a non-empty JSON string of the answer,
//! and only a `code` of 0 carries one.

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, Error, Token, lenient};

use super::fuzz::{self, Edit, Step};
use super::{ac_claims, arrival, exp_claims};
use crate::{AcClient, PLATFORM, reply};

/// One client for every case: building its HTTP client is the slow part of a case.
fn client() -> &'static AcClient {
    static CLIENT: LazyLock<AcClient> = LazyLock::new(|| {
        AcClient::builder("https://ac.example")
            .user("alice")
            .password("p")
            .org_id("org-1")
            .build()
            .expect("a client")
    });
    &CLIENT
}

fn jwt(claims: Value) -> String {
    fuzz::jwt_of(claims.to_string().as_bytes())
}

fn login_answer() -> Value {
    json!({"msg": "success", "code": "0", "data": [
        {"clusterName": "ac", "clusterId": "0", "token": jwt(ac_claims())},
        {"clusterName": "华东一区", "clusterId": "11112", "token": jwt(exp_claims())},
        {"clusterName": "华北一区", "clusterId": "11113", "token": null,
         "accountStatus": "Disable"}
    ]})
}

fn renew_answer() -> Value {
    json!({"msg": "success", "code": "0", "data": jwt(ac_claims())})
}

/// Where the second region's token stands in [`login_answer`].
fn second_region_token() -> fuzz::Path {
    vec![
        Step::Key("data".into()),
        Step::Index(1),
        Step::Key("token".into()),
    ]
}

/// A region's token (or the renewal's) replaced by a JWT of mutated claims.
fn token_of_mutated_claims(at: fuzz::Path) -> impl Strategy<Value = Option<Edit>> + Clone {
    prop_oneof![
        fuzz::jwt_mutations(ac_claims()),
        fuzz::jwt_mutations(exp_claims())
    ]
    .prop_map(move |t| Some(Edit::Replace(at.clone(), Value::from(t))))
}

fn response(arrival: Arrival, body: &[u8]) -> Response {
    Response::from_parts(PLATFORM, 200, arrival, body.to_vec())
}

fn assert_typed(error: &Error) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(
            error,
            Error::Malformed {
                platform: PLATFORM,
                ..
            } | Error::Rejected {
                platform: PLATFORM,
                ..
            } | Error::Transient {
                platform: PLATFORM,
                ..
            }
        ),
        "{error:?}"
    );
    Ok(())
}

fn assert_sane(token: &Token, arrival: Arrival) -> Result<(), TestCaseError> {
    prop_assert!(!token.access_token().expose_secret().trim().is_empty());
    prop_assert!(token.expiry().deadline() >= arrival.instant);
    prop_assert!(token.expiry().wall() >= arrival.wall);
    Ok(())
}

/// Only `code` 0 carries tokens.
fn assert_success_code(sent: &Value) -> Result<(), TestCaseError> {
    let code = lenient::value_as_string(&sent["code"]);
    prop_assert_eq!(code.as_deref().map(str::trim), Some(reply::SUCCESS));
    Ok(())
}

fn check_login(body: &[u8], sent: Option<&Value>, arrival: Arrival) -> Result<(), TestCaseError> {
    match client().regions(&response(arrival, body), "alice") {
        Ok(login) => {
            let Some(sent) = sent else { return Ok(()) };
            assert_success_code(sent)?;
            for (i, region) in login.regions().iter().enumerate() {
                let raw = sent["data"][i]["token"].as_str().map(str::trim);
                match &region.token {
                    Some(token) => {
                        assert_sane(token, arrival)?;
                        prop_assert_eq!(Some(token.access_token().expose_secret()), raw);
                    }
                    None => prop_assert!(raw.is_none_or(str::is_empty)),
                }
            }
        }
        Err(error) => assert_typed(&error)?,
    }
    Ok(())
}

fn check_renew(body: &[u8], sent: Option<&Value>, arrival: Arrival) -> Result<(), TestCaseError> {
    match client().renewed(&response(arrival, body)) {
        Ok(token) => {
            assert_sane(&token, arrival)?;
            if let Some(sent) = sent {
                assert_success_code(sent)?;
                prop_assert_eq!(
                    sent["data"].as_str().map(str::trim),
                    Some(token.access_token().expose_secret())
                );
            }
        }
        Err(error) => assert_typed(&error)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn arbitrary_bytes_are_data_or_a_typed_error(
        status in prop_oneof![Just(200u16), 100u16..600],
        body in fuzz::arbitrary_bytes(),
    ) {
        let response = Response::from_parts(PLATFORM, status, Arrival::now(), body.clone());
        match reply::data(&response) {
            Ok(data) => {
                prop_assert!(!data.is_null());
                let sent: Value = serde_json::from_slice(&body).expect("it was JSON");
                assert_success_code(&sent)?;
            }
            Err(error) => assert_typed(&error)?,
        }
        check_login(&body, serde_json::from_slice(&body).ok().as_ref(), Arrival::now())?;
        check_renew(&body, serde_json::from_slice(&body).ok().as_ref(), Arrival::now())?;
    }

    #[test]
    fn mutated_login_answers_are_regions_or_a_typed_error(
        mutated in fuzz::mutations_with(
            login_answer(),
            token_of_mutated_claims(second_region_token()),
        ),
        arrival in arrival(),
    ) {
        check_login(&mutated.bytes, mutated.json().as_ref(), arrival)?;
    }

    #[test]
    fn mutated_renewal_answers_are_a_token_or_a_typed_error(
        mutated in fuzz::mutations_with(
            renew_answer(),
            token_of_mutated_claims(fuzz::path(&["data"])),
        ),
        arrival in arrival(),
    ) {
        check_renew(&mutated.bytes, mutated.json().as_ref(), arrival)?;
    }

    /// Defect 8 of issue 13, as a property: a token of any type but a string is refused
    /// (a region's `null` is a suspended region, not a token).
    #[test]
    fn a_token_that_is_not_a_string_is_refused(
        value in prop_oneof![Just(Value::Null), fuzz::not_a_string()],
    ) {
        let mut login = login_answer();
        login["data"][1]["token"] = value.clone();
        let login = response(Arrival::now(), login.to_string().as_bytes());
        let regions = client().regions(&login, "alice");
        if value.is_null() {
            prop_assert!(regions.expect("suspended").regions()[1].token.is_none());
        } else {
            prop_assert!(matches!(regions, Err(Error::Malformed { .. })), "{regions:?}");
        }
        let mut renewal = renew_answer();
        renewal["data"] = value;
        let renewed = client().renewed(&response(Arrival::now(), renewal.to_string().as_bytes()));
        prop_assert!(matches!(renewed, Err(Error::Malformed { .. })), "{renewed:?}");
    }
}
