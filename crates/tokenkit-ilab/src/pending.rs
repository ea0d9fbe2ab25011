//! What the grant's store holds for one result not yet acknowledged: the record (§1.4's
//! body, with `username`, `appid` and `originId`), and, once the platform refused it,
//! that refusal.
//!
//! A refused record is not sent again (it would be refused again) but stays in the
//! store, marked, until the application takes it over
//! ([`Reporter::discard`](crate::Reporter::discard)): a record leaves the store only
//! when the platform acknowledged it or the application said so.

use serde_json::{Value, json};
use tokenkit_core::Error;
use tokenkit_core::lenient::value_as_string;

use crate::codes::{Operation, rejected};
use crate::{ExperimentResult, InvalidRecord};

/// One pending result as stored.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) record: ExperimentResult,
    /// The platform's code and message, once it refused the record.
    pub(crate) refusal: Option<(String, Option<String>)>,
}

impl Entry {
    /// A record waiting for its delivery.
    pub(crate) fn waiting(record: ExperimentResult) -> Self {
        Self {
            record,
            refusal: None,
        }
    }

    /// A record the platform refused with `error` (already scrubbed of what was sent).
    pub(crate) fn refused(record: ExperimentResult, error: &Error) -> Self {
        let code = error.platform_code().unwrap_or("?").to_owned();
        let message = error.platform_message().map(str::to_owned);
        Self {
            record,
            refusal: Some((code, message)),
        }
    }

    /// The platform's refusal as the typed error it was.
    pub(crate) fn refusal_error(&self) -> Option<Error> {
        let (code, message) = self.refusal.as_ref()?;
        Some(rejected(Operation::Upload, code, message.clone()))
    }

    pub(crate) fn encode(&self) -> String {
        let mut entry = json!({ "record": self.record.to_json() });
        if let Some((code, message)) = &self.refusal {
            entry["refused"] = json!({ "code": code, "msg": message });
        }
        entry.to_string()
    }

    /// An entry as [`Entry::encode`] wrote it, or a bare record (as another writer may
    /// keep one).
    pub(crate) fn decode(data: &str) -> Result<Self, InvalidRecord> {
        let value: Value = serde_json::from_str(data).map_err(|_| InvalidRecord {
            field: "(pending record)".into(),
            reason: "not JSON".into(),
        })?;
        let Some(record) = value.get("record").filter(|r| r.is_object()) else {
            return ExperimentResult::from_value(&value).map(Self::waiting);
        };
        let record = ExperimentResult::from_value(record)?;
        let refusal = value.get("refused").filter(|r| r.is_object()).map(|r| {
            (
                r.get("code")
                    .and_then(value_as_string)
                    .unwrap_or_else(|| "?".into()),
                r.get("msg").and_then(value_as_string),
            )
        });
        Ok(Self { record, refusal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;

    fn record() -> ExperimentResult {
        ExperimentResult::builder("t")
            .times_ms(1_711_111_313_941, 1_711_111_313_941)
            .step(Step::new(1, "s").times_ms(1_711_111_313_941, 1_711_111_313_941))
            .build()
            .expect("valid")
            .for_session("u1", "app")
    }

    #[test]
    fn entries_survive_the_store_and_bare_records_are_read_too() {
        let waiting = Entry::waiting(record());
        let back = Entry::decode(&waiting.encode()).expect("decodes");
        assert_eq!(back.record.to_json(), waiting.record.to_json());
        assert!(back.refusal.is_none());

        let error = rejected(Operation::Upload, "3", Some("参数错误：title".into()));
        let refused = Entry::refused(record(), &error);
        let back = Entry::decode(&refused.encode()).expect("decodes");
        let again = back.refusal_error().expect("refused");
        assert_eq!(again.platform_code(), Some("3"));
        assert_eq!(again.platform_message(), Some("参数错误：title"));

        let bare = Entry::decode(&record().to_json().to_string()).expect("a bare record");
        assert!(bare.refusal.is_none());
        assert!(Entry::decode("{").is_err());
        assert!(Entry::decode(r#"{"record": {"title": ""}}"#).is_err());
    }
}
