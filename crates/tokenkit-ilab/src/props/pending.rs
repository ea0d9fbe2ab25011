//! A pending result as the grant's store holds it (`pending::Entry::decode`): any text,
//! and mutations of a waiting entry, a refused entry and a bare record, are an entry
//! or an error naming a field; an entry that decodes is stored again unchanged.

use proptest::prelude::*;
use serde_json::Value;

use super::fuzz;
use crate::codes::{Operation, rejected};
use crate::pending::Entry;
use crate::{ExperimentResult, Step};

fn record() -> ExperimentResult {
    ExperimentResult::builder("单摆测重力加速度")
        .times_ms(1_711_111_313_941, 1_711_112_313_941)
        .score(86.0)
        .step(Step::new(1, "实验操作").times_ms(1_711_111_313_941, 1_711_111_913_941))
        .build()
        .expect("valid")
        .for_session("u1", "1681600222748241929")
}

fn stored_forms() -> [Value; 3] {
    let refusal = rejected(Operation::Upload, "3", Some("参数错误：title".into()));
    let parse = |text: String| serde_json::from_str(&text).expect("JSON");
    [
        parse(Entry::waiting(record()).encode()),
        parse(Entry::refused(record(), &refusal).encode()),
        record().to_json(),
    ]
}

fn check(data: &str) -> Result<(), TestCaseError> {
    match Entry::decode(data) {
        Ok(entry) => {
            let again = Entry::decode(&entry.encode()).expect("an entry decodes again");
            prop_assert_eq!(again.record.to_json(), entry.record.to_json());
            prop_assert_eq!(again.refusal, entry.refusal);
        }
        Err(invalid) => prop_assert!(!invalid.field.is_empty() && !invalid.reason.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(128))]

    #[test]
    fn any_text_is_an_entry_or_names_a_field(data in fuzz::arbitrary_text()) {
        check(&data)?;
    }

    #[test]
    fn mutated_entries_are_an_entry_or_name_a_field(
        mutated in prop_oneof![
            fuzz::mutations(stored_forms()[0].clone()),
            fuzz::mutations(stored_forms()[1].clone()),
            fuzz::mutations(stored_forms()[2].clone()),
        ],
    ) {
        // Stores keep text: a body that is not UTF-8 never reaches the decoder.
        if let Ok(data) = std::str::from_utf8(&mutated.bytes) {
            check(data)?;
        }
    }
}
