//! JWTs whose payload is any bytes: the claims a parser reads from a token are input too.

use proptest::prelude::*;
use serde_json::Value;

use super::{arbitrary_text, mutations};

/// Base64url without padding, as JWTs encode their parts.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A JWT (unverifiable signature) whose payload is `payload`, whatever its bytes.
pub fn jwt_of(payload: &[u8]) -> String {
    format!("eyJhbGciOiJIUzI1NiJ9.{}.c2lnbmF0dXJl", base64url(payload))
}

/// Tokens that look like JWTs with these claims, mutated (see [`mutations`]), plus
/// strings that are no JWT at all: the claims a parser reads from a token are input
/// too.
pub fn jwt_mutations(claims: Value) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        6 => mutations(claims).prop_map(|m| jwt_of(&m.bytes)),
        1 => "[A-Za-z0-9_=+/.-]{0,80}",
        1 => arbitrary_text(),
    ]
}

#[test]
fn base64url_matches_the_known_encodings() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(br#"{"a":1}"#), "eyJhIjoxfQ");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}
