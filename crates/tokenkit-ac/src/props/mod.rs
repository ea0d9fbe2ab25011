//! Properties of every ac parser of what the platform sends (issue 13, "Parsers under
//! fuzzing"; the inventory is docs/fuzzing.md): arbitrary bytes and structure-aware
//! mutations of valid answers never panic, and whatever is not a valid answer is a
//! typed error. The `center` answer has its own properties (tests/center_props.rs).

#[path = "../../../tokenkit-core/tests/fuzz/mod.rs"]
mod fuzz;

mod center;
mod claims;
mod reply;

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::Arrival;

/// An ac token's claims (§2.4), all strings, expiring in an hour from 2026-12-01.
fn ac_claims() -> Value {
    json!({
        "computeUser": "alice", "accountStatus": "Normal", "creator": "ac", "role": "1",
        "expireTime": "1796140800000", "clusterId": "11112", "invoker": "org-1",
        "user": "alice", "userId": "11655048541"
    })
}

/// A token minted elsewhere: a JWT `exp` and `iat` only (§2.4).
fn exp_claims() -> Value {
    json!({"exp": 1_796_140_800_i64, "iat": 1_796_137_200_i64, "user": "alice"})
}

/// When an answer arrived: now, with no `Date`, a sane one, or absurd ones.
fn arrival() -> impl Strategy<Value = Arrival> {
    fuzz::server_dates().prop_map(|date| Arrival::now().with_server_date(date))
}
