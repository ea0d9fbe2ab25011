//! Scrubbing the exact secrets a client sent from what a platform says back: one
//! matcher for the textual forms of a secret (as it is, percent-encoded, JSON-escaped,
//! in any mix), and fixed strings for its hex and Base64 forms.

use std::borrow::Cow;
use std::cmp::Reverse;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use zeroize::Zeroizing;

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// A gateway quoting an already percent-encoded URL in a query parameter encodes it
/// again (`%2B` → `%252B`); this many layers are undone.
pub const PERCENT_LAYERS: usize = 3;

/// Inside a larger Base64 blob a secret shows only the characters its own bits
/// determine; fewer than this many are too few to tell from innocent text.
pub const MIN_BLOB_INTERIOR: usize = 8;

/// Replaces every occurrence of each of `secrets` in `text` with `[redacted]`.
///
/// A platform (or a gateway before it) may echo the request it got: quote its URL in
/// a message, copy a header into a detail, Base64-encode the whole request into a
/// field. The client knows exactly what it sent, so it looks for exactly that, in
/// every form it takes on the wire and in such echoes:
///
/// - the characters of the secret, each as it is, percent-encoded (either hex case,
///   once or nested up to [`PERCENT_LAYERS`] times, `+` for a space) or JSON-escaped
///   (`\/`, `\"`, `\u00e9`), in any mix;
/// - hex (either case) of the secret, and of the secret as a query string carries it;
/// - Base64, standard and URL-safe alphabets, padded or not, of the same two; and the
///   characters that only the secret's bytes determine inside a larger Base64 blob, at
///   each of the three byte alignments, when there are at least
///   [`MIN_BLOB_INTERIOR`] of them.
///
/// A secret shorter than [`SHORT_SECRET`] bytes is taken out only where it stands as a
/// word of its own; empty secrets are ignored; nothing is taken out of a `[redacted]`
/// already there. It runs on error paths: thorough rather than fast, but one pass over
/// the text per form, without backtracking.
///
/// ```
/// let text = "bad token a+b/c= in /api?access_token=a%2Bb%2Fc%3D, or YStiL2M9";
/// assert_eq!(
///     tokenkit_core::scrub(text, &["a+b/c="]),
///     "bad token [redacted] in /api?access_token=[redacted], or [redacted]"
/// );
/// ```
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut patterns: Vec<Pattern<'_>> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| patterns(s))
        .collect();
    // Longest first: a secret that contains another must go whole, not leave the part
    // around the shorter one behind.
    patterns.sort_by_key(|p| Reverse(p.len()));
    let mut out = Cow::Borrowed(text);
    for pattern in &patterns {
        if let Some(replaced) = pattern.replace_in(&out) {
            out = Cow::Owned(replaced);
        }
    }
    out.into_owned()
}

/// The longest text one secret of `len` bytes can take in any form: a byte
/// percent-encoded [`PERCENT_LAYERS`] times is `%` + `25` per further layer + two
/// digits. Callers that cut a text use it to leave no secret cut in half.
pub(crate) fn longest_form(len: usize) -> usize {
    len * (1 + 2 * PERCENT_LAYERS)
}

/// One thing to look for.
struct Pattern<'a> {
    form: Form<'a>,
    /// Only where it is not part of a longer alphanumeric run: see [`SHORT_SECRET`].
    whole_word: bool,
}

/// What a pattern matches.
enum Form<'a> {
    /// The secret's characters, each in any of its textual forms.
    Text(&'a str),
    /// An exact string (a Base64 form).
    Exact(Zeroizing<String>),
    /// Hex digits, in either letter case.
    Hex(Zeroizing<String>),
}

