//! A student's result, as `data_upload` takes it (PROTOCOLS.md §1.4): the experiment's
//! title, status, score, start and end (epoch ms), time used, and its steps with their
//! own scores and times.
//!
//! Built with [`ExperimentResult::builder`] or read from the JSON of §1.4's body
//! ([`ExperimentResult::from_json`]); either way it is checked for what the platform
//! would refuse, so a record that is stored for later delivery can be delivered. The
//! `originId` is generated once, when the record is made, and travels with it across
//! retries, restarts and processes: the platform keeps one record per `originId`.
//! `username` and `appid` are filled in from the session when the record is uploaded.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tokenkit_core::civil::unix_millis;

use crate::fields::{
    check_duration, check_score, check_times, derived_secs, non_empty, number, optional_int,
    optional_text, required_int, required_number, required_text,
};
use crate::{InvalidRecord, Step};

/// The status of a finished experiment (§1.4).
pub const FINISHED: i64 = 1;
/// The longest `originId` accepted (a UUID is 32 hex digits; clients use their own ids).
const MAX_ORIGIN_ID: usize = 64;

/// One student's result of one experiment run (§1.4), checked and with its `originId`.
///
/// ```
/// use tokenkit_ilab::{ExperimentResult, Step};
/// let start = 1711111313941;
/// let result = ExperimentResult::builder("单摆测重力加速度")
///     .times_ms(start, start + 1_000_000)
///     .score(86.0)
///     .step(Step::new(1, "实验操作").times_ms(start, start + 600_000).score(55.0, 60.0))
///     .step(Step::new(2, "数据处理").times_ms(start + 600_000, start + 1_000_000).score(31.0, 40.0))
///     .build()?;
/// assert_eq!(result.time_used_secs(), 1000);
/// assert_eq!(result.origin_id().len(), 32);
/// # Ok::<(), tokenkit_ilab::InvalidRecord>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct ExperimentResult {
    username: Option<String>,
    appid: Option<String>,
    origin_id: String,
    title: String,
    status: i64,
    score: f64,
    start_ms: i64,
    end_ms: i64,
    time_used: Option<i64>,
    steps: Vec<Step>,
}

/// Builds an [`ExperimentResult`]; see [`ExperimentResult::builder`].
#[derive(Debug, Clone)]
pub struct ExperimentResultBuilder {
    record: ExperimentResult,
}

impl ExperimentResultBuilder {
    /// When the experiment started and ended.
    pub fn times(self, start: SystemTime, end: SystemTime) -> Self {
        self.times_ms(unix_millis(start), unix_millis(end))
    }

    /// When the experiment started and ended, in epoch milliseconds.
    pub fn times_ms(mut self, start_ms: i64, end_ms: i64) -> Self {
        self.record.start_ms = start_ms;
        self.record.end_ms = end_ms;
        self
    }

    /// The student's score.
    pub fn score(mut self, score: f64) -> Self {
        self.record.score = score;
        self
    }

    /// The status (default [`FINISHED`], 1).
    pub fn status(mut self, status: i64) -> Self {
        self.record.status = status;
        self
    }

    /// Overrides the time used (default: end − start, in seconds).
    pub fn time_used(mut self, used: Duration) -> Self {
        self.record.time_used = Some(i64::try_from(used.as_secs()).unwrap_or(i64::MAX));
        self
    }

    /// One more step.
    pub fn step(mut self, step: Step) -> Self {
        self.record.steps.push(step);
        self
    }

    /// The experiment's own id of this record (default: a new random one). Give one
    /// when the experiment keeps its own record ids, so a record re-made after a crash
    /// is still the same record to the platform.
    pub fn origin_id(mut self, id: impl Into<String>) -> Self {
        self.record.origin_id = id.into();
        self
    }

    /// Checks the record for what the platform would refuse.
    pub fn build(self) -> Result<ExperimentResult, InvalidRecord> {
        self.record.check()?;
        Ok(self.record)
    }
}

impl ExperimentResult {
    /// A record of the experiment called `title`, with a new `originId`.
    pub fn builder(title: impl Into<String>) -> ExperimentResultBuilder {
        ExperimentResultBuilder {
            record: ExperimentResult {
                username: None,
                appid: None,
                origin_id: new_origin_id(),
                title: title.into(),
                status: FINISHED,
                score: 0.0,
                start_ms: 0,
                end_ms: 0,
                time_used: None,
                steps: Vec::new(),
            },
        }
    }

    /// The record's `originId`: the same on every retry.
    pub fn origin_id(&self) -> &str {
        &self.origin_id
    }

    /// The experiment's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The score.
    pub fn score(&self) -> f64 {
        self.score
    }

    /// The status.
    pub fn status(&self) -> i64 {
        self.status
    }

    /// Start and end, in epoch milliseconds.
    pub fn times_ms(&self) -> (i64, i64) {
        (self.start_ms, self.end_ms)
    }

