//! The opaque access tokens of the `open/api/v2` dialect (PROTOCOLS.md §1.3): standard
//! Base64 with padding, never a JWT.
//!
//! Every token contains a `+`, a `/` and ends in `=`, on purpose: a client that puts it
//! into a URL without percent-encoding it exactly once breaks here (an unencoded `+`
//! arrives as a space) as it would on the platform, instead of passing by luck.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Random bytes per token: 32 is not a multiple of 3, so the encoding ends in one `=`.
const TOKEN_BYTES: usize = 32;

/// A fresh opaque token.
pub(crate) fn mint() -> String {
    let mut bytes = [0_u8; TOKEN_BYTES];
    fastrand::fill(&mut bytes);
    let mut chars: Vec<u8> = STANDARD.encode(bytes).into_bytes();
    // Only the character before the padding carries fewer than six bits of data; every
    // earlier one may be any Base64 character, so overwriting two of them keeps the
    // token valid (it decodes to other random bytes). Patching, not re-drawing, always
    // terminates; one adjacent pair guarantees both characters at once.
    let free = chars.len() - 2;
    if !(chars.contains(&b'+') && chars.contains(&b'/')) {
        let at = fastrand::usize(..free - 1);
        chars[at] = b'+';
        chars[at + 1] = b'/';
    }
    String::from_utf8(chars).unwrap_or_else(|_| unreachable!("Base64 is ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_padded_standard_base64_with_plus_and_slash() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let token = mint();
            assert!(token.contains('+') && token.contains('/'), "{token}");
            assert!(token.ends_with('='), "{token}");
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
                "{token}"
            );
            assert_eq!(STANDARD.decode(&token).map(|b| b.len()), Ok(TOKEN_BYTES));
            assert!(seen.insert(token), "tokens are not repeated");
        }
    }
}