impl Pattern<'_> {
    /// The shortest text it matches.
    fn len(&self) -> usize {
        match &self.form {
            Form::Text(secret) => secret.len(),
            Form::Exact(form) | Form::Hex(form) => form.len(),
        }
    }

    /// `text` with every match replaced, or `None` when nothing matched.
    fn replace_in(&self, text: &str) -> Option<String> {
        let fixed = |form: &str, bytes: &[u8], at: usize, any_case: bool| {
            let end = at + form.len();
            let candidate = bytes.get(at..end)?;
            let equal = if any_case {
                candidate.eq_ignore_ascii_case(form.as_bytes())
            } else {
                candidate == form.as_bytes()
            };
            equal.then_some(end)
        };
        match &self.form {
            Form::Exact(form) if !text.contains(form.as_str()) => None,
            Form::Exact(form) => replace_matches(text, self.whole_word, |bytes, at| {
                fixed(form, bytes, at, false)
            }),
            Form::Hex(form) => replace_matches(text, self.whole_word, |bytes, at| {
                fixed(form, bytes, at, true)
            }),
            Form::Text(secret) => replace_matches(text, self.whole_word, |bytes, at| {
                match_text(bytes, at, secret)
            }),
        }
    }
}

/// Secrets shorter than this many bytes are matched only as whole words (not next to a
/// letter or digit): a one-letter "secret" would otherwise take every such letter out
/// of the platform's message. From this length on, a secret is matched anywhere.
pub const SHORT_SECRET: usize = 4;

/// Every pattern of one secret.
fn patterns(secret: &str) -> Vec<Pattern<'_>> {
    let whole_word = secret.len() < SHORT_SECRET;
    let mut forms = vec![Form::Text(secret)];
    let mut variants = vec![Zeroizing::new(secret.as_bytes().to_vec())];
    let in_query = form_urlencoded(secret);
    if in_query.as_bytes() != secret.as_bytes() {
        variants.push(Zeroizing::new(in_query.as_bytes().to_vec()));
    }
    for variant in &variants {
        forms.push(Form::Hex(Zeroizing::new(hex(variant))));
        forms.extend(base64_forms(variant).into_iter().map(Form::Exact));
    }
    forms
        .into_iter()
        .map(|form| Pattern { form, whole_word })
        .collect()
}

