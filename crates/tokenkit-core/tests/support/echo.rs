//! A stand-in platform that echoes the request it got — its method and full URL with
//! the query, its headers and its body — back into its answer, as some gateways do:
//! raw, percent-, Base64- or hex-encoded. And the check that no sentinel secret comes
//! out in any of those forms. Shared by the platform crates' tests with
//! `#[path = "../../tokenkit-core/tests/support/echo.rs"] mod echo;`.
//!
//! The encoders here are written out by hand on purpose: the check must not share code
//! with the scrubbing it checks.

#![allow(dead_code)]

use wiremock::{Request, Respond, ResponseTemplate};

/// How the stand-in writes the echoed request into its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As received.
    Raw,
    /// Percent-encoded (every byte but the unreserved ones), as a gateway quoting the
    /// request in a URL does: what the client percent-encoded is encoded twice.
    Percent,
    /// Standard Base64 with padding, of the whole request.
    Base64,
    /// Lower-case hex of the whole request.
    Hex,
}

/// Every encoding, for test matrices.
pub const ENCODINGS: [Encoding; 4] = [
    Encoding::Raw,
    Encoding::Percent,
    Encoding::Base64,
    Encoding::Hex,
];

impl Encoding {
    /// `echoed`, written in this encoding.
    pub fn apply(self, echoed: &str) -> String {
        match self {
            Self::Raw => echoed.to_owned(),
            Self::Percent => percent(echoed.as_bytes(), true),
            Self::Base64 => base64(echoed.as_bytes(), STANDARD, true),
            Self::Hex => hex(echoed.as_bytes(), false),
        }
    }
}

/// The request as text: `METHOD URL`, one `name: value` line per header, a blank line,
/// the body.
pub fn echoed(request: &Request) -> String {
    let mut text = format!("{} {}\n", request.method, request.url);
    for (name, value) in &request.headers {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&request.body));
    text
}

/// An answer around an echo (a refusal message, a detail, an HTML page, …).
pub type Answer = fn(&str) -> ResponseTemplate;

/// A named place for the echo in an answer, for test matrices.
pub type Place = (&'static str, Answer);

/// A responder that answers every request with `answer(encoded echo of the request)`.
pub struct Echo {
    /// How the echo is written.
    pub encoding: Encoding,
    /// The answer around the echo.
    pub answer: Answer,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        (self.answer)(&self.encoding.apply(&echoed(request)))
    }
}

/// Fails the test if any form of any of `sentinels` is in `text`: as is, percent-encoded
/// once or twice (either hex case), hex (either case), or Base64 (either alphabet,
/// alone or inside a larger blob at any alignment, where at least 8 of its characters
/// are its own) — each of the sentinel as written and as it travels in a query string.
pub fn assert_clean(text: &str, sentinels: &[&str], context: &str) {
    for sentinel in sentinels {
        for form in forms(sentinel) {
            assert!(
                !text.contains(&form),
                "{context}: a form ({form}) of a sentinel leaked into: {text}"
            );
        }
    }
}

/// The forms [`assert_clean`] looks for.
pub fn forms(secret: &str) -> Vec<String> {
    let mut variants = vec![secret.as_bytes().to_vec()];
    // In a query string or form body: `+` for a space, `%XX` for the rest.
    variants.push(form_encoded(secret).into_bytes());
    let mut out = Vec::new();
    for variant in &variants {
        let text = String::from_utf8_lossy(variant).into_owned();
        out.push(text.clone());
        for upper in [true, false] {
            let once = percent(variant, upper);
            out.push(percent(once.as_bytes(), upper));
            out.push(once);
            out.push(hex(variant, upper));
        }
        for alphabet in [STANDARD, URL_SAFE] {
            for offset in 0_usize..3 {
                let mut padded = vec![0_u8; offset];
                padded.extend_from_slice(variant);
                let encoded = base64(&padded, alphabet, false);
                let first = (8 * offset).div_ceil(6);
                let last = 8 * (offset + variant.len()) / 6;
                if last >= first + 8 {
                    out.push(encoded[first..last].to_owned());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// `bytes` in hex, upper- or lower-case.
pub fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// `bytes` percent-encoded (all but the unreserved characters), upper- or lower-case.
pub fn percent(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn form_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
