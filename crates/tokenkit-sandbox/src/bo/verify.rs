//! The sandbox's side of `XverifyApi` (PROTOCOLS.md §3.2): decrypt with the configured
//! DES key and IV, check the plaintext against the template, the timestamp against the
//! clock (5 minutes), and the guid against every guid seen before (replay).
//!
//! Written independently of the client crate (the sandbox depends on the core only), so
//! a round trip between the two is a real check of the contract.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};

/// Why a header was refused; each maps to an `errorCode` of the error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not Base64/hex, not whole DES blocks, wrong key or IV (bad padding), not UTF-8.
    Decrypt,
    /// The plaintext does not have the template's shape.
    Shape(String),
    /// The timestamp is more than the allowed skew away from the sandbox's clock.
    Stale,
    /// The guid was used before.
    Replay,
}

impl VerifyError {
    /// The `errorCode` the sandbox sends.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Decrypt => "VERIFY_DECRYPT",
            Self::Shape(_) => "VERIFY_SHAPE",
            Self::Stale => "VERIFY_STALE",
            Self::Replay => "VERIFY_REPLAY",
        }
    }

    /// The `errorText` the sandbox sends.
    pub fn text(&self) -> String {
        match self {
            Self::Decrypt => {
                "XverifyApi cannot be decrypted with the project's DES key and IV".into()
            }
            Self::Shape(why) => format!("XverifyApi plaintext does not match the template: {why}"),
            Self::Stale => "XverifyApi timestamp is more than 5 minutes off".into(),
            Self::Replay => "XverifyApi guid was used before".into(),
        }
    }
}

/// Decrypts an `XverifyApi` value (standard Base64, or hex of either case) with DES-CBC
/// and PKCS#7. `None` when it cannot be decrypted to UTF-8.
///
/// ```
/// let plain = tokenkit_sandbox::bo::decrypt_verify_header(
///     b"12345678",
///     b"12345678",
///     "up/vqMd1Eq464xYiDqiyn9dsxYbWK5AHp5yXXWgWpSpr/Fz43RtCL6DxcfyE5rshMCGVT7gtJI0=",
/// );
/// assert_eq!(plain.as_deref(), Some("00000000-0000-4000-8000-000000000000|1614246960367"));
/// ```
pub fn decrypt_verify_header(key: &[u8], iv: &[u8], header: &str) -> Option<String> {
    let header = header.trim();
    let hex = header.len().is_multiple_of(16) && header.bytes().all(|b| b.is_ascii_hexdigit());
    let ciphertext = if hex {
        decode_hex(header)?
    } else {
        STANDARD.decode(header).ok()?
    };
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(8) {
        return None;
    }
    let cipher = cbc::Decryptor::<des::Des>::new_from_slices(key, iv).ok()?;
    let mut buffer = ciphertext;
    let plain = cipher.decrypt_padded::<Pkcs7>(&mut buffer).ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What the request said, for the placeholders that must match it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    pub owner_id: &'a str,
    pub refresh_token: &'a str,
    pub now_ms: i64,
    pub max_skew_ms: i64,
}

/// The values a plaintext carried.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    pub guid: Option<String>,
}

/// Checks `plaintext` against `template` (`{guid}`, `{timestamp}`, `{ownerId}`,
/// `{refreshToken}` between literal text).
pub(crate) fn check_plaintext(
    template: &str,
    plaintext: &str,
    expected: Expected<'_>,
) -> Result<Carried, VerifyError> {
    let shape = |why: &str| VerifyError::Shape(why.to_owned());
    let mut carried = Carried::default();
    let pieces = split_template(template);
    let mut rest = plaintext;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(lit) => {
                rest = rest
                    .strip_prefix(lit.as_str())
                    .ok_or_else(|| shape("literal text differs"))?;
            }
            Piece::Placeholder(name) => {
                // A placeholder runs to the next literal (or the end).
                let end = match pieces.get(i + 1) {
                    Some(Piece::Literal(next)) => rest
                        .find(next.as_str())
                        .ok_or_else(|| shape("separator missing"))?,
                    _ => rest.len(),
                };
                let (value, after) = rest.split_at(end);
                rest = after;
                match name.as_str() {
                    "guid" => {
                        let parsed = uuid::Uuid::parse_str(value)
                            .map_err(|_| shape("guid is not a UUID"))?;
                        if parsed.hyphenated().to_string() != value {
                            return Err(shape("guid is not lower-case hyphenated"));
                        }
                        carried.guid = Some(value.to_owned());
                    }
                    "timestamp" => {
                        let ms: i64 = value
                            .parse()
                            .map_err(|_| shape("timestamp is not epoch milliseconds"))?;
                        if (ms - expected.now_ms).abs() > expected.max_skew_ms {
                            return Err(VerifyError::Stale);
                        }
                    }
                    "ownerId" if value != expected.owner_id => {
                        return Err(shape("ownerId differs from XownerId"));
                    }
                    "refreshToken" if value != expected.refresh_token => {
                        return Err(shape("refreshToken differs from the query"));
                    }
                    _ => {}
                }
            }
        }
    }
    if !rest.is_empty() {
        return Err(shape("trailing text"));
    }
    Ok(carried)
}

