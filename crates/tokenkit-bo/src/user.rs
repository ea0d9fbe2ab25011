//! `tokenUser`: who a bo token belongs to (PROTOCOLS.md §3.1).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tokenkit_core::Token;
use tokenkit_core::lenient;

/// The key under which the user is kept in [`tokenkit_core::Metadata::extra`].
pub(crate) const EXTRA_KEY: &str = "tokenUser";

/// The `tokenUser` object of a refresh response. Accepts the camelCase
/// (`_nodejs=common-data`) and snake_case (`common-data-under`) spellings; numbers and
/// strings interchangeably; `null` lists as empty.
///
/// ```
/// let user: tokenkit_bo::TokenUser = serde_json::from_str(
///     r#"{"user_id": "ptdev", "push_name": "开发管理员", "role_id": ["development"], "developer": "1"}"#,
/// ).unwrap();
/// assert_eq!(user.user_id.as_deref(), Some("ptdev"));
/// assert_eq!(user.developer, Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenUser {
    /// `clientId`.
    #[serde(default, alias = "client_id", deserialize_with = "lenient::opt_string")]
    pub client_id: Option<String>,
    /// `userId`: the platform user id.
    #[serde(default, alias = "user_id", deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    /// `userName`: the login name.
    #[serde(default, alias = "user_name", deserialize_with = "lenient::opt_string")]
    pub user_name: Option<String>,
    /// `pushName`: the display name (often Chinese).
    #[serde(default, alias = "push_name", deserialize_with = "lenient::opt_string")]
    pub push_name: Option<String>,
    /// `roleId`.
    #[serde(default, alias = "role_id", deserialize_with = "string_list")]
    pub role_id: Vec<String>,
    /// `depId`: departments.
    #[serde(default, alias = "dep_id", deserialize_with = "string_list")]
    pub dep_id: Vec<String>,
    /// `areaCode`: administrative areas.
    #[serde(default, alias = "area_code", deserialize_with = "string_list")]
    pub area_code: Vec<String>,
    /// `jobId`.
    #[serde(default, alias = "job_id", deserialize_with = "string_list")]
    pub job_id: Vec<String>,
    /// `sysId`: systems.
    #[serde(default, alias = "sys_id", deserialize_with = "string_list")]
    pub sys_id: Vec<String>,
    /// `mergeUserId`.
    #[serde(default, alias = "merge_user_id", deserialize_with = "string_list")]
    pub merge_user_id: Vec<String>,
    /// `developer` (1 for developers).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub developer: Option<i64>,
}

impl TokenUser {
    /// The user a bo [`Token`] was issued for, when the response said.
    pub fn of(token: &Token) -> Option<TokenUser> {
        serde_json::from_value(token.metadata().extra.get(EXTRA_KEY)?.clone()).ok()
    }
}

/// A list that may arrive as an array (of strings or numbers), a comma-separated string
/// (as in the JWT claims: `"role_id": "development"`), or `null`.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| {
                lenient::value_as_string(v)
                    .ok_or_else(|| D::Error::custom("expected a list of strings"))
            })
            .collect(),
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(D::Error::custom("expected a list of strings")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_user_in_both_spellings() {
        let camel = json!({"clientId": "ptdev", "userId": "ptdev", "userName": "dev",
            "pushName": "开发管理员", "roleId": ["development"], "depId": [], "areaCode": [],
            "jobId": [], "sysId": [], "mergeUserId": [], "developer": 1});
        let snake = json!({"client_id": "ptdev", "user_id": "ptdev", "user_name": "dev",
            "push_name": "开发管理员", "role_id": ["development"], "dep_id": [], "area_code": [],
            "job_id": [], "sys_id": [], "merge_user_id": [], "developer": "1"});
        let a: TokenUser = serde_json::from_value(camel).expect("camel");
        let b: TokenUser = serde_json::from_value(snake).expect("snake");
        assert_eq!(a, b);
        assert_eq!(a.push_name.as_deref(), Some("开发管理员"));
        assert_eq!(a.role_id, vec!["development"]);
        assert_eq!(a.developer, Some(1));
    }

    #[test]
    fn lists_are_lenient_and_wrong_types_are_errors() {
        let u: TokenUser = serde_json::from_value(
            json!({"roleId": "a, b", "depId": null, "areaCode": [110000, "120000"], "jobId": 7}),
        )
        .expect("lenient");
        assert_eq!(u.role_id, vec!["a", "b"]);
        assert!(u.dep_id.is_empty());
        assert_eq!(u.area_code, vec!["110000", "120000"]);
        assert_eq!(u.job_id, vec!["7"]);
        assert!(serde_json::from_value::<TokenUser>(json!({"roleId": {"x": 1}})).is_err());
        assert!(serde_json::from_value::<TokenUser>(json!({"roleId": [[1]]})).is_err());
    }
}
