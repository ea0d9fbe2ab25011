//! Lenient numbers and strings, and strict secrets ([`crate::lenient`]): every helper
//! takes any JSON without a panic; integers survive as numbers and as strings; a
//! secret is accepted exactly when it is a string (or null).

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use super::fuzz;
use crate::lenient::{self, secret_from_value, value_as_f64, value_as_i64, value_as_string};

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::opt_secret_string(d, "secret")
}

/// One field per helper, all optional, so arbitrary objects exercise each of them.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Every {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    create_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    expires: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    expires_time: Option<std::time::SystemTime>,
    #[serde(default, deserialize_with = "secret")]
    access_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Required {
    #[serde(deserialize_with = "lenient::string")]
    msg: String,
    #[serde(deserialize_with = "lenient::i64")]
    expires_in: i64,
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_value_reads_without_a_panic(value in fuzz::arbitrary_json()) {
        let _ = (value_as_i64(&value), value_as_f64(&value), value_as_string(&value));
        let secret = secret_from_value("token", &value);
        match &value {
            Value::String(s) => prop_assert_eq!(secret, Ok(Some(s.clone()))),
            Value::Null => prop_assert_eq!(secret, Ok(None)),
            _ => prop_assert!(secret.is_err_and(|reason| reason.starts_with("`token` is "))),
        }
        let _ = serde_json::from_value::<Every>(value.clone());
        let _ = serde_json::from_value::<Required>(value);
    }

    #[test]
    fn any_bytes_decode_without_a_panic(bytes in fuzz::arbitrary_bytes()) {
        let _ = serde_json::from_slice::<Every>(&bytes);
        let _ = serde_json::from_slice::<Required>(&bytes);
    }

    #[test]
    fn integers_survive_as_numbers_and_strings(n in any::<i64>()) {
        prop_assert_eq!(value_as_i64(&Value::from(n)), Some(n));
        prop_assert_eq!(value_as_i64(&Value::from(n.to_string())), Some(n));
        prop_assert_eq!(value_as_string(&Value::from(n)), Some(n.to_string()));
    }

    #[test]
    fn a_secret_field_is_refused_unless_a_string(value in fuzz::replacement()) {
        let body = serde_json::json!({"access_token": value.clone()});
        let parsed = serde_json::from_value::<Every>(body);
        match value {
            Value::String(s) => prop_assert_eq!(parsed.expect("a string").access_token, Some(s)),
            Value::Null => prop_assert_eq!(parsed.expect("null").access_token, None),
            _ => {
                let err = parsed.expect_err("not a string").to_string();
                prop_assert!(err.starts_with("`secret` is "), "{}", err);
            }
        }
    }
}
