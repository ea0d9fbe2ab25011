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

use serde_json::{Map, Number, Value, json};
use tokenkit_core::civil::unix_millis;
use tokenkit_core::lenient::{value_as_f64, value_as_i64};

/// The status of a finished experiment (§1.4).
pub const FINISHED: i64 = 1;

/// Epoch-ms bounds of a plausible time: 2000-01-01 to 2100-01-01 (UTC). A time outside
/// is a unit mistake (seconds for milliseconds) or garbage, and the platform would
/// store a record nobody can read.
const EARLIEST_MS: i64 = 946_684_800_000;
const LATEST_MS: i64 = 4_102_444_800_000;
/// The longest `originId` accepted (a UUID is 32 hex digits; clients use their own ids).
const MAX_ORIGIN_ID: usize = 64;

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
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// One step of an experiment, with its own times and score.
///
/// ```
/// use tokenkit_ilab::Step;
/// let step = Step::new(1, "实验操作")
///     .times_ms(1711111313941, 1711111913941)
///     .score(55.0, 60.0)
///     .expect_time_secs(900)
///     .evaluation("优秀");
/// assert_eq!(step.time_used_secs(), 600);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    seq: i64,
    title: String,
    start_ms: i64,
    end_ms: i64,
    time_used: Option<i64>,
    expect_time: Option<i64>,
    max_score: f64,
    score: f64,
    repeat_count: i64,
    evaluation: Option<String>,
    scoring_model: Option<String>,
    remarks: Option<String>,
}

impl Step {
    /// Step number `seq` (from 1) called `title`; set its times and score next.
    pub fn new(seq: u32, title: impl Into<String>) -> Self {
        Self {
            seq: i64::from(seq),
            title: title.into(),
            start_ms: 0,
            end_ms: 0,
            time_used: None,
            expect_time: None,
            max_score: 0.0,
            score: 0.0,
            repeat_count: 1,
            evaluation: None,
            scoring_model: None,
            remarks: None,
        }
    }

    /// When the step started and ended.
    pub fn times(self, start: SystemTime, end: SystemTime) -> Self {
        self.times_ms(unix_millis(start), unix_millis(end))
    }

    /// When the step started and ended, in epoch milliseconds.
    pub fn times_ms(mut self, start_ms: i64, end_ms: i64) -> Self {
        self.start_ms = start_ms;
        self.end_ms = end_ms;
        self
    }

    /// The score the student got, out of `max_score`.
    pub fn score(mut self, score: f64, max_score: f64) -> Self {
        self.score = score;
        self.max_score = max_score;
        self
    }

    /// The time used, in seconds (default: end − start).
    pub fn time_used_secs(&self) -> i64 {
        self.time_used
            .unwrap_or_else(|| derived_secs(self.start_ms, self.end_ms))
    }

    /// Overrides the time used (default: end − start, in seconds).
    pub fn time_used(mut self, used: Duration) -> Self {
        self.time_used = Some(i64::try_from(used.as_secs()).unwrap_or(i64::MAX));
        self
    }

    /// The time the step is expected to take, in seconds.
    pub fn expect_time_secs(mut self, secs: u64) -> Self {
        self.expect_time = Some(i64::try_from(secs).unwrap_or(i64::MAX));
        self
    }

    /// How often the student repeated the step (default 1).
    pub fn repeat_count(mut self, count: u32) -> Self {
        self.repeat_count = i64::from(count);
        self
    }

    /// The evaluation (`优秀`).
    pub fn evaluation(mut self, text: impl Into<String>) -> Self {
        self.evaluation = Some(text.into());
        self
    }

    /// How the step was scored.
    pub fn scoring_model(mut self, text: impl Into<String>) -> Self {
        self.scoring_model = Some(text.into());
        self
    }

    /// Remarks.
    pub fn remarks(mut self, text: impl Into<String>) -> Self {
        self.remarks = Some(text.into());
        self
    }

