//! JWT payload decoding ([`crate::jwt`]): any string is claims or `None`, never a panic;
//! a token whose payload is a mutated claims object decodes exactly when the payload is
//! still a JSON object, and every claim reads without a panic.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fuzz;
use crate::jwt::{claim_i64, claim_string, decode_claims};
use crate::lenient;

/// The claims of the ilab seed's access token, and an ac token's string-valued ones.
fn seed_claims() -> Value {
    json!({
        "msg": "调用成功，返回所需数据", "code": 0, "create_time": 1_711_103_229_122_i64,
        "create_time_display": "2024-03-22 18:27:09", "user_name": "1701808169793138690",
        "authorities": ["ADMIN"], "client_id": "1681600222748241929",
        "dis": "1701808169793138690", "scope": ["callback:score"],
        "expires_time_display": "2024-03-23 18:27:08", "un": "1701808169793138690",
        "exp": 1_711_189_629, "jti": "a57ab99c-6ed3-4b93-a8a3-07746434ffe8",
        "expires_time": 1_711_189_628_122_i64, "expireTime": "1686908509231",
        "clusterId": "11112", "accountStatus": "Trial"
    })
}

fn read_every_claim(claims: &crate::jwt::Claims) {
    for (name, value) in claims {
        assert_eq!(claim_i64(claims, name), lenient::value_as_i64(value));
        assert_eq!(claim_string(claims, name), lenient::value_as_string(value));
    }
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_string_is_claims_or_none(token in fuzz::arbitrary_text()) {
        if let Some(claims) = decode_claims(&token) {
            prop_assert_eq!(token.trim().split('.').count(), 3);
            read_every_claim(&claims);
        }
    }

    #[test]
    fn a_mutated_payload_decodes_exactly_when_it_is_still_an_object(
        payload in fuzz::mutations(seed_claims()),
        standard_alphabet in any::<bool>(),
        padded in any::<bool>(),
    ) {
        let mut token = fuzz::jwt_of(&payload.bytes);
        if standard_alphabet {
            token = token.replace('-', "+").replace('_', "/");
        }
        if padded {
            let parts: Vec<&str> = token.split('.').collect();
            let pad = "=".repeat((4 - parts[1].len() % 4) % 4);
            token = format!("{}.{}{pad}.{}", parts[0], parts[1], parts[2]);
        }
        let is_object = matches!(payload.json(), Some(Value::Object(_)));
        let decoded = decode_claims(&token);
        prop_assert_eq!(decoded.is_some(), is_object, "{:?}", payload);
        if let Some(claims) = decoded {
            read_every_claim(&claims);
        }
    }
}
