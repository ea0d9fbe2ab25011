//! Property tests of the `center` parser: arbitrary JSON never panics and is either
//! regions or a reason; generated regions survive the trip through JSON, with `enable`
//! as a boolean or a string, and a single object or a list.

use proptest::prelude::*;
use serde_json::{Value, json};
use tokenkit_ac::{ServiceKind, parse_center};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("name".to_owned()),
                    Just("hpcUrls".to_owned()),
                    Just("url".to_owned()),
                    Just("enable".to_owned()),
                    Just("clusterUserInfo".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Url {
    url: String,
    enabled: bool,
    as_string: bool,
}

fn urls() -> impl Strategy<Value = Vec<Url>> {
    prop::collection::vec(
        ("https://[a-z]{1,8}", any::<bool>(), any::<bool>()).prop_map(
            |(url, enabled, as_string)| Url {
                url,
                enabled,
                as_string,
            },
        ),
        0..4,
    )
}

fn entries(urls: &[Url]) -> Value {
    Value::Array(
        urls.iter()
            .map(|u| {
                let enable = if u.as_string {
                    json!(u.enabled.to_string())
                } else {
                    json!(u.enabled)
                };
                json!({"url": u.url, "enable": enable, "version": "1.0"})
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics(data in arbitrary_json()) {
        let _ = parse_center(&data);
    }

    #[test]
    fn generated_regions_round_trip(id in 1u32..99_999, hpc in urls(), efile in urls(), ai in urls(), as_list in any::<bool>()) {
        let region = json!({"id": id.to_string(), "name": "区", "hpcUrls": entries(&hpc),
                            "efileUrls": entries(&efile), "aiUrls": entries(&ai)});
        let data = if as_list { json!([region]) } else { region };
        let parsed = parse_center(&data).expect("valid");
        prop_assert_eq!(parsed.len(), 1);
        for (kind, urls) in [(ServiceKind::Hpc, &hpc), (ServiceKind::Efile, &efile), (ServiceKind::Ai, &ai)] {
            let first = urls.iter().find(|u| u.enabled).map(|u| u.url.clone());
            prop_assert_eq!(parsed[0].url(kind).ok().map(str::to_owned), first);
            prop_assert_eq!(parsed[0].urls(kind).len(), urls.len());
        }
    }
}
