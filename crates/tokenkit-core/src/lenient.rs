//! Lenient decoding shared by every platform: numbers that arrive as strings
//! (`"code": "0"`, `"create_time": "1711111313941"`), strings that arrive as numbers,
//! and `null` where a value was expected. Use with `#[serde(deserialize_with = …)]`.
//!
//! Leniency is for codes, ids and times. Secrets (access and refresh tokens) are
//! strict: [`secret_from_value`] and [`opt_secret_string`] accept a JSON string only,
//! because `"access_token": true` is a broken answer, not the token `"true"`.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Reply {
//!     #[serde(deserialize_with = "tokenkit_core::lenient::string")]
//!     code: String,
//!     #[serde(default, deserialize_with = "tokenkit_core::lenient::opt_i64")]
//!     create_time: Option<i64>,
//! }
//! let r: Reply = serde_json::from_str(r#"{"code": 0, "create_time": "1711111313941"}"#).unwrap();
//! assert_eq!((r.code.as_str(), r.create_time), ("0", Some(1711111313941)));
//! ```

use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::Value;

/// A value as an integer: a JSON integer, a float with no fraction, or a string of one.
pub fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                let f = s.parse::<f64>().ok()?;
                (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
            })
        }
        _ => None,
    }
}

/// A value as a float: a JSON number or a string of one.
pub fn value_as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A value as a string: a JSON string, or a number or bool written out.
pub fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A secret (an access or refresh token) sent under `field`: a JSON string, or `None`
/// for `null`. Any other type is refused, with a reason naming the field and the type
/// found (never the value): `` `access_token` is a boolean, expected a string ``.
///
/// ```
/// use serde_json::json;
/// use tokenkit_core::lenient::secret_from_value;
/// assert_eq!(secret_from_value("token", &json!("eyJ…")), Ok(Some("eyJ…".to_owned())));
/// assert_eq!(secret_from_value("token", &json!(null)), Ok(None));
/// assert_eq!(
///     secret_from_value("token", &json!(-7)),
///     Err("`token` is a number, expected a string".to_owned())
/// );
/// ```
pub fn secret_from_value(field: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Null => Ok(None),
        other => Err(format!(
            "`{field}` is {}, expected a string",
            describe(other)
        )),
    }
}

/// [`secret_from_value`] for `#[serde(deserialize_with = …)]`. Serde does not tell a
/// deserializer which field it reads, so each secret field gets a one-line wrapper
/// that names it (absence is `None` with `#[serde(default)]`):
///
/// ```
/// use serde::{Deserialize, Deserializer};
///
/// fn access_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
///     tokenkit_core::lenient::opt_secret_string(d, "access_token")
/// }
///
/// #[derive(Deserialize)]
/// struct Reply {
///     #[serde(default, deserialize_with = "access_token")]
///     access_token: Option<String>,
/// }
/// let ok: Reply = serde_json::from_str(r#"{"access_token": "eyJ…"}"#).unwrap();
/// assert_eq!(ok.access_token.as_deref(), Some("eyJ…"));
/// let err = serde_json::from_str::<Reply>(r#"{"access_token": true}"#).err().unwrap();
/// assert!(err.to_string().starts_with("`access_token` is a boolean, expected a string"));
/// ```
pub fn opt_secret_string<'de, D: Deserializer<'de>>(
    d: D,
    field: &str,
) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    secret_from_value(field, &v).map_err(D::Error::custom)
}

/// A required string that may arrive as a number.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    value_as_string(&v).ok_or_else(|| {
        D::Error::custom(format!(
            "expected a string or number, found {}",
            describe(&v)
        ))
    })
}

/// An optional string that may arrive as a number; `null` and absence are `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::Null => Ok(None),
        other => value_as_string(&other).map(Some).ok_or_else(|| {
            D::Error::custom(format!(
                "expected a string or number, found {}",
                describe(&other)
            ))
        }),
    }
}

/// A required integer that may arrive as a string.
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    value_as_i64(&v)
        .ok_or_else(|| D::Error::custom(format!("expected an integer, found {}", describe(&v))))
}

/// An optional integer that may arrive as a string; `null`, `""` and absence are `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        other => value_as_i64(other).map(Some).ok_or_else(|| {
            D::Error::custom(format!("expected an integer, found {}", describe(other)))
        }),
    }
}

/// An optional float that may arrive as a string; `null` and absence are `None`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        other => value_as_f64(other).map(Some).ok_or_else(|| {
            D::Error::custom(format!("expected a number, found {}", describe(other)))
        }),
    }
}

/// An optional epoch-milliseconds timestamp (number or string) as a `SystemTime`.
pub fn opt_epoch_ms<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::SystemTime>, D::Error> {
    Ok(opt_i64(d)?.map(crate::civil::from_unix_millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "string")]
        code: String,
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
    }

    fn parse(v: Value) -> Result<Sample, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn numbers_and_strings_both_ways() {
        let a = parse(json!({"code": 0, "n": "1711111313941", "s": 12, "f": "1.5"})).expect("ok");
        assert_eq!(
            (a.code.as_str(), a.n, a.s.as_deref(), a.f),
            ("0", Some(1_711_111_313_941), Some("12"), Some(1.5))
        );
        let b = parse(json!({"code": "10008", "n": 86399, "s": "x", "f": 1614246960367.5437}))
            .expect("ok");
        assert_eq!(
            (b.code.as_str(), b.n, b.s.as_deref()),
            ("10008", Some(86_399), Some("x"))
        );
    }

    #[test]
    fn nulls_and_absence_are_none() {
        let a = parse(json!({"code": "0", "n": null, "s": null, "f": null})).expect("ok");
        assert_eq!((a.n, a.s, a.f), (None, None, None));
        let b = parse(json!({"code": "0"})).expect("ok");
        assert_eq!((b.n, b.s, b.f), (None, None, None));
    }

    #[test]
    fn wrong_types_are_errors_naming_the_type() {
        let err = parse(json!({"code": [1]})).unwrap_err().to_string();
        assert!(err.contains("an array"), "{err}");
        let err = parse(json!({"code": "0", "n": "soon"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a string"), "{err}");
        assert!(parse(json!({"code": null})).is_err());
    }

    #[test]
    fn secrets_are_strings_only() {
        for (value, found) in [
            (json!(true), "a boolean"),
            (json!(1.5), "a number"),
            (json!(-7), "a number"),
            (json!({}), "an object"),
            (json!([]), "an array"),
        ] {
            assert_eq!(
                secret_from_value("refresh_token", &value),
                Err(format!("`refresh_token` is {found}, expected a string"))
            );
        }
        assert_eq!(
            secret_from_value("t", &json!("")),
            Ok(Some(String::new())),
            "emptiness is the parser's to judge"
        );
    }

    #[test]
    fn float_forms_of_integers() {
        assert_eq!(
            value_as_i64(&json!(1614246960368.0)),
            Some(1_614_246_960_368)
        );
        assert_eq!(value_as_i64(&json!("86399.0")), Some(86_399));
        assert_eq!(value_as_i64(&json!(1.5)), None);
    }
}
