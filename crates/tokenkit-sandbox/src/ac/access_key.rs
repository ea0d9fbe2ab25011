//! The access-key login `POST /api/user/v3/tokens` (PROTOCOLS.md §2.5): the
//! platform's recommended login, signed with HMAC-SHA256 instead of sending a password.
//!
//! The route's contract (headers, the order of its checks and their refusals) is in
//! the [`ac`](super) module's docs; this file holds the key type, the signature check
//! and the handler.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::handlers::{AcState, header, incomplete, refuse};

/// The access-key login route (§2.5), served by the platform's auth host.
pub const AK_TOKENS_PATH: &str = "/api/user/v3/tokens";

/// An access key of the emulated platform: what the platform's console issues to a
/// user for the access-key login.
#[derive(Clone, PartialEq, Eq)]
pub struct AcAccessKey {
    /// The account it belongs to (header `user`): must name one of
    /// [`AcConfig::users`](super::AcConfig::users), whose claims the tokens carry.
    pub user: String,
    /// The public half (header `accessKey`).
    pub access_key: String,
    /// The HMAC key of the signature; never sent.
    pub secret_key: String,
}

impl AcAccessKey {
    /// The access key `access_key` of `user`, signing with `secret_key`.
    ///
    /// ```
    /// let key = tokenkit_sandbox::ac::AcAccessKey::new("demo", "demo-access-key", "demo-secret-key");
    /// assert_eq!(key.user, "demo");
    /// assert!(!format!("{key:?}").contains("demo-secret-key"));
    /// ```
    pub fn new(
        user: impl Into<String>,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        Self {
            user: user.into(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }
}

impl std::fmt::Debug for AcAccessKey {
    // The secret stays out of logs and panic messages that print a config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcAccessKey")
            .field("user", &self.user)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The signed message: compact JSON with exactly these keys in this order. Built by
/// hand rather than from a `serde_json::Map`, whose key order depends on a crate
/// feature; each value is escaped by serde_json, which leaves non-ASCII as UTF-8.
fn message(access_key: &str, timestamp: &str, user: &str) -> String {
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    format!(
        "{{\"accessKey\":{},\"timestamp\":{},\"user\":{}}}",
        quote(access_key),
        quote(timestamp),
        quote(user)
    )
}

/// Whether `signature` is the lower-case hex HMAC-SHA256 of the message under
/// `secret_key`. The comparison is constant-time (`Mac::verify_slice`); upper-case hex
/// is refused, as the documents name lower case.
pub(crate) fn verify_signature(
    secret_key: &str,
    access_key: &str,
    timestamp: &str,
    user: &str,
    signature: &str,
) -> bool {
    let Some(tag) = decode_lower_hex(signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()) else {
        return false;
    };
    mac.update(message(access_key, timestamp, user).as_bytes());
    mac.verify_slice(&tag).is_ok()
}

fn decode_lower_hex(hex: &str) -> Option<Vec<u8>> {
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = hex.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// `POST /api/user/v3/tokens`.
pub(crate) async fn login(State(state): State<Arc<AcState>>, headers: HeaderMap) -> Json<Value> {
    let (Some(user), Some(access_key), Some(timestamp), Some(signature)) = (
        header(&headers, "user"),
        header(&headers, "accessKey"),
        header(&headers, "timestamp"),
        header(&headers, "signature"),
    ) else {
        return incomplete();
    };
    let config = &state.config;
    let key = config
        .access_keys
        .iter()
        .find(|k| k.access_key == access_key && k.user == user);
    let Some((key, account)) =
        key.and_then(|k| Some((k, config.users.iter().find(|u| u.user == k.user)?)))
    else {
        return refuse("10004", "参数无效：accessKey或user错误");
    };
    // Digits only: `+5`, `-5` or `5.0` are not what a client's clock produces.
    let seconds = Some(timestamp)
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok());
    let Some(seconds) = seconds else {
        return refuse("10004", "参数无效：timestamp格式错误");
    };
    let now_s = state.platform_clock().now_ms().div_euclid(1000);
    let skew = config.max_timestamp_skew.as_secs();
    if seconds.abs_diff(now_s) > skew {
        return refuse(
            "10004",
            &format!("参数无效：timestamp {timestamp} 与服务器时间相差超过{skew}秒"),
        );
    }
    if !verify_signature(&key.secret_key, access_key, timestamp, user, signature) {
        // Neither the presented signature nor the expected one is logged: both are
        // credentials for this timestamp.
        tracing::debug!("ac sandbox refused an access-key login: bad signature");
        return refuse("10004", "参数无效：签名错误");
    }
    state.regions(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "4f1c8e2a9b7d46e3a5c0b9d8e7f6a5b4";
    const ACCESS_KEY: &str = "85f96a42b13f4d2c8b760d2775bbcca8";
    const TIMESTAMP: &str = "1764597591";

    #[test]
    fn the_message_is_compact_json_with_raw_utf8() {
        assert_eq!(
            message(ACCESS_KEY, TIMESTAMP, "张三"),
            r#"{"accessKey":"85f96a42b13f4d2c8b760d2775bbcca8","timestamp":"1764597591","user":"张三"}"#
        );
        assert_eq!(
            message("a\"b", "1", "c"),
            r#"{"accessKey":"a\"b","timestamp":"1","user":"c"}"#
        );
    }

    #[test]
    fn the_verifier_accepts_both_known_answer_vectors() {
        for (user, signature) in [
            (
                "bob",
                "99ba31910461e0163607f5740c3bd432de9bec159400362c85b7cc88fd66fe48",
            ),
            (
                "张三",
                "741e56c31e243ef9b6671db7d4b60e2c09dbee0b3bb5bc169eb3a2ce88c07dd6",
            ),
        ] {
            assert!(
                verify_signature(SECRET, ACCESS_KEY, TIMESTAMP, user, signature),
                "{user}"
            );
            assert!(!verify_signature(
                SECRET,
                ACCESS_KEY,
                "1764597592",
                user,
                signature
            ));
            assert!(
                !verify_signature(
                    SECRET,
                    ACCESS_KEY,
                    TIMESTAMP,
                    user,
                    &signature.to_uppercase()
                ),
                "lower-case hex only"
            );
            assert!(!verify_signature(
                SECRET,
                ACCESS_KEY,
                TIMESTAMP,
                user,
                &signature[..62]
            ));
        }
        assert!(!verify_signature(
            SECRET, ACCESS_KEY, TIMESTAMP, "bob", "not hex"
        ));
        assert!(!verify_signature(SECRET, ACCESS_KEY, TIMESTAMP, "bob", ""));
    }
}