    fn check(&self, at: usize) -> Result<(), InvalidRecord> {
        let field = |name: &str| format!("steps[{at}].{name}");
        if self.seq < 1 {
            return Err(InvalidRecord::new(field("seq"), "must be 1 or more"));
        }
        non_empty(&self.title, &field("title"))?;
        check_times(
            self.start_ms,
            self.end_ms,
            &field("startTime"),
            &field("endTime"),
        )?;
        check_duration(self.time_used_secs(), &field("timeUsed"))?;
        if let Some(expect) = self.expect_time {
            check_duration(expect, &field("expectTime"))?;
        }
        check_score(self.max_score, &field("maxScore"))?;
        check_score(self.score, &field("score"))?;
        if self.score > self.max_score {
            return Err(InvalidRecord::new(
                field("score"),
                format!(
                    "{} is above the step's maxScore {}",
                    self.score, self.max_score
                ),
            ));
        }
        if self.repeat_count < 0 {
            return Err(InvalidRecord::new(
                field("repeatCount"),
                "must not be negative",
            ));
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "title": self.title,
            "startTime": self.start_ms,
            "endTime": self.end_ms,
            "timeUsed": self.time_used_secs(),
            "expectTime": self.expect_time.unwrap_or(0),
            "maxScore": number(self.max_score),
            "score": number(self.score),
            "repeatCount": self.repeat_count,
            "evaluation": self.evaluation.as_deref().unwrap_or(""),
            "scoringModel": self.scoring_model.as_deref().unwrap_or(""),
            "remarks": self.remarks.as_deref().unwrap_or(""),
        })
    }

    fn from_json(value: &Value, at: usize) -> Result<Self, InvalidRecord> {
        let field = |name: &str| format!("steps[{at}].{name}");
        let Value::Object(map) = value else {
            return Err(InvalidRecord::new(
                format!("steps[{at}]"),
                "must be an object",
            ));
        };
        let mut step = Step::new(0, required_text(map, "title", &field("title"))?);
        step.seq = required_int(map, "seq", &field("seq"))?;
        step.start_ms = required_int(map, "startTime", &field("startTime"))?;
        step.end_ms = required_int(map, "endTime", &field("endTime"))?;
        step.time_used = optional_int(map, "timeUsed", &field("timeUsed"))?;
        step.expect_time = optional_int(map, "expectTime", &field("expectTime"))?;
        step.max_score = required_number(map, "maxScore", &field("maxScore"))?;
        step.score = required_number(map, "score", &field("score"))?;
        step.repeat_count = optional_int(map, "repeatCount", &field("repeatCount"))?.unwrap_or(1);
        step.evaluation = optional_text(map, "evaluation", &field("evaluation"))?;
        step.scoring_model = optional_text(map, "scoringModel", &field("scoringModel"))?;
        step.remarks = optional_text(map, "remarks", &field("remarks"))?;
        Ok(step)
    }
}

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

/// Seconds between two epoch-ms times, rounded down; 0 when they are the wrong way.
fn derived_secs(start_ms: i64, end_ms: i64) -> i64 {
    end_ms.saturating_sub(start_ms).max(0) / 1000
}

/// A score as JSON: an integer when it has no fraction (`86`, not `86.0`), as public
/// clients send it.
fn number(score: f64) -> Value {
    if score.fract() == 0.0 && score.abs() < 9.0e15 {
        json!(score as i64)
    } else {
        Number::from_f64(score).map_or(Value::Null, Value::Number)
    }
}

fn non_empty(text: &str, field: &str) -> Result<(), InvalidRecord> {
    if text.trim().is_empty() {
        return Err(InvalidRecord::new(field, "must not be empty"));
    }
    Ok(())
}

fn check_times(
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

fn check_duration(secs: i64, field: &str) -> Result<(), InvalidRecord> {
    // A century of seconds: anything longer is a unit mistake.
    if !(0..=3_155_760_000).contains(&secs) {
        return Err(InvalidRecord::new(
            field,
            format!("{secs} is not a plausible number of seconds"),
        ));
    }
    Ok(())
}

fn check_score(score: f64, field: &str) -> Result<(), InvalidRecord> {
    if !score.is_finite() || !(0.0..=1.0e9).contains(&score) {
        return Err(InvalidRecord::new(
            field,
            format!("{score} is not a score (a number from 0)"),
        ));
    }
    Ok(())
}

fn required<'a>(
    map: &'a Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<&'a Value, InvalidRecord> {
    match map.get(name) {
        None | Some(Value::Null) => Err(InvalidRecord::new(field, "is missing")),
        Some(value) => Ok(value),
    }
}

fn required_int(map: &Map<String, Value>, name: &str, field: &str) -> Result<i64, InvalidRecord> {
    let value = required(map, name, field)?;
    value_as_i64(value).ok_or_else(|| InvalidRecord::new(field, "must be an integer"))
}

fn optional_int(
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

fn required_number(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<f64, InvalidRecord> {
    let value = required(map, name, field)?;
    value_as_f64(value).ok_or_else(|| InvalidRecord::new(field, "must be a number"))
}

fn required_text(
    map: &Map<String, Value>,
    name: &str,
    field: &str,
) -> Result<String, InvalidRecord> {
    match required(map, name, field)? {
        Value::String(s) => Ok(s.clone()),
        _ => Err(InvalidRecord::new(field, "must be a string")),
    }
}

fn optional_text(
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

#[cfg(test)]
mod tests {
    use super::*;

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
