//! The `center` answer as it arrives (`reply::data`, then `parse_center`, PROTOCOLS.md
//! §2.6): arbitrary bytes and mutations of a valid answer are regions or a reason,
//! never a panic. tests/center_props.rs covers `parse_center` over generated JSON.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_core::http::Response;
use tokenkit_core::{Arrival, lenient};

use super::fuzz;
use crate::{PLATFORM, ServiceKind, parse_center, reply};

fn answer() -> Value {
    let urls = |host: &str| {
        json!([{"url": format!("https://{host}-old"), "enable": "false", "version": "1"},
               {"url": format!("https://{host}"), "enable": true, "version": 2}])
    };
    json!({"code": "0", "msg": "success", "data": {
        "id": "11112", "name": "华东一区",
        "clusterUserInfo": {"userName": "alice", "homePath": "/public/home/alice"},
        "hpcUrls": urls("hpc"), "efileUrls": urls("efile"), "aiUrls": urls("ai")
    }})
}

fn check(body: &[u8]) -> Result<(), TestCaseError> {
    let response = Response::from_parts(PLATFORM, 200, Arrival::now(), body.to_vec());
    let Ok(data) = reply::data(&response) else {
        return Ok(());
    };
    if let Ok(regions) = parse_center(&data) {
        // One region per object sent, each with the id it was sent with.
        let sent: Vec<&Value> = match &data {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        prop_assert_eq!(regions.len(), sent.len());
        for (region, sent) in regions.iter().zip(sent) {
            prop_assert_eq!(
                Some(region.id.clone()),
                sent.get("id").and_then(lenient::value_as_string)
            );
            for kind in [ServiceKind::Hpc, ServiceKind::Efile, ServiceKind::Ai] {
                if let Ok(url) = region.url(kind) {
                    prop_assert!(!url.is_empty());
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn arbitrary_bytes_are_regions_or_a_reason(body in fuzz::arbitrary_bytes()) {
        check(&body)?;
    }

    #[test]
    fn mutated_answers_are_regions_or_a_reason(mutated in fuzz::mutations(answer())) {
        check(&mutated.bytes)?;
    }
}
