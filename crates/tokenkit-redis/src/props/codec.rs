//! `codec::decode` and the reply readers (`integer`, `generation`, `bytes`): a state
//! hash of any fields, or a mutation of one `codec::encode` wrote, is a token, nothing,
//! or a store error that is not transient and quotes no secret.

use std::time::Duration;

use proptest::prelude::*;
use redis::Value as Reply;
use serde_json::Value;
use tokenkit_core::{Arrival, Error, Expiry, Grant, Token};

use super::fuzz;
use crate::codec::{Fields, bytes, decode, encode, generation, integer, optional_integer};

fn written() -> Value {
    let token = Token::new(
        "SENTINEL-ACCESS",
        Expiry::after(Arrival::now(), Duration::from_secs(3600)),
    )
    .with_refresh_token("SENTINEL-REFRESH")
    .with_grant(Grant {
        refreshes_spent: 1,
        refresh_budget: Some(2),
        outcome_unknown: false,
        ..Default::default()
    });
    let encoded = encode(None, "ilab:u1", &token).expect("encodes");
    serde_json::from_str(&encoded.record).expect("JSON")
}

/// The numeric fields as the scripts keep them, or anything else.
fn field() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop_oneof![
        Just(b"0".to_vec()),
        Just(b"1".to_vec()),
        Just(b"2".to_vec()),
        Just(Vec::new()),
        Just(b"-1".to_vec()),
        Just(b"4294967296".to_vec()),
        fuzz::arbitrary_bytes(),
    ])
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Nil),
        Just(Reply::Okay),
        any::<i64>().prop_map(Reply::Int),
        fuzz::arbitrary_bytes().prop_map(Reply::BulkString),
        ".{0,24}".prop_map(Reply::SimpleString),
        any::<f64>().prop_map(Reply::Double),
        any::<bool>().prop_map(Reply::Boolean),
        prop::collection::vec(any::<i64>().prop_map(Reply::Int), 0..3).prop_map(Reply::Array),
    ]
}

/// The fields of one state hash, as `HMGET` and `PTTL` return them.
#[derive(Debug)]
struct State {
    generation: u64,
    record: Option<Vec<u8>>,
    spent: Option<Vec<u8>>,
    budget: Option<Vec<u8>>,
    unknown: Option<Vec<u8>>,
    left_ms: Option<i64>,
}

fn check(state: &State) -> Result<(), TestCaseError> {
    let fields = Fields {
        generation: state.generation,
        record: state.record.as_deref(),
        spent: state.spent.as_deref(),
        budget: state.budget.as_deref(),
        unknown: state.unknown.as_deref(),
        left_ms: state.left_ms,
    };
    match decode(None, "ilab:u1", fields) {
        Ok(None) => prop_assert!(state.record.as_deref().is_none_or(<[u8]>::is_empty)),
        Ok(Some(versioned)) => {
            prop_assert_eq!(versioned.generation, state.generation);
            prop_assert!(versioned.generation >= 1);
            if let Some(left) = state.left_ms {
                let left = Duration::from_millis(u64::try_from(left).unwrap_or(0));
                prop_assert!(versioned.token.expiry().remaining() <= left);
            }
            let record: Option<Value> = state
                .record
                .as_deref()
                .and_then(|r| serde_json::from_slice(r).ok());
            if let Some(record) = record {
                prop_assert_eq!(
                    record["access_token"].as_str(),
                    Some(versioned.token.access_token().expose_secret())
                );
            }
        }
        Err(error) => {
            prop_assert!(
                matches!(
                    error,
                    Error::Store {
                        transient: false,
                        ..
                    }
                ),
                "{error:?}"
            );
            prop_assert!(!error.to_string().contains("SENTINEL"), "{error}");
        }
    }
    Ok(())
}

fn state(record: impl Strategy<Value = Option<Vec<u8>>>) -> impl Strategy<Value = State> {
    (
        prop_oneof![Just(0u64), Just(1u64), any::<u64>()],
        record,
        field(),
        field(),
        field(),
        prop::option::of(prop_oneof![
            Just(i64::MIN),
            Just(-1i64),
            Just(i64::MAX),
            any::<i64>()
        ]),
    )
        .prop_map(
            |(generation, record, spent, budget, unknown, left_ms)| State {
                generation,
                record,
                spent,
                budget,
                unknown,
                left_ms,
            },
        )
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_state_is_a_token_nothing_or_a_store_error(
        state in state(prop::option::of(fuzz::arbitrary_bytes())),
    ) {
        check(&state)?;
    }

    #[test]
    fn a_mutated_record_is_a_token_or_a_store_error(
        state in state(fuzz::mutations(written()).prop_map(|m| Some(m.bytes))),
    ) {
        check(&state)?;
    }

    #[test]
    fn any_reply_is_read_without_a_panic(value in reply()) {
        let _ = bytes(&value);
        let _ = optional_integer("load", &value);
        if let Ok(n) = integer("load", &value) {
            prop_assert_eq!(generation("load", &value).is_ok(), n >= 0);
        }
    }
}