    /// The time used, in seconds.
    pub fn time_used_secs(&self) -> i64 {
        self.time_used
            .unwrap_or_else(|| derived_secs(self.start_ms, self.end_ms))
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The platform user the record is for, once filled in (or as given in JSON).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The experiment's appid, once filled in (or as given in JSON).
    pub fn appid(&self) -> Option<&str> {
        self.appid.as_deref()
    }

    /// The record with its `username` and `appid` set (those of the uploading
    /// session), keeping everything else, the `originId` above all.
    pub fn for_session(mut self, username: &str, appid: &str) -> Self {
        self.username = Some(username.to_owned());
        self.appid = Some(appid.to_owned());
        self
    }

    /// The JSON body of §1.4 (with `username` and `appid` when they are set).
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        if let Some(username) = &self.username {
            body.insert("username".into(), json!(username));
        }
        body.insert("title".into(), json!(self.title));
        body.insert("status".into(), json!(self.status));
        body.insert("score".into(), number(self.score));
        body.insert("startTime".into(), json!(self.start_ms));
        body.insert("endTime".into(), json!(self.end_ms));
        body.insert("timeUsed".into(), json!(self.time_used_secs()));
        if let Some(appid) = &self.appid {
            body.insert("appid".into(), json!(appid));
        }
        body.insert("originId".into(), json!(self.origin_id));
        body.insert(
            "steps".into(),
            Value::Array(self.steps.iter().map(Step::to_json).collect()),
        );
        Value::Object(body)
    }

    /// A record from the JSON of §1.4's body; `username`, `appid` and `originId` may be
    /// left out (the first two are filled in at upload, the last is generated now).
    /// Numbers may be JSON numbers or strings. Checked like a built record.
    pub fn from_json(bytes: &[u8]) -> Result<Self, InvalidRecord> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            InvalidRecord::new(
                "(body)",
                format!("not JSON: line {} column {}", e.line(), e.column()),
            )
        })?;
        Self::from_value(&value)
    }

    /// Like [`ExperimentResult::from_json`], from a parsed value.
    pub fn from_value(value: &Value) -> Result<Self, InvalidRecord> {
        let Value::Object(map) = value else {
            return Err(InvalidRecord::new("(body)", "must be a JSON object"));
        };
        let steps = match map.get("steps") {
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .map(|(at, step)| Step::from_json(step, at))
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(InvalidRecord::new("steps", "must be an array")),
        };
        let record = ExperimentResult {
            username: optional_text(map, "username", "username")?,
            appid: optional_text(map, "appid", "appid")?,
            origin_id: optional_text(map, "originId", "originId")?.unwrap_or_else(new_origin_id),
            title: required_text(map, "title", "title")?,
            status: optional_int(map, "status", "status")?.unwrap_or(FINISHED),
            score: required_number(map, "score", "score")?,
            start_ms: required_int(map, "startTime", "startTime")?,
            end_ms: required_int(map, "endTime", "endTime")?,
            time_used: optional_int(map, "timeUsed", "timeUsed")?,
            steps,
        };
        record.check()?;
        Ok(record)
    }

    fn check(&self) -> Result<(), InvalidRecord> {
        non_empty(&self.title, "title")?;
        let origin = self.origin_id.trim();
        if origin.is_empty() || origin.len() > MAX_ORIGIN_ID || origin != self.origin_id {
            return Err(InvalidRecord::new(
                "originId",
                format!("must be 1 to {MAX_ORIGIN_ID} characters without surrounding spaces"),
            ));
        }
        if let Some(username) = &self.username {
            non_empty(username, "username")?;
        }
        if let Some(appid) = &self.appid {
            non_empty(appid, "appid")?;
        }
        if self.status < 0 {
            return Err(InvalidRecord::new("status", "must not be negative"));
        }
        check_score(self.score, "score")?;
        check_times(self.start_ms, self.end_ms, "startTime", "endTime")?;
        check_duration(self.time_used_secs(), "timeUsed")?;
        if self.steps.is_empty() {
            return Err(InvalidRecord::new("steps", "at least one step is required"));
        }
        let mut seen = Vec::with_capacity(self.steps.len());
        for (at, step) in self.steps.iter().enumerate() {
            step.check(at)?;
            if seen.contains(&step.seq) {
                return Err(InvalidRecord::new(
                    format!("steps[{at}].seq"),
                    format!("{} is used by an earlier step", step.seq),
                ));
            }
            seen.push(step.seq);
        }
        Ok(())
    }
}

/// The score and the identity fields are the student's; `Debug` shows the record's
/// shape and id, which is what a log needs.
impl fmt::Debug for ExperimentResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExperimentResult")
            .field("origin_id", &self.origin_id)
            .field("title", &self.title)
            .field("status", &self.status)
            .field("score", &self.score)
            .field("steps", &self.steps.len())
            .finish_non_exhaustive()
    }
}

