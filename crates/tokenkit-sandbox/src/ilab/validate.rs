//! The body check of `data_upload` (PROTOCOLS.md §1.4): what a record must hold before
//! the platform stores it.
//!
//! Every refusal is `{"code": 3, "msg": "参数错误：<field>…"}` and names the field, with
//! its place for a step (`steps[0].maxScore`), so a client's author sees at once what to
//! fix. Numbers may be JSON numbers or numeric strings, as public clients send both
//! (PROTOCOLS.md, common rules); `null` counts as missing. Optional fields are checked
//! only when present and not `null`.
//!
//! The checks run in a fixed order — the record's fields as §1.4 lists them, the
//! record's consistency, then each step's fields and consistency — and the first
//! failure is the answer.

use serde_json::{Map, Value};

use super::access::Holder;
use super::mint::error;

/// A record that passed every check.
#[derive(Debug)]
pub(crate) struct Record {
    /// Its `originId`: with the appid and the user, what identifies it (§1.4).
    pub(crate) origin_id: String,
    /// The body as uploaded.
    pub(crate) body: Map<String, Value>,
}

/// What a field must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A string that is not blank.
    Text,
    /// Any string, possibly empty (the optional free-text fields).
    AnyText,
    /// A JSON number or a string that parses as a finite number.
    Number,
}

/// The record's scalar fields, in §1.4's order (`steps`, the one array, follows them).
const RECORD_FIELDS: [(&str, Kind); 9] = [
    ("username", Kind::Text),
    ("title", Kind::Text),
    ("status", Kind::Number),
    ("score", Kind::Number),
    ("startTime", Kind::Number),
    ("endTime", Kind::Number),
    ("timeUsed", Kind::Number),
    ("appid", Kind::Text),
    ("originId", Kind::Text),
];

/// A step's required fields, in §1.4's order.
const STEP_FIELDS: [(&str, Kind); 8] = [
    ("seq", Kind::Number),
    ("title", Kind::Text),
    ("startTime", Kind::Number),
    ("endTime", Kind::Number),
    ("timeUsed", Kind::Number),
    ("maxScore", Kind::Number),
    ("score", Kind::Number),
    ("repeatCount", Kind::Number),
];

/// A step's optional fields.
const STEP_OPTIONAL: [(&str, Kind); 4] = [
    ("expectTime", Kind::Number),
    ("evaluation", Kind::AnyText),
    ("scoringModel", Kind::AnyText),
    ("remarks", Kind::AnyText),
];

/// Checks `body` as a record uploaded with `holder`'s token; the refusal is the answer.
pub(crate) fn validate(body: &[u8], holder: &Holder) -> Result<Record, Value> {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(3, "参数错误：请求体必须是JSON对象"));
    };
    check_record(&record, holder).map_err(|refusal| error(3, &refusal.message()))?;
    let origin_id = record
        .get("originId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Record {
        origin_id,
        body: record,
    })
}

/// Why a record was refused: the field (with its place) and what is wrong with it.
#[derive(Debug, PartialEq)]
struct Refusal {
    field: String,
    why: &'static str,
}

impl Refusal {
    fn new(field: impl Into<String>, why: &'static str) -> Self {
        Self {
            field: field.into(),
            why,
        }
    }

    fn message(&self) -> String {
        format!("参数错误：{}{}", self.field, self.why)
    }
}

fn check_record(record: &Map<String, Value>, holder: &Holder) -> Result<(), Refusal> {
    for (field, kind) in RECORD_FIELDS {
        check_field(record, field, kind, "", true)?;
    }
    // The record must be the token's user's, for the token's experiment: a backend
    // reporting for someone else, or under another appid, is refused.
    if record.get("username").and_then(Value::as_str) != Some(holder.un.as_str()) {
        return Err(Refusal::new("username", "与access_token的用户不一致"));
    }
    if record.get("appid").and_then(Value::as_str) != Some(holder.appid.as_str()) {
        return Err(Refusal::new("appid", "与access_token的appid不一致"));
    }
    check_consistency(record, "")?;
    let steps = match record.get("steps") {
        None | Some(Value::Null) => return Err(Refusal::new("steps", "缺失")),
        Some(Value::Array(steps)) => steps,
        Some(_) => return Err(Refusal::new("steps", "必须是数组")),
    };
    if steps.is_empty() {
        return Err(Refusal::new("steps", "不能为空"));
    }
    for (i, step) in steps.iter().enumerate() {
        let place = format!("steps[{i}].");
        let Value::Object(step) = step else {
            return Err(Refusal::new(format!("steps[{i}]"), "必须是对象"));
        };
        for (field, kind) in STEP_FIELDS {
            check_field(step, field, kind, &place, true)?;
        }
        for (field, kind) in STEP_OPTIONAL {
            check_field(step, field, kind, &place, false)?;
        }
        check_consistency(step, &place)?;
        if let (Some(score), Some(max)) = (number(step, "score"), number(step, "maxScore"))
            && score > max
        {
            return Err(Refusal::new(format!("{place}score"), "不能大于maxScore"));
        }
    }
    Ok(())
}