#[derive(Debug, PartialEq)]
enum Piece {
    Literal(String),
    Placeholder(String),
}

fn split_template(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Literal(rest[..open].to_owned()));
        }
        pieces.push(Piece::Placeholder(rest[open + 1..open + close].to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_owned()));
    }
    pieces
}

/// Guids seen within the replay window (twice the allowed skew: an older guid would be
/// refused as stale anyway).
#[derive(Debug, Default)]
pub(crate) struct SeenGuids {
    seen: HashMap<String, i64>,
}

impl SeenGuids {
    /// Records `guid` at `now_ms`; `false` if it was seen before.
    pub fn first_use(&mut self, guid: &str, now_ms: i64, window_ms: i64) -> bool {
        self.seen.retain(|_, at| now_ms - *at <= window_ms);
        self.seen.insert(guid.to_owned(), now_ms).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "00000000-0000-4000-8000-000000000000";

    fn expected(now_ms: i64) -> Expected<'static> {
        Expected {
            owner_id: "o",
            refresh_token: "r",
            now_ms,
            max_skew_ms: 300_000,
        }
    }

    #[test]
    fn known_answer_vector_in_both_encodings() {
        let want = Some(format!("{GUID}|1614246960367"));
        let b64 = "up/vqMd1Eq464xYiDqiyn9dsxYbWK5AHp5yXXWgWpSpr/Fz43RtCL6DxcfyE5rshMCGVT7gtJI0=";
        let hex = "BA9FEFA8C77512AE3AE316220EA8B29FD76CC586D62B9007A79C975D6816A52A6BFC5CF8DD1B422FA0F171FC84E6BB213021954FB82D248D";
        assert_eq!(decrypt_verify_header(b"12345678", b"12345678", b64), want);
        assert_eq!(decrypt_verify_header(b"12345678", b"12345678", hex), want);
        assert_eq!(
            decrypt_verify_header(b"12345678", b"12345678", &hex.to_lowercase()),
            want
        );
        assert_ne!(decrypt_verify_header(b"87654321", b"12345678", b64), want);
        for bad in ["", "!!!", "AAAA", "up/vqMd1Eq46"] {
            assert_eq!(
                decrypt_verify_header(b"12345678", b"12345678", bad),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn template_shapes() {
        let now = 1_614_246_960_367;
        let ok = check_plaintext(
            "{guid}|{timestamp}",
            &format!("{GUID}|{now}"),
            expected(now),
        )
        .expect("ok");
        assert_eq!(ok.guid.as_deref(), Some(GUID));
        for (plain, want) in [
            (format!("{GUID}|{}", now - 300_001), VerifyError::Stale),
            (format!("{GUID}|{}", now + 300_001), VerifyError::Stale),
            (
                format!("{GUID}-{now}"),
                VerifyError::Shape("separator missing".into()),
            ),
            (
                format!("{}|{now}", "A0000000-0000-4000-8000-00000000000B"),
                VerifyError::Shape("guid is not lower-case hyphenated".into()),
            ),
            (
                format!("nope|{now}"),
                VerifyError::Shape("guid is not a UUID".into()),
            ),
            (
                format!("{GUID}|soon"),
                VerifyError::Shape("timestamp is not epoch milliseconds".into()),
            ),
        ] {
            assert_eq!(
                check_plaintext("{guid}|{timestamp}", &plain, expected(now)).err(),
                Some(want),
                "{plain}"
            );
        }
        let t = "{ownerId}:{guid}|{timestamp}|{refreshToken}";
        assert!(check_plaintext(t, &format!("o:{GUID}|{now}|r"), expected(now)).is_ok());
        assert!(check_plaintext(t, &format!("x:{GUID}|{now}|r"), expected(now)).is_err());
        assert!(check_plaintext(t, &format!("o:{GUID}|{now}|x"), expected(now)).is_err());
    }

    #[test]
    fn guids_are_single_use_within_the_window() {
        let mut seen = SeenGuids::default();
        assert!(seen.first_use(GUID, 0, 600_000));
        assert!(!seen.first_use(GUID, 1, 600_000));
        assert!(
            seen.first_use(GUID, 700_000, 600_000),
            "forgotten after the window"
        );
    }
}
