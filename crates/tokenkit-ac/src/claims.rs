//! The claims an ac token carries (PROTOCOLS.md §2.4).
//!
//! Every value is a string on the wire, including `expireTime` (epoch milliseconds);
//! numbers are accepted too. There is no `exp` or `iat`. Claims are read without
//! verification (the client holds no key): they are hints for expiry and display.

use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;
use tokenkit_core::jwt::{self, Claims};
use tokenkit_core::{Token, lenient};

/// The decoded claims of an ac token.
///
/// ```
/// use tokenkit_ac::{AcClaims, AccountStatus};
/// // The token of the renewal seed (`ac-tokens-next.txt`).
/// let seed = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjb21wdXRlVXNlciI6InNsdXJtdGVzdCIsImFjY291bnRTdGF0dXMiOiJUcmlhbCIsImNyZWF0b3IiOiJhYyIsInJvbGUiOiIxIiwiZXhwaXJlVGltZSI6IjE2ODY5MDg1MDkyMzEiLCJjbHVzdGVySWQiOiIxMTExMiIsImludm9rZXIiOiI2MDQ4Y2U3YmExNWMyYWYyZThjZWMxMjk5MWVjMTNjZiIsInVzZXIiOiJzbHVybXRlc3QiLCJ1c2VySWQiOiIxMTY1NTA0ODU0MSJ9.U7pZKgO_K6NuRwOWPxblDfgRpGeVxS-BYieOdLhGDK4";
/// let claims = AcClaims::decode(seed).ok_or("not a JWT")?;
/// assert_eq!(claims.expire_time, Some(1_686_908_509_231));
/// assert_eq!(claims.cluster_id.as_deref(), Some("11112"));
/// assert_eq!(claims.status(), Some(AccountStatus::Trial));
/// # Ok::<(), &'static str>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AcClaims {
    /// `computeUser`: the account on the cluster's compute system.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub compute_user: Option<String>,
    /// `accountStatus`: `Trial`, `Normal`, `Owe` or `Disable`; see [`AcClaims::status`].
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account_status: Option<String>,
    /// `creator`, e.g. `ac`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub creator: Option<String>,
    /// `role`, e.g. `1`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub role: Option<String>,
    /// `expireTime`: when the token expires, epoch **milliseconds** (sent as a string).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub expire_time: Option<i64>,
    /// `clusterId`: the region the token serves; `0` is the platform token.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub cluster_id: Option<String>,
    /// `invoker`: the orgId the token was obtained with.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub invoker: Option<String>,
    /// `user`: the login name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user: Option<String>,
    /// `userId`: the numeric user id (absent in older tokens).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
}

impl AcClaims {
    /// The claims of a raw token, or `None` when it is not a JWT (an opaque token is
    /// still valid) or a claim has an impossible type.
    pub fn decode(raw: &str) -> Option<Self> {
        Self::from_claims(&jwt::decode_claims(raw)?)
    }

    /// The claims kept in a token's metadata, or `None` when it had none.
    pub fn of(token: &Token) -> Option<Self> {
        let claims = &token.metadata().claims;
        if claims.is_empty() {
            return None;
        }
        Self::from_claims(claims)
    }

    fn from_claims(claims: &Claims) -> Option<Self> {
        serde_json::from_value(serde_json::Value::Object(claims.clone())).ok()
    }

    /// `expireTime` as a point in time (on the server's clock): epoch milliseconds as
    /// documented, or seconds if its size says so ([`tokenkit_core::epoch_seconds_or_millis`]).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expire_time
            .and_then(tokenkit_core::epoch_seconds_or_millis)
    }

    /// `accountStatus`, parsed.
    pub fn status(&self) -> Option<AccountStatus> {
        self.account_status.as_deref().map(AccountStatus::parse)
    }
}

/// The account status an ac token states (§2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountStatus {
    /// `Trial`.
    Trial,
    /// `Normal`.
    Normal,
    /// `Owe`: in arrears.
    Owe,
    /// `Disable`: disabled.
    Disable,
    /// A status this crate does not know, as sent.
    Other(String),
}

impl AccountStatus {
    /// Parses a status as the platform writes it (exact, case-sensitive names).
    pub fn parse(s: &str) -> Self {
        match s {
            "Trial" => Self::Trial,
            "Normal" => Self::Normal,
            "Owe" => Self::Owe,
            "Disable" => Self::Disable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The status as the platform writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Trial => "Trial",
            Self::Normal => "Normal",
            Self::Owe => "Owe",
            Self::Disable => "Disable",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token of the example response in `seeds/ac-tokens-next.txt`.
    const SEED_RENEWED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjb21wdXRlVXNlciI6Imhhb3dqIiwiYWNjb3VudFN0YXR1cyI6Ik93ZSIsImNyZWF0b3IiOiJhYyIsInJvbGUiOiIxIiwiZXhwaXJlVGltZSI6IjE2MzQxNzg5ODQ0OTgiLCJjbHVzdGVySWQiOiIxMTEyNiIsImludm9rZXIiOiIyd2VhZGdlcWEiLCJ1c2VyIjoiaGFvd2oifQ.LUOEH3_7GjbdizcRhdPSpUxkg0mza8XM6Bd3_5ZAa-I";

    #[test]
    fn the_seed_response_token_is_an_older_token_without_user_id() {
        let claims = AcClaims::decode(SEED_RENEWED).expect("a JWT");
        assert_eq!(claims.expire_time, Some(1_634_178_984_498));
        assert_eq!(claims.status(), Some(AccountStatus::Owe));
        assert_eq!(claims.cluster_id.as_deref(), Some("11126"));
        assert_eq!(claims.invoker.as_deref(), Some("2weadgeqa"));
        assert_eq!(claims.user.as_deref(), Some("haowj"));
        assert_eq!(claims.compute_user.as_deref(), Some("haowj"));
        assert_eq!(claims.user_id, None);
        assert_eq!(
            tokenkit_core::civil::rfc3339_utc(claims.expires_at().expect("has expireTime")),
            "2021-10-14T02:36:24Z"
        );
    }

    #[test]
    fn numbers_are_accepted_where_strings_are_documented() {
        let claims: AcClaims = serde_json::from_value(serde_json::json!({
            "expireTime": 1_686_908_509_231_i64, "clusterId": 11112, "userId": 11655048541_i64
        }))
        .expect("lenient");
        assert_eq!(claims.expire_time, Some(1_686_908_509_231));
        assert_eq!(claims.cluster_id.as_deref(), Some("11112"));
        assert_eq!(claims.user_id.as_deref(), Some("11655048541"));
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert_eq!(AcClaims::decode("MtP0zZx1gZE66xDnhwd1UV973XoVL4nT"), None);
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["Trial", "Normal", "Owe", "Disable", "Frozen"] {
            assert_eq!(AccountStatus::parse(s).as_str(), s);
        }
        assert_eq!(
            AccountStatus::parse("Frozen"),
            AccountStatus::Other("Frozen".into())
        );
    }
}