/// What a record and a step share: an end not before the start, no negative score
/// (nor, for a step, a negative `maxScore`).
fn check_consistency(object: &Map<String, Value>, place: &str) -> Result<(), Refusal> {
    if let (Some(start), Some(end)) = (number(object, "startTime"), number(object, "endTime"))
        && end < start
    {
        return Err(Refusal::new(format!("{place}endTime"), "不能早于startTime"));
    }
    for field in ["score", "maxScore"] {
        if number(object, field).is_some_and(|n| n < 0.0) {
            return Err(Refusal::new(format!("{place}{field}"), "不能为负数"));
        }
    }
    Ok(())
}

fn check_field(
    object: &Map<String, Value>,
    field: &str,
    kind: Kind,
    place: &str,
    required: bool,
) -> Result<(), Refusal> {
    let refuse = |why| Err(Refusal::new(format!("{place}{field}"), why));
    let value = match object.get(field) {
        None | Some(Value::Null) if required => return refuse("缺失"),
        None | Some(Value::Null) => return Ok(()),
        Some(value) => value,
    };
    match kind {
        Kind::Text | Kind::AnyText => match value.as_str() {
            None => refuse("必须是字符串"),
            Some(text) if matches!(kind, Kind::Text) && text.trim().is_empty() => {
                refuse("不能为空")
            }
            Some(_) => Ok(()),
        },
        Kind::Number if as_number(value).is_none() => refuse("必须是数字"),
        Kind::Number => Ok(()),
    }
}

/// `field` of `object` as a number, when it is one (checked before it is compared).
fn number(object: &Map<String, Value>, field: &str) -> Option<f64> {
    object.get(field).and_then(as_number)
}

