//! HS256 JWT minting for sandbox tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Signs `claims` as an HS256 JWT with `key`.
///
/// ```
/// let token = tokenkit_sandbox::jwt::mint_hs256(b"k", &serde_json::json!({"un": "alice"}));
/// assert_eq!(token.split('.').count(), 3);
/// ```
pub fn mint_hs256(key: &[u8], claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Checks the signature of a token minted by [`mint_hs256`]; returns its claims.
pub fn verify_hs256(key: &[u8], token: &str) -> Option<Value> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).ok()?;
    let payload = signing_input.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn sign(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minted_tokens_verify_and_decode_with_the_core() {
        let token = mint_hs256(b"key", &json!({"exp": 1, "un": "u"}));
        assert_eq!(
            verify_hs256(b"key", &token),
            Some(json!({"exp": 1, "un": "u"}))
        );
        assert_eq!(verify_hs256(b"other", &token), None);
        let claims = tokenkit_core::jwt::decode_claims(&token).expect("a JWT");
        assert_eq!(claims["un"], "u");
    }

    #[test]
    fn known_hs256_vector() {
        // RFC 7515-style check: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
        let mac = sign(b"key", b"The quick brown fox jumps over the lazy dog");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
