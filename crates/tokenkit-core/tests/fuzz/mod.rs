//! What the parser properties of every crate share (docs/fuzzing.md): arbitrary bytes,
//! and structure-aware mutations of a valid answer — a field dropped, a value replaced
//! by each JSON type, an unknown field inserted, a key duplicated, the body cut at any
//! byte, wrapped in HTML or nested past any sane depth — plus JWTs whose payload is such
//! a mutation.
//!
//! It is test code included by path in the `#[cfg(test)]` property modules of each
//! crate (the parsers are private):
//! `#[path = "../../../tokenkit-core/tests/fuzz/mod.rs"] mod fuzz;`.

// Each crate uses a part of it.
#![allow(dead_code, unused_imports)]

mod jwt;
mod mutations;

pub use jwt::{base64url, jwt_mutations, jwt_of};
pub use mutations::{Edit, Mutated, Path, Step, Text, mutations, mutations_with, path};

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// The `Date` a response may carry: none, now, and absurd ones (1994, 9999) that must
/// not break a parse. Each crate makes its `Arrival` of it
/// (`server_dates().prop_map(|d| Arrival::now().with_server_date(d))`).
pub fn server_dates() -> impl Strategy<Value = Option<std::time::SystemTime>> {
    use std::time::{Duration, SystemTime};
    prop_oneof![
        Just(None),
        Just(Some(SystemTime::now())),
        Just(Some(
            SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
        )),
        Just(Some(
            SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799)
        )),
    ]
}

/// The cases a property runs: `default_cases`, modest so that the whole suite stays fast
/// on two cores, unless `PROPTEST_CASES` asks for more (the long run of
/// docs/fuzzing.md). No regression files are written into the source tree: a failure
/// prints its minimal input, which becomes a unit test of the parser.
pub fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config.failure_persistence = None;
    config
}

/// Field names of every platform's answers and of the stores' records: arbitrary JSON
/// built from them reaches further into a parser than random names.
pub const KEYS: &[&str] = &[
    "code",
    "msg",
    "message",
    "data",
    "success",
    "error",
    "errorCode",
    "errorText",
    "access_token",
    "refresh_token",
    "accessToken",
    "refreshToken",
    "token",
    "token_type",
    "tokenType",
    "expires_in",
    "expiresIn",
    "expires",
    "create_time",
    "expires_time",
    "create_time_display",
    "expires_time_display",
    "exp",
    "iat",
    "expireTime",
    "un",
    "dis",
    "jti",
    "scope",
    "clusterId",
    "clusterName",
    "accountStatus",
    "tokenUser",
    "userId",
    "records",
    "list",
    "record",
    "refused",
    "generation",
    "grant",
    "metadata",
    "expires_at_ms",
    "lifetime_ms",
];

/// Pieces of JSON and of the platforms' values, glued at random by [`arbitrary_bytes`].
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    " ",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-",
    "1",
    "-7",
    "1.5",
    "1e30",
    "1e999",
    "86399",
    "1711103229122",
    "9223372036854775807",
    "18446744073709551616",
    "\"0\"",
    "\"\"",
    "\"code\"",
    "\"access_token\"",
    "\"refresh_token\"",
    "\"accessToken\"",
    "\"data\"",
    "\"token\"",
    "\"success\"",
    "\"expires_in\"",
    "eyJhbGciOiJIUzI1NiJ9",
    ".",
    "<html>",
    "\u{feff}",
    "\u{fffd}",
    "用户",
];

/// Any bytes: uniformly random ones, and JSON-ish ones glued from [`FRAGMENTS`].
pub fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(select(FRAGMENTS), 0..48)
            .prop_map(|parts| parts.concat().into_bytes()),
    ]
}

/// Any text: random characters, and [`arbitrary_bytes`] read lossily.
pub fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,64}",
        arbitrary_bytes().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// A value of each JSON type, with the numbers and strings that break parsers: zero,
/// negatives, fractions, integers past i64 and u64, 1e30, empty and blank strings,
/// numbers and booleans spelled as strings, empty and non-empty containers, and values
/// nested past serde_json's depth limit of 128.
pub fn replacement() -> impl Strategy<Value = Value> {
    let fixed = select(vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-7),
        json!(1.5),
        json!(-0.5),
        json!(1e30),
        json!(-1e30),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(i64::MAX - 1_000_000_000_000),
        json!(i64::MIN + 1_000_000_000_000),
        json!(u64::MAX),
        json!(10_000_000_000_000_000_i64),
        json!(""),
        json!(" "),
        json!("0"),
        json!("-1"),
        json!("1.5"),
        json!("1e30"),
        json!("9223372036854775808"),
        json!("true"),
        json!("null"),
        json!("2024-03-22 18:27:09"),
        json!([]),
        json!({}),
        json!([1, "a", null]),
        json!({"a": 1}),
    ]);
    prop_oneof![
        6 => fixed,
        1 => any::<i64>().prop_map(Value::from),
        // Non-finite floats become null in serde_json, which is one more type to try.
        1 => any::<f64>().prop_map(Value::from),
        1 => ".{0,24}".prop_map(Value::from),
        1 => (100usize..400).prop_map(nested),
    ]
}

/// [`replacement`] values that are neither a string nor null: what no token may be.
pub fn not_a_string() -> impl Strategy<Value = Value> {
    replacement().prop_filter("not a string or null", |v| !v.is_string() && !v.is_null())
}

/// `[[[…1…]]]` and `{"a":{"a":…}}`, `depth` levels deep.
pub fn nested(depth: usize) -> Value {
    let mut value = json!(1);
    for level in 0..depth {
        value = if level % 2 == 0 {
            Value::Array(vec![value])
        } else {
            json!({ "a": value })
        };
    }
    value
}

/// Any JSON value, with keys from [`KEYS`] and leaves from [`replacement`].
pub fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => replacement().prop_filter("shallow leaves", |v| depth(v) < 8),
        1 => ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        let key = prop_oneof![select(KEYS).prop_map(str::to_owned), "[a-zA-Z_]{1,8}"];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