/// A JSON number, or a string holding a finite one (`"86"`, `"1711111313941"`).
fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holder() -> Holder {
        Holder {
            un: "u1".to_owned(),
            appid: "app".to_owned(),
            grant: "g".to_owned(),
        }
    }

    fn valid() -> Value {
        json!({
            "username": "u1", "title": "虚拟仿真实验", "status": 1, "score": 86,
            "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
            "timeUsed": 1000, "appid": "app", "originId": "r-1",
            "steps": [
                {"seq": 1, "title": "实验操作", "startTime": 1_711_111_313_941_i64,
                 "endTime": 1_711_111_913_941_i64, "timeUsed": 600, "expectTime": 900,
                 "maxScore": 60, "score": 55, "repeatCount": 1, "evaluation": "优秀",
                 "scoringModel": "…", "remarks": ""},
                {"seq": "2", "title": "实验报告", "startTime": "1711111913941",
                 "endTime": "1711112313941", "timeUsed": "400", "maxScore": "40",
                 "score": "31.5", "repeatCount": "1"}
            ]
        })
    }

    /// `edit` applied to a valid record; the refusal's message, or `"ok"`.
    fn outcome(edit: impl FnOnce(&mut Value)) -> String {
        let mut body = valid();
        edit(&mut body);
        match validate(body.to_string().as_bytes(), &holder()) {
            Ok(_) => "ok".to_owned(),
            Err(refusal) => {
                assert_eq!(refusal["code"], 3, "{refusal}");
                refusal["msg"].as_str().unwrap_or_default().to_owned()
            }
        }
    }

    fn set(path: &str, value: Value) -> impl FnOnce(&mut Value) {
        let pointer = format!("/{}", path.replace('.', "/"));
        move |body| {
            if let Some(slot) = body.pointer_mut(&pointer) {
                *slot = value;
            }
        }
    }

    fn remove(path: &str) -> impl FnOnce(&mut Value) {
        let (parent, field) = path.rsplit_once('.').unwrap_or(("", path));
        let pointer = if parent.is_empty() {
            String::new()
        } else {
            format!("/{}", parent.replace('.', "/"))
        };
        let field = field.to_owned();
        move |body| {
            if let Some(Value::Object(object)) = body.pointer_mut(&pointer) {
                object.remove(&field);
            }
        }
    }

    #[test]
    fn a_valid_record_passes_with_numbers_as_numbers_or_strings() {
        assert_eq!(outcome(|_| {}), "ok");
        let record = validate(valid().to_string().as_bytes(), &holder()).expect("valid");
        assert_eq!(record.origin_id, "r-1");
        assert_eq!(outcome(set("status", json!("1"))), "ok");
        assert_eq!(outcome(remove("steps.0.expectTime")), "ok", "optional");
        assert_eq!(outcome(remove("steps.0.remarks")), "ok", "optional");
        assert_eq!(outcome(set("steps.0.evaluation", Value::Null)), "ok");
        assert_eq!(outcome(set("endTime", json!(1_711_111_313_941_i64))), "ok");
        assert_eq!(outcome(set("steps.0.score", json!(60))), "ok", "= maxScore");
        assert_eq!(outcome(set("score", json!(0))), "ok");
    }

    #[test]
    fn every_required_field_is_named_when_missing() {
        for field in [
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
        ] {
            assert_eq!(
                outcome(remove(field)),
                format!("参数错误：{field}缺失"),
                "{field}"
            );
            assert_eq!(
                outcome(set(field, Value::Null)),
                format!("参数错误：{field}缺失"),
                "{field} null"
            );
        }
        for field in [
            "seq",
            "title",
            "startTime",
            "endTime",
            "timeUsed",
            "maxScore",
            "score",
            "repeatCount",
        ] {
            assert_eq!(
                outcome(remove(&format!("steps.1.{field}"))),
                format!("参数错误：steps[1].{field}缺失"),
                "{field}"
            );
        }
    }

    #[test]
    fn wrong_types_and_inconsistencies_are_named() {
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(set("username", json!(1))), "username必须是字符串"),
            (Box::new(set("title", json!(" "))), "title不能为空"),
            (Box::new(set("title", json!(["t"]))), "title必须是字符串"),
            (Box::new(set("status", json!("done"))), "status必须是数字"),
            (Box::new(set("status", json!(true))), "status必须是数字"),
            (Box::new(set("score", json!(""))), "score必须是数字"),
            (Box::new(set("score", json!("NaN"))), "score必须是数字"),
            (Box::new(set("startTime", json!({}))), "startTime必须是数字"),
            (Box::new(set("endTime", json!("inf"))), "endTime必须是数字"),
            (Box::new(set("timeUsed", json!([1]))), "timeUsed必须是数字"),
            (Box::new(set("appid", json!(7))), "appid必须是字符串"),
            (Box::new(set("originId", json!(""))), "originId不能为空"),
            (Box::new(set("originId", json!(1))), "originId必须是字符串"),
            (Box::new(set("steps", json!([]))), "steps不能为空"),
            (Box::new(set("steps", json!({"seq": 1}))), "steps必须是数组"),
            (Box::new(set("steps.1", json!(1))), "steps[1]必须是对象"),
            (
                Box::new(set("steps.0.seq", json!("a"))),
                "steps[0].seq必须是数字",
            ),
            (
                Box::new(set("steps.0.title", json!(""))),
                "steps[0].title不能为空",
            ),
            (
                Box::new(set("steps.0.maxScore", json!(null))),
                "steps[0].maxScore缺失",
            ),
            (
                Box::new(set("steps.0.expectTime", json!("soon"))),
                "steps[0].expectTime必须是数字",
            ),
            (
                Box::new(set("steps.0.remarks", json!(1))),
                "steps[0].remarks必须是字符串",
            ),
            (
                Box::new(set("username", json!("u2"))),
                "username与access_token的用户不一致",
            ),
            (
                Box::new(set("appid", json!("other"))),
                "appid与access_token的appid不一致",
            ),
            (
                Box::new(set("endTime", json!(1))),
                "endTime不能早于startTime",
            ),
            (Box::new(set("score", json!(-1))), "score不能为负数"),
            (
                Box::new(set("steps.1.endTime", json!("1"))),
                "steps[1].endTime不能早于startTime",
            ),
            (
                Box::new(set("steps.0.score", json!(61))),
                "steps[0].score不能大于maxScore",
            ),
            (
                Box::new(set("steps.1.score", json!("40.5"))),
                "steps[1].score不能大于maxScore",
            ),
            (
                Box::new(set("steps.0.score", json!(-5))),
                "steps[0].score不能为负数",
            ),
            (
                Box::new(set("steps.0.maxScore", json!(-5))),
                "steps[0].maxScore不能为负数",
            ),
        ];
        for (edit, want) in cases {
            assert_eq!(outcome(edit), format!("参数错误：{want}"));
        }
    }

    #[test]
    fn the_body_must_be_a_json_object() {
        for body in ["", "not json", "[1]", "\"text\"", "null", "{"] {
            let refusal = validate(body.as_bytes(), &holder()).expect_err(body);
            assert_eq!(refusal["code"], 3);
            assert_eq!(refusal["msg"], "参数错误：请求体必须是JSON对象");
        }
    }
}
