//! One step of an experiment run (§1.4's `steps`): its own times, time used, expected
//! time, score out of its maximum, repeats and remarks.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokenkit_core::civil::unix_millis;

use crate::InvalidRecord;
use crate::fields::{
    check_duration, check_score, check_times, derived_secs, non_empty, number, optional_int,
    optional_text, required_int, required_number, required_text,
};

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
    pub(crate) seq: i64,
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

    pub(crate) fn check(&self, at: usize) -> Result<(), InvalidRecord> {
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

    pub(crate) fn to_json(&self) -> Value {
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

    pub(crate) fn from_json(value: &Value, at: usize) -> Result<Self, InvalidRecord> {
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