/// The secret as `application/x-www-form-urlencoded` writes it, which is how reqwest's
/// `query` and `form` send it: `+` for a space, alphanumerics and `*-._` as they are.
fn form_urlencoded(secret: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(secret.len() * 3));
    for byte in secret.bytes() {
        match byte {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Base64 forms of `bytes`: whole (padded and not), and the interior determined by
/// its bytes alone at each alignment inside a larger blob; each in both alphabets.
fn base64_forms(bytes: &[u8]) -> Vec<Zeroizing<String>> {
    let mut standard = vec![Zeroizing::new(STANDARD_NO_PAD.encode(bytes))];
    if !bytes.len().is_multiple_of(3) {
        standard.push(Zeroizing::new(STANDARD.encode(bytes)));
    }
    for offset in 0_usize..3 {
        // `offset` bytes before the secret: its bits start at 8 * offset. A character
        // covers 6 bits; those wholly inside the secret's bits are its own.
        let first = (8 * offset).div_ceil(6);
        let last = 8 * (offset + bytes.len()) / 6;
        if last < first + MIN_BLOB_INTERIOR {
            continue;
        }
        let mut shifted = Zeroizing::new(vec![0_u8; offset]);
        shifted.extend_from_slice(bytes);
        let encoded = Zeroizing::new(STANDARD_NO_PAD.encode(&*shifted));
        standard.push(Zeroizing::new(encoded[first..last].to_owned()));
    }
    let mut out = Vec::with_capacity(standard.len() * 2);
    for form in standard {
        let url_safe: String = form
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        if url_safe != *form {
            out.push(Zeroizing::new(url_safe));
        }
        out.push(form);
    }
    out
}

/// Copies `text`, replacing each match that `matches(bytes, at)` reports (by its end)
/// at a character boundary `at`; `None` when nothing matched. What is already
/// `[redacted]` is left as it is, so that a short secret cannot match inside it; a
/// `whole_word` match must not touch a letter or digit on either side.
fn replace_matches(
    text: &str,
    whole_word: bool,
    matches: impl Fn(&[u8], usize) -> Option<usize>,
) -> Option<String> {
    let bytes = text.as_bytes();
    let alphanumeric = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_alphanumeric);
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if text[at..].starts_with(REDACTED) {
            at += REDACTED.len();
            continue;
        }
        let may_start = !whole_word || at == 0 || !alphanumeric(at - 1);
        let end = may_start
            .then(|| matches(bytes, at))
            .flatten()
            .filter(|&end| end > at && !(whole_word && alphanumeric(end)));
        if let Some(end) = end {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..at]);
            out.push_str(REDACTED);
            copied = end;
            at = end;
        } else {
            at += text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Where a match of `secret`'s characters, each in any textual form, starting at `at`
/// ends (the longest such match). The set of positions each prefix can end at is
/// followed character by character, so a `%` that is either itself or the start of an
/// escape costs no backtracking.
fn match_text(bytes: &[u8], at: usize, secret: &str) -> Option<usize> {
    // Most positions fail at once: the first character, as it is or the start of an
    // escape (`%`, `\`, a query string's `+`).
    let first = *secret.as_bytes().first()?;
    if !bytes
        .get(at)
        .is_some_and(|&b| b == first || b"%\\+".contains(&b))
    {
        return None;
    }
    let mut ends = vec![at];
    let mut next = Vec::new();
    for c in secret.chars() {
        next.clear();
        for &from in &ends {
            char_forms(bytes, from, c, &mut next);
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        std::mem::swap(&mut ends, &mut next);
    }
    ends.last().copied()
}

/// Pushes where `c` ends when it starts at `at`, in each form it matches there: as it
/// is, JSON-escaped, `+` for a space, or byte by byte as is or percent-encoded.
fn char_forms(bytes: &[u8], at: usize, c: char, ends: &mut Vec<usize>) {
    let mut buffer = [0_u8; 4];
    let utf8 = c.encode_utf8(&mut buffer).as_bytes();
    if c == ' ' {
        // A query string's `+`, which a later layer may percent-encode in turn.
        byte_forms(bytes, at, b'+', ends);
    }
    if let Some(end) = json_escape(bytes, at, c) {
        ends.push(end);
    }
    // Byte by byte: each as it is or percent-encoded, in any layer.
    let mut positions = vec![at];
    for &byte in utf8 {
        let mut after = Vec::new();
        for &from in &positions {
            byte_forms(bytes, from, byte, &mut after);
        }
        if after.is_empty() {
            return;
        }
        positions = after;
    }
    ends.extend(positions);
}

/// Pushes where `byte` ends when it starts at `at`: as it is, or `%` followed by up to
/// `PERCENT_LAYERS - 1` times `25` and its two hex digits (either case).
fn byte_forms(bytes: &[u8], at: usize, byte: u8, ends: &mut Vec<usize>) {
    if bytes.get(at) == Some(&byte) {
        ends.push(at + 1);
    }
    if bytes.get(at) != Some(&b'%') {
        return;
    }
    for layer in 0..PERCENT_LAYERS {
        let digits = at + 1 + 2 * layer;
        if hex_byte(bytes, digits) == Some(byte) {
            ends.push(digits + 2);
        }
        // A deeper layer needs one more `25` (an encoded `%`) before the digits.
        if hex_byte(bytes, digits) != Some(b'%') {
            break;
        }
    }
}

/// The byte two hex digits at `at` spell.
fn hex_byte(bytes: &[u8], at: usize) -> Option<u8> {
    let digit = |i: usize| (*bytes.get(i)? as char).to_digit(16);
    Some((digit(at)? * 16 + digit(at + 1)?) as u8)
}

/// Where `c` ends when it starts at `at` as a JSON escape (`\"`, `\/`, `\n`, `\u00e9`,
/// a surrogate pair).
fn json_escape(bytes: &[u8], at: usize, c: char) -> Option<usize> {
    if bytes.get(at) != Some(&b'\\') {
        return None;
    }
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        _ => None,
    };
    if short.is_some() && bytes.get(at + 1).copied() == short {
        return Some(at + 2);
    }
    let mut units = [0_u16; 2];
    let mut end = at;
    for unit in c.encode_utf16(&mut units) {
        if bytes.get(end) != Some(&b'\\') || bytes.get(end + 1) != Some(&b'u') {
            return None;
        }
        let high = hex_byte(bytes, end + 2)?;
        let low = hex_byte(bytes, end + 4)?;
        if u16::from_be_bytes([high, low]) != *unit {
            return None;
        }
        end += 6;
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_textual_form_of_what_was_sent() {
        let secret = "SENTINEL+/=é";
        let echoed = format!(
            "a {secret} b SENTINEL%2B%2F%3D%C3%A9 c sentinel d SENTINEL%2b%2f%3d%c3%a9 e {} \
             f SENTINEL%252B%252F%253D%25C3%25A9 g SENTINEL+\\/=\\u00E9 h SENTINEL%2B/%3dé",
            secret.replace('/', "\\/")
        );
        let clean = scrub(&echoed, &[secret, ""]);
        assert!(!clean.contains("SENTINEL"), "{clean}");
        assert!(clean.contains("sentinel"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 7, "{clean}");
        assert_eq!(scrub("nothing here", &[""]), "nothing here");
        // A space sent in a query string is a `+`; a character outside the BMP is a
        // surrogate pair in JSON.
        assert_eq!(scrub("x=a+b%F0%9F%94%91", &["a b🔑"]), "x=[redacted]");
        assert_eq!(
            scrub("q%3Da%2Bb%25F0%259F%2594%2591", &["a b🔑"]),
            "q%3D[redacted]"
        );
        assert_eq!(scrub(r#""a\ud83d\udd11""#, &["a🔑"]), r#""[redacted]""#);
    }

    #[test]
    fn hex_and_base64_forms() {
        let secret = "SENTINEL-9f";
        let forms = [
            "53454e54494e454c2d3966",
            "53454E54494E454C2D3966",
            "U0VOVElORUwtOWY=",
            "U0VOVElORUwtOWY",
        ];
        for form in forms {
            assert_eq!(
                scrub(&format!("<{form}>"), &[secret]),
                "<[redacted]>",
                "{form}"
            );
        }
        // `/` and `+` in the standard alphabet are `_` and `-` in the URL-safe one.
        let secret = "???>>>";
        for form in ["Pz8/Pj4+", "Pz8_Pj4-"] {
            assert_eq!(scrub(form, &[secret]), REDACTED, "{form}");
        }
        // Inside a larger blob, at each alignment.
        for prefix in ["", "x", "xy"] {
            let blob = STANDARD_NO_PAD.encode(format!("{prefix}GET /?t=SENTINEL-12345678 HTTP"));
            let clean = scrub(&blob, &["SENTINEL-12345678"]);
            assert!(clean.contains(REDACTED), "{prefix:?}: {clean}");
            let decoded = clean.replace(REDACTED, "");
            assert!(!decoded.contains("U0VOVElORU"), "{decoded}");
        }
    }

    #[test]
    fn a_secret_that_contains_another_goes_whole() {
        assert_eq!(scrub("x abcdef y", &["abc", "abcdef"]), "x [redacted] y");
        assert_eq!(scrub("x abcdef y", &["abcdef", "abc"]), "x [redacted] y");
    }

    #[test]
    fn short_secrets_only_as_whole_words_and_never_inside_a_redaction() {
        assert_eq!(
            scrub("ticket=t&t2 empty 无效ticket t", &["t"]),
            "ticket=[redacted]&t2 empty 无效ticket [redacted]"
        );
        // `[redacted]` holds an `e`, a `d` and `red`: none is taken out of it again.
        assert_eq!(scrub("red e", &["red", "e", "d"]), "[redacted] [redacted]");
    }

    #[test]
    fn short_interiors_are_left_alone() {
        // Four bytes have at most five characters of their own inside a blob: too few.
        let forms = base64_forms(b"abcd");
        let lengths: Vec<usize> = forms.iter().map(|f| f.len()).collect();
        assert_eq!(lengths, [6, 8], "whole, unpadded and padded");
    }
}
