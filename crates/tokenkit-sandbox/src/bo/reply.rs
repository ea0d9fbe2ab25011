//! The JSON the bo sandbox answers with (PROTOCOLS.md §3.1): the success shape of the
//! seed, the documented error shape, and the snake_case rewrite of
//! `_nodejs=common-data-under`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A refusal in the seed's error shape. Business errors come with HTTP 200: `success`
/// is authoritative (§3.1), so clients must not rely on the status.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub code: u16,
    pub message: &'static str,
    pub error_code: &'static str,
    pub error_text: String,
}

impl Refusal {
    pub fn new(
        code: u16,
        message: &'static str,
        error_code: &'static str,
        text: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message,
            error_code,
            error_text: text.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "error": {"errorCode": self.error_code, "errorText": self.error_text},
            "success": false,
        })
    }
}

/// The `_nodejs` plugin of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spelling {
    Camel,
    Snake,
}

impl Spelling {
    pub fn from_query(value: Option<&str>) -> Option<Self> {
        match value? {
            "common-data" => Some(Self::Camel),
            "common-data-under" => Some(Self::Snake),
            _ => None,
        }
    }
}

/// `body` as JSON, its keys rewritten for the spelling.
pub(crate) fn respond(spelling: Spelling, body: Value) -> Response {
    let body = match spelling {
        Spelling::Camel => body,
        Spelling::Snake => snake_keys(body),
    };
    Json(body).into_response()
}

fn snake_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (snake(&k), snake_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

/// `mergeUserId` → `merge_user_id`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_snake_case_all_the_way_down() {
        let v = snake_keys(
            json!({"tokenUser": {"mergeUserId": [], "userId": "u"}, "expiresIn": 60,
            "error": {"errorCode": "X"}}),
        );
        assert_eq!(
            v,
            json!({"token_user": {"merge_user_id": [], "user_id": "u"}, "expires_in": 60,
            "error": {"error_code": "X"}})
        );
    }

    #[test]
    fn the_error_shape_of_the_seed() {
        let body = Refusal::new(401, "登录已过期", "REFRESH_TOKEN_INVALID", "used").body();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["errorCode"], "REFRESH_TOKEN_INVALID");
        assert_eq!(body["code"], 401);
    }
}
