//! The request signature of §1.1 and §1.2:
//! `signature = HEX(MD5(utf8(value + appid + secret)))`, upper-case hex on the platform
//! (`signature编码后需要改成全部大写字母`), lower-case on some white-label clones (§1.3).
//!
//! `value` is the *decoded* ticket (or refresh credential): hashing the percent-encoded
//! form is the classic cause of code 2 (`请注意签名时如有encode参数，均需要decode解码处理`).

use md5::{Digest, Md5};

/// The letter case of the signature's hex digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HexCase {
    /// `6CC426EF…`: what the platform's documents require (the default).
    #[default]
    Upper,
    /// `6cc426ef…`: some white-label clones (§1.3).
    Lower,
}

/// Signs `value` (a decoded ticket, or a refresh credential) for `appid` with `secret`.
///
/// ```
/// use tokenkit_ilab::{HexCase, signature};
/// let sig = signature("ticket", "1681600222748241929", "123456", HexCase::Upper);
/// assert_eq!(sig.len(), 32);
/// assert!(sig.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
/// ```
pub fn signature(value: &str, appid: &str, secret: &str, case: HexCase) -> String {
    let mut hasher = Md5::new();
    hasher.update(value.as_bytes());
    hasher.update(appid.as_bytes());
    hasher.update(secret.as_bytes());
    let digest = hasher.finalize();
    let digits: &[u8; 16] = match case {
        HexCase::Upper => b"0123456789ABCDEF",
        HexCase::Lower => b"0123456789abcdef",
    };
    let mut out = String::with_capacity(32);
    for byte in digest.iter() {
        out.push(char::from(digits[usize::from(byte >> 4)]));
        out.push(char::from(digits[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{APPID, SECRET, SEED_REFRESH_TOKEN, SEED_TICKET};

    /// PROTOCOLS.md §1.1 known-answer vector.
    #[test]
    fn exchange_known_answer_vector() {
        assert_eq!(
            signature(SEED_TICKET, APPID, SECRET, HexCase::Upper),
            "6CC426EF80A31C5E7BDE10F6F5772DE5"
        );
    }

    /// PROTOCOLS.md §1.2 known-answer vector: the signed value is the `refresh_token`
    /// returned by §1.1, not the access token the seed's formula names.
    #[test]
    fn refresh_known_answer_vector() {
        assert_eq!(
            signature(SEED_REFRESH_TOKEN, APPID, SECRET, HexCase::Upper),
            "8DF4809E7E2FE82C0D1BD495940A5D76"
        );
    }

    #[test]
    fn lower_case_hex_for_clones() {
        assert_eq!(
            signature(SEED_TICKET, APPID, SECRET, HexCase::Lower),
            "6cc426ef80a31c5e7bde10f6f5772de5"
        );
    }

    #[test]
    fn hashing_the_encoded_form_gives_another_signature() {
        // Why tickets are decoded exactly once before hashing (§1.1, code 2).
        let decoded = "a+b/c=";
        let encoded = "a%2Bb%2Fc%3D";
        assert_ne!(
            signature(decoded, APPID, SECRET, HexCase::Upper),
            signature(encoded, APPID, SECRET, HexCase::Upper)
        );
    }
}
