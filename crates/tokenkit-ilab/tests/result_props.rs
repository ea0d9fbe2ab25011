//! Property tests of the result record (§1.4): arbitrary bytes and arbitrary JSON never
//! panic and are a record or an error naming a field; a valid record survives the trip
//! through JSON with every number also accepted as a string; a mutated valid record is
//! either still a record or refused by name, and what is accepted is always plausible.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokenkit_ilab::ExperimentResult;

const FIELDS: [&str; 10] = [
    "username",
    "title",
    "status",
    "score",
    "startTime",
    "endTime",
    "timeUsed",
    "appid",
    "originId",
    "steps",
];
const STEP_FIELDS: [&str; 12] = [
    "seq",
    "title",
    "startTime",
    "endTime",
    "timeUsed",
    "expectTime",
    "maxScore",
    "score",
    "repeatCount",
    "evaluation",
    "scoringModel",
    "remarks",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (1_600_000_000_000i64..1_900_000_000_000).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
        "-?[0-9]{1,14}(\\.[0-9]{1,3})?".prop_map(Value::from),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
            prop::sample::select(STEP_FIELDS.to_vec()).prop_map(str::to_owned),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid record: times in order, step scores within their maximum.
fn valid_record() -> impl Strategy<Value = Value> {
    let step = (0i64..3_600_000, 0u32..100, 1u32..=100, 0u32..5);
    (
        1_600_000_000_000i64..1_900_000_000_000,
        prop::collection::vec(step, 1..4),
        "[a-zA-Z0-9一-龥]{1,12}",
        0u32..=100,
    )
        .prop_map(|(start, steps, title, score)| {
            let mut at = start;
            let steps: Vec<Value> = steps
                .into_iter()
                .enumerate()
                .map(|(i, (length, got, max, repeats))| {
                    let step = json!({"seq": i + 1, "title": format!("步骤{i}"),
                        "startTime": at, "endTime": at + length, "maxScore": max,
                        "score": got.min(max), "repeatCount": repeats});
                    at += length;
                    step
                })
                .collect();
            json!({"title": title, "status": 1, "score": score, "startTime": start,
                   "endTime": at, "steps": steps})
        })
}

/// Every number written as a string, as some clients send them.
fn stringify_numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringify_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), stringify_numbers(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn assert_plausible(record: &ExperimentResult) {
    let (start, end) = record.times_ms();
    assert!(start <= end);
    assert!(!record.title().trim().is_empty());
    assert!(!record.steps().is_empty());
    assert!(record.score().is_finite() && record.score() >= 0.0);
    assert!(!record.origin_id().is_empty());
    // What was accepted can be sent and read back as the same body.
    let body = record.to_json();
    let again = ExperimentResult::from_value(&body).expect("an accepted record reads back");
    assert_eq!(again.to_json(), body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        match ExperimentResult::from_json(&bytes) {
            Ok(record) => assert_plausible(&record),
            Err(e) => prop_assert!(!e.field.is_empty() && !e.reason.is_empty()),
        }
    }

    #[test]
    fn arbitrary_json_is_a_record_or_names_a_field(value in arbitrary_json()) {
        match ExperimentResult::from_value(&value) {
            Ok(record) => assert_plausible(&record),
            Err(e) => prop_assert!(e.to_string().starts_with("ilab result: "), "{e}"),
        }
    }

    #[test]
    fn valid_records_survive_json_and_string_numbers(body in valid_record()) {
        let record = ExperimentResult::from_value(&body).expect("valid");
        assert_plausible(&record);
        let as_strings = ExperimentResult::from_value(&stringify_numbers(&body)).expect("valid");
        prop_assert_eq!(as_strings.times_ms(), record.times_ms());
        prop_assert_eq!(as_strings.steps().len(), record.steps().len());
    }

    #[test]
    fn mutated_records_are_kept_plausible_or_refused_by_name(
        body in valid_record(),
        field in prop::sample::select(FIELDS.to_vec()),
        step_field in prop::sample::select(STEP_FIELDS.to_vec()),
        in_step in any::<bool>(),
        replacement in prop::option::of(leaf()),
    ) {
        let mut body = body;
        let target = if in_step {
            body["steps"][0].as_object_mut().expect("step")
        } else {
            body.as_object_mut().expect("record")
        };
        let name = if in_step { step_field } else { field };
        match replacement {
            Some(value) => { target.insert(name.to_owned(), value); }
            None => { target.remove(name); }
        }
        match ExperimentResult::from_value(&body) {
            Ok(record) => assert_plausible(&record),
            Err(e) => {
                let expected = if in_step { format!("steps[0].{name}") } else { name.to_owned() };
                // The error names the mutated field (or, when a step's times moved,
                // the record's or the step's other time).
                prop_assert!(
                    e.field == expected || e.field.contains("Time") || e.field.starts_with("steps"),
                    "{} for a change of {}", e, expected
                );
            }
        }
    }
}
