//! The access-key login's signature (PROTOCOLS.md §2.5).

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The signed message: exactly these three keys, in this order.
#[derive(Serialize)]
struct Signed<'a> {
    #[serde(rename = "accessKey")]
    access_key: &'a str,
    timestamp: &'a str,
    user: &'a str,
}

/// `lowercase_hex(HMAC-SHA256(key = secret_key, message))`, where `message` is the
/// compact JSON `{"accessKey":"…","timestamp":"…","user":"…"}`: no spaces, the keys in
/// this order, non-ASCII characters as UTF-8 (serde_json writes them raw, not as `\u`
/// escapes).
///
/// ```
/// let signature = tokenkit_ac::access_key_signature(
///     "4f1c8e2a9b7d46e3a5c0b9d8e7f6a5b4",
///     "85f96a42b13f4d2c8b760d2775bbcca8",
///     "1764597591",
///     "bob",
/// );
/// assert_eq!(signature, "99ba31910461e0163607f5740c3bd432de9bec159400362c85b7cc88fd66fe48");
/// ```
pub fn access_key_signature(
    secret_key: &str,
    access_key: &str,
    timestamp: &str,
    user: &str,
) -> String {
    let message = serde_json::to_vec(&Signed {
        access_key,
        timestamp,
        user,
    })
    .unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&message);
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "4f1c8e2a9b7d46e3a5c0b9d8e7f6a5b4";
    const ACCESS: &str = "85f96a42b13f4d2c8b760d2775bbcca8";

    #[test]
    fn known_answer_vectors() {
        // PROTOCOLS.md §2.5.
        assert_eq!(
            access_key_signature(SECRET, ACCESS, "1764597591", "bob"),
            "99ba31910461e0163607f5740c3bd432de9bec159400362c85b7cc88fd66fe48"
        );
        assert_eq!(
            access_key_signature(SECRET, ACCESS, "1764597591", "张三"),
            "741e56c31e243ef9b6671db7d4b60e2c09dbee0b3bb5bc169eb3a2ce88c07dd6"
        );
    }

    #[test]
    fn the_message_is_compact_ordered_utf8() {
        let message = serde_json::to_string(&Signed {
            access_key: "a",
            timestamp: "1",
            user: "张三",
        })
        .unwrap_or_default();
        assert_eq!(
            message,
            r#"{"accessKey":"a","timestamp":"1","user":"张三"}"#
        );
    }
}
