//! What a field of a result record may hold (§1.4), read leniently from JSON (numbers
//! may be strings), and the error that names the field when it holds something else.

use serde_json::{Map, Number, Value, json};
use tokenkit_core::lenient::{value_as_f64, value_as_i64};

/// Epoch-ms bounds of a plausible time: 2000-01-01 to 2100-01-01 (UTC). A time outside
/// is a unit mistake (seconds for milliseconds) or garbage, and the platform would
/// store a record nobody can read.
const EARLIEST_MS: i64 = 946_684_800_000;
const LATEST_MS: i64 = 4_102_444_800_000;

/// A record the platform would refuse: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ilab result: {field}: {reason}")]
pub struct InvalidRecord {
    /// The field, as §1.4 names it (`steps[1].score`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidRecord {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Seconds between two epoch-ms times, rounded down; 0 when they are the wrong way.
pub(crate) fn derived_secs(start_ms: i64, end_ms: i64) -> i64 {
    end_ms.saturating_sub(start_ms).max(0) / 1000
}

/// A score as JSON: an integer when it has no fraction (`86`, not `86.0`), as public
/// clients send it.
pub(crate) fn number(score: f64) -> Value {
    if score.fract() == 0.0 && score.abs() < 9.0e15 {
        json!(score as i64)
    } else {
        Number::from_f64(score).map_or(Value::Null, Value::Number)
    }
}

pub(crate) fn non_empty(text: &str, field: &str) -> Result<(), InvalidRecord> {
    if text.trim().is_empty() {
        return Err(InvalidRecord::new(field, "must not be empty"));
    }
    Ok(())
}

pub(crate) fn check_times(
    start: i64,
    end: i64,
    start_field: &str,
    end_field: &str,
) -> Result<(), InvalidRecord> {
    for (value, field) in [(start, start_field), (end, end_field)] {
        if !(EARLIEST_MS..LATEST_MS).contains(&value) {
            return Err(InvalidRecord::new(
                field,
                format!("{value} is not a time between 2000 and 2100 in epoch milliseconds"),
            ));
        }
    }
    if end < start {
        return Err(InvalidRecord::new(
            end_field,
            format!("{end} is before {start_field} {start}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_duration(secs: i64, field: &str) -> Result<(), InvalidRecord> {
    // A century of seconds: anything longer is a unit mistake.
    if !(0..=3_155_760_000).contains(&secs) {
        return Err(InvalidRecord::new(
            field,
            format!("{secs} is not a plausible number of seconds"),
        ));
    }
    Ok(())
}

pub(crate) fn check_score(score: f64, field: &str) -> Result<(), InvalidRecord> {
    if !score.is_finite() || !(0.0..=1.0e9).contains(&score) {
        return Err(InvalidRecord::new(
            field,
            format!("{score} is not a score (a number from 0)"),
        ));
    }
    Ok(())
}

pub(crate) fn required<'a>(
    map: &'a Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<&'a Value, InvalidRecord> {
    match map.get(name) {
        None | Some(Value::Null) => Err(InvalidRecord::new(field, "is missing")),
        Some(value) => Ok(value),
    }
}

pub(crate) fn required_int(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<i64, InvalidRecord> {
    let value = required(map, name, field)?;
    value_as_i64(value).ok_or_else(|| InvalidRecord::new(field, "must be an integer"))
}

pub(crate) fn optional_int(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<Option<i64>, InvalidRecord> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(value) => value_as_i64(value)
            .map(Some)
            .ok_or_else(|| InvalidRecord::new(field, "must be an integer")),
    }
}

pub(crate) fn required_number(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<f64, InvalidRecord> {
    let value = required(map, name, field)?;
    value_as_f64(value).ok_or_else(|| InvalidRecord::new(field, "must be a number"))
}

pub(crate) fn required_text(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<String, InvalidRecord> {
    match required(map, name, field)? {
        Value::String(s) => Ok(s.clone()),
        _ => Err(InvalidRecord::new(field, "must be a string")),
    }
}

pub(crate) fn optional_text(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<Option<String>, InvalidRecord> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(InvalidRecord::new(field, "must be a string")),
    }
}
