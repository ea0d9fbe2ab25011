//! Result reporting (PROTOCOLS.md §1.4): `POST /open/api/v2/data_upload?access_token=…`
//! and the records it keeps, which `data_get` reads back and `GET /_sandbox/ilab/records`
//! lists.
//!
//! Checks in the platform's order: the token first (code 1 missing, code 2 refused),
//! then the body (code 3, naming the field: `validate.rs`). Every answer is counted as
//! an outcome besides the request itself: [`UPLOADS_STORED`] (a
//! new record), [`UPLOADS_REPLACED`] (an `originId` sent
//! again) or [`UPLOADS_REFUSED`] (any non-zero code).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::access::authenticate;
use super::validate::validate;
use super::{Ilab, UPLOADS_REFUSED, UPLOADS_REPLACED, UPLOADS_STORED};
use crate::params::Params;

/// (appid, username, originId): the platform keeps one record per `originId` of an
/// experiment's user, so a client's retry of a timed-out upload replaces, not doubles.
type RecordKey = (String, String, String);

/// What [`Records::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Put {
    /// A record not seen before.
    Stored,
    /// An earlier upload of the same record, now replaced.
    Replaced,
}

/// The stored records, in the order they were first uploaded.
#[derive(Debug, Default)]
pub(crate) struct Records {
    // A vector, not a map: the listings keep upload order, and a sandbox holds a
    // handful of records, so the linear search costs nothing. Each record names the
    // grant whose token uploaded it last (the console shows it in that session).
    stored: Vec<(RecordKey, Value, String)>,
}

impl Records {
    /// Stores `body` under `key`, replacing an earlier upload of the same record in
    /// its place (a replaced record keeps its position in upload order).
    fn put(&mut self, key: RecordKey, body: Value, grant: &str) -> Put {
        match self.stored.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, stored, by)) => {
                *stored = body;
                grant.clone_into(by);
                Put::Replaced
            }
            None => {
                self.stored.push((key, body, grant.to_owned()));
                Put::Stored
            }
        }
    }

    fn all(&self) -> Vec<Value> {
        self.stored
            .iter()
            .map(|(_, body, _)| body.clone())
            .collect()
    }

    /// The records last uploaded with a token of `grant`, in upload order.
    pub(crate) fn of_grant(&self, grant: &str) -> Vec<Value> {
        self.stored
            .iter()
            .filter(|(_, _, by)| by == grant)
            .map(|(_, body, _)| body.clone())
            .collect()
    }

    /// The records of user `un` for experiment `appid`, in upload order.
    pub(crate) fn of(&self, appid: &str, un: &str) -> Vec<Value> {
        self.stored
            .iter()
            .filter(|((a, u, _), _, _)| a == appid && u == un)
            .map(|(_, body, _)| body.clone())
            .collect()
    }
}

/// `POST /open/api/v2/data_upload` (and its configured aliases).
pub(crate) async fn data_upload(
    State(ilab): State<Ilab>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Json<Value> {
    // The token is in the query, decoded once as a servlet container would (`+` is a
    // space); the body is JSON and is not read as a form.
    let params = Params::parse(query.as_deref(), b"");
    let stall = match store(&ilab, params.get("access_token"), &body) {
        Ok((put, stall)) => {
            ilab.stats.record_outcome(match put {
                Put::Stored => UPLOADS_STORED,
                Put::Replaced => UPLOADS_REPLACED,
            });
            stall
        }
        Err(refusal) => {
            ilab.stats.record_outcome(UPLOADS_REFUSED);
            return Json(refusal);
        }
    };
    // Stored and counted already: a client that gives up during the stall has had its
    // record taken, which is the point of the fault (`stall.rs`).
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    Json(json!({"code": 0, "msg": "上传成功"}))
}

/// Checks the token and the body and stores the record; also takes the stall owed to
/// it, under the same lock, so exactly the next N stored uploads are stalled.
fn store(
    ilab: &Ilab,
    token: Option<&str>,
    body: &[u8],
) -> Result<(Put, Option<std::time::Duration>), Value> {
    let holder = authenticate(ilab, token)?;
    let record = validate(body, &holder)?;
    let key = (holder.appid, holder.un, record.origin_id);
    let mut state = ilab.lock();
    let put = state
        .records
        .put(key, Value::Object(record.body), &holder.grant);
    Ok((put, state.stall.take()))
}

/// `GET /_sandbox/ilab/records`.
pub(crate) async fn list_records(State(ilab): State<Ilab>) -> Json<Value> {
    Json(json!({"records": ilab.lock().records.all()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_record_is_kept_once_in_its_place() {
        let mut records = Records::default();
        let key = |un: &str, origin: &str| ("app".to_owned(), un.to_owned(), origin.to_owned());
        assert_eq!(
            records.put(key("u", "r1"), json!({"score": 1}), "g"),
            Put::Stored
        );
        assert_eq!(
            records.put(key("u", "r2"), json!({"score": 2}), "g"),
            Put::Stored
        );
        assert_eq!(
            records.put(key("v", "r1"), json!({"score": 4}), "g"),
            Put::Stored
        );
        assert_eq!(
            records.put(key("u", "r1"), json!({"score": 3}), "g"),
            Put::Replaced
        );
        assert_eq!(
            records.all(),
            [
                json!({"score": 3}),
                json!({"score": 2}),
                json!({"score": 4})
            ]
        );
        assert_eq!(
            records.of("app", "u"),
            [json!({"score": 3}), json!({"score": 2})]
        );
        assert!(records.of("other", "u").is_empty());
    }
}
