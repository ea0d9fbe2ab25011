//! Result reporting (PROTOCOLS.md §1.4): `POST /open/api/v2/data_upload?access_token=…`
//! and the records it keeps, which `GET /_sandbox/ilab/records` lists.
//!
//! Checks in the platform's order: the token first (code 1 missing, code 2 refused),
//! then the body (code 3, naming the field). The body check is deliberately minimal:
//! what the record is keyed by and whose it is.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use serde_json::{Map, Value, json};

use super::Ilab;
use super::access::authenticate;
use super::mint::error;
use super::params::Params;

/// (appid, username, originId): the platform keeps one record per `originId` of an
/// experiment's user, so a client's retry of a timed-out upload replaces, not doubles.
type RecordKey = (String, String, String);

/// The stored records, in the order they were first uploaded.
#[derive(Debug, Default)]
pub(crate) struct Records {
    // A vector, not a map: the admin listing keeps upload order, and a sandbox holds a
    // handful of records, so the linear search costs nothing.
    stored: Vec<(RecordKey, Value)>,
}

impl Records {
    /// Stores `body` under `key`, replacing an earlier upload of the same record.
    fn put(&mut self, key: RecordKey, body: Value) {
        match self.stored.iter_mut().find(|(k, _)| *k == key) {
            Some((_, stored)) => *stored = body,
            None => self.stored.push((key, body)),
        }
    }

    fn all(&self) -> Vec<Value> {
        self.stored.iter().map(|(_, body)| body.clone()).collect()
    }
}

/// `POST /open/api/v2/data_upload`.
pub(crate) async fn data_upload(
    State(ilab): State<Ilab>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Json<Value> {
    // The token is in the query, decoded once as a servlet container would (`+` is a
    // space); the body is JSON and is not read as a form.
    let params = Params::parse(query.as_deref(), b"");
    let holder = match authenticate(&ilab, params.get("access_token")) {
        Ok(holder) => holder,
        Err(refusal) => return Json(refusal),
    };
    let record = match parse_record(&body, &holder.un) {
        Ok(record) => record,
        Err(refusal) => return Json(refusal),
    };
    let origin_id = text(&record, "originId").unwrap_or_default().to_owned();
    let key = (holder.appid, holder.un, origin_id);
    ilab.lock().records.put(key, Value::Object(record));
    Json(json!({"code": 0, "msg": "上传成功"}))
}

/// `GET /_sandbox/ilab/records`.
pub(crate) async fn list_records(State(ilab): State<Ilab>) -> Json<Value> {
    Json(json!({"records": ilab.lock().records.all()}))
}

fn text<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    record
        .get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// The body as a JSON object with the fields a record cannot do without, uploaded by
/// the token's own user.
fn parse_record(body: &[u8], un: &str) -> Result<Map<String, Value>, Value> {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(3, "参数错误：请求体必须是JSON对象"));
    };
    for field in ["username", "title", "originId"] {
        if text(&record, field).is_none() {
            return Err(error(3, &format!("参数错误：{field}缺失或为空")));
        }
    }
    if text(&record, "username") != Some(un) {
        return Err(error(3, "参数错误：username与access_token的用户不一致"));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_record_is_kept_once() {
        let mut records = Records::default();
        let key = |origin: &str| ("app".to_owned(), "u".to_owned(), origin.to_owned());
        records.put(key("r1"), json!({"score": 1}));
        records.put(key("r2"), json!({"score": 2}));
        records.put(key("r1"), json!({"score": 3}));
        assert_eq!(records.all(), [json!({"score": 3}), json!({"score": 2})]);
    }

    #[test]
    fn the_body_names_what_is_missing() {
        let msg = |body: &str| match parse_record(body.as_bytes(), "u") {
            Ok(_) => "ok".to_owned(),
            Err(e) => {
                assert_eq!(e["code"], 3);
                e["msg"].as_str().unwrap_or_default().to_owned()
            }
        };
        assert_eq!(msg(r#"{"username":"u","title":"t","originId":"o"}"#), "ok");
        assert!(msg(r#"{"title":"t","originId":"o"}"#).contains("username"));
        assert!(msg(r#"{"username":"u","originId":"o"}"#).contains("title"));
        assert!(msg(r#"{"username":"u","title":"t","originId":" "}"#).contains("originId"));
        assert!(msg(r#"{"username":"u","title":"t","originId":1}"#).contains("originId"));
        assert!(msg(r#"{"username":"v","title":"t","originId":"o"}"#).contains("username"));
        assert!(msg("[1]").contains("JSON"));
        assert!(msg("not json").contains("JSON"));
    }
}