/// A new `originId`: 32 hex digits (a random UUID without dashes).
fn new_origin_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::number;

    const START: i64 = 1_711_111_313_941;

    fn valid() -> ExperimentResultBuilder {
        ExperimentResult::builder("单摆测重力加速度")
            .times_ms(START, START + 1_000_000)
            .score(86.0)
            .step(
                Step::new(1, "实验操作")
                    .times_ms(START, START + 600_000)
                    .score(55.0, 60.0)
                    .expect_time_secs(900)
                    .evaluation("优秀")
                    .scoring_model("…")
                    .remarks(""),
            )
    }

    #[test]
    fn the_body_has_the_fields_of_the_protocol_example() {
        let record = valid()
            .origin_id("r-1")
            .build()
            .expect("valid")
            .for_session("un1", "app1");
        let expected = json!({"username": "un1", "title": "单摆测重力加速度", "status": 1,
            "score": 86, "startTime": START, "endTime": START + 1_000_000, "timeUsed": 1000,
            "appid": "app1", "originId": "r-1",
            "steps": [{"seq": 1, "title": "实验操作", "startTime": START,
                       "endTime": START + 600_000, "timeUsed": 600, "expectTime": 900,
                       "maxScore": 60, "score": 55, "repeatCount": 1, "evaluation": "优秀",
                       "scoringModel": "…", "remarks": ""}]});
        assert_eq!(record.to_json(), expected);
        // And back: the same record.
        let again = ExperimentResult::from_value(&expected).expect("valid");
        assert_eq!(again.to_json(), record.to_json());
        assert_eq!(json!(86.5), number(86.5));
    }

    #[test]
    fn each_record_gets_its_own_origin_id_once() {
        let a = valid().build().expect("valid");
        let b = valid().build().expect("valid");
        assert_ne!(a.origin_id(), b.origin_id());
        let filled = a.clone().for_session("u", "app");
        assert_eq!(filled.origin_id(), a.origin_id());
    }

    #[test]
    fn the_builder_refuses_what_the_platform_would_refuse() {
        let cases: Vec<(ExperimentResultBuilder, &str)> = vec![
            (valid().times_ms(START, START - 1), "endTime"),
            (
                ExperimentResult::builder(" ").times_ms(START, START),
                "title",
            ),
            (valid().score(f64::NAN), "score"),
            (valid().score(-1.0), "score"),
            (valid().times_ms(1_711_111_313, 1_711_111_999), "startTime"),
            (valid().origin_id(""), "originId"),
            (valid().origin_id("x".repeat(65)), "originId"),
            (
                valid().step(Step::new(2, "b").times_ms(START, START).score(61.0, 60.0)),
                "steps[1].score",
            ),
            (
                valid().step(Step::new(1, "b").times_ms(START, START).score(1.0, 2.0)),
                "steps[1].seq",
            ),
            (
                valid().step(Step::new(2, "").times_ms(START, START).score(1.0, 2.0)),
                "steps[1].title",
            ),
            (
                valid().step(Step::new(2, "b").times_ms(START + 5, START).score(1.0, 2.0)),
                "steps[1].endTime",
            ),
            (valid().time_used(Duration::from_secs(u64::MAX)), "timeUsed"),
            (
                ExperimentResult::builder("t")
                    .times_ms(START, START)
                    .score(1.0),
                "steps",
            ),
        ];
        for (builder, field) in cases {
            let err = builder.build().expect_err(field);
            assert_eq!(err.field, field, "{err}");
            assert!(
                err.to_string()
                    .starts_with(&format!("ilab result: {field}: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn json_records_name_the_field_that_is_wrong() {
        let body = valid().build().expect("valid").to_json();
        let with = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut body = body.clone();
            f(body.as_object_mut().expect("object"));
            ExperimentResult::from_value(&body)
                .map(|_| ())
                .map_err(|e| e.field)
        };
        assert_eq!(with(&|_| {}), Ok(()));
        assert_eq!(
            with(&|m| {
                m.remove("title");
            }),
            Err("title".into())
        );
        assert_eq!(
            with(&|m| {
                m.insert("score".into(), json!("86"));
            }),
            Ok(())
        );
        assert_eq!(
            with(&|m| {
                m.insert("score".into(), json!("many"));
            }),
            Err("score".into())
        );
        assert_eq!(
            with(&|m| {
                m.insert("startTime".into(), json!([1]));
            }),
            Err("startTime".into())
        );
        assert_eq!(
            with(&|m| {
                m.insert("steps".into(), json!({}));
            }),
            Err("steps".into())
        );
        assert_eq!(
            with(&|m| {
                m.insert("steps".into(), json!([1]));
            }),
            Err("steps[0]".into())
        );
        assert_eq!(
            with(&|m| {
                m["steps"][0]
                    .as_object_mut()
                    .expect("step")
                    .remove("maxScore");
            }),
            Err("steps[0].maxScore".into())
        );
        assert_eq!(
            with(&|m| {
                m.insert("username".into(), json!(7));
            }),
            Ok(())
        );
        assert_eq!(
            with(&|m| {
                m.insert("username".into(), json!({}));
            }),
            Err("username".into())
        );
        let generated = ExperimentResult::from_value(&{
            let mut b = body.clone();
            b.as_object_mut().expect("object").remove("originId");
            b
        })
        .expect("valid");
        assert_eq!(generated.origin_id().len(), 32);
        assert_eq!(
            ExperimentResult::from_json(b"<html>").map_err(|e| e.field),
            Err("(body)".into())
        );
    }
}
