//! Keeping secrets out of error messages: excerpts of bodies with anything token-like
//! withheld, and parser messages without the values they quote. Scrubbing the exact
//! secrets a client sent is [`crate::scrub`]'s.

use crate::error::EXCERPT_LEN;

/// Runs of token-like characters at least this long are redacted from excerpts.
const TOKEN_LIKE_RUN: usize = 24;

/// How many bytes of a body an excerpt reads (enough for [`EXCERPT_LEN`] characters
/// of any script).
pub(crate) const EXCERPT_WINDOW: usize = EXCERPT_LEN * 4;

/// The first [`EXCERPT_LEN`] characters of a body, lossily decoded, for error messages.
/// Anything that looks like a token (a long run of base64/JWT characters) is replaced by
/// `[redacted]`, so an excerpt of a half-valid success body cannot leak a credential.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_WINDOW)]);
    let redacted = redact_token_like(&redact_sensitive_values(&text));
    let mut out: String = redacted.chars().take(EXCERPT_LEN).collect();
    if redacted.chars().count() > EXCERPT_LEN {
        out.push('…');
    }
    out
}

/// JSON keys whose string values are withheld from excerpts, however short.
fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "ticket",
        "signature",
        "verify",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// Replaces the string value of every sensitive key (`"refresh_token": "…"`) with
/// `[redacted]`: a loose scan that tolerates a truncated or broken body.
fn redact_sensitive_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    let mut last_string: Option<String> = None;
    let mut value_is_sensitive = false;
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut content = String::new();
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == '\\' {
                    content.push(d);
                    if let Some(e) = chars.next() {
                        content.push(e);
                    }
                    continue;
                }
                if d == '"' {
                    closed = true;
                    break;
                }
                content.push(d);
            }
            out.push('"');
            if value_is_sensitive {
                out.push_str("[redacted]");
                value_is_sensitive = false;
                last_string = None;
            } else {
                out.push_str(&content);
                last_string = Some(content);
            }
            if closed {
                out.push('"');
            }
            continue;
        }
        if c == ':' {
            value_is_sensitive = last_string.as_deref().is_some_and(is_sensitive_key);
        } else if !c.is_whitespace() {
            value_is_sensitive = false;
        }
        if !c.is_whitespace() && c != ':' {
            last_string = None;
        }
        out.push(c);
    }
    out
}

fn redact_token_like(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "-_.+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= TOKEN_LIKE_RUN {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// serde_json quotes offending values in its messages (`invalid type: string "…"`);
/// those values may be tokens, so they are cut out: the message keeps what was wrong,
/// not the value.
///
/// ```
/// assert_eq!(
///     tokenkit_core::unquoted(r#"invalid type: string "SENTINEL", expected u64"#),
///     r#"invalid type: string "…", expected u64"#
/// );
/// ```
pub fn unquoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    for c in message.chars() {
        if c == '"' {
            if !in_quotes {
                out.push_str("\"…\"");
            }
            in_quotes = !in_quotes;
        } else if !in_quotes {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded() {
        let body = "x".repeat(10_000);
        let e = excerpt(body.as_bytes());
        assert!(e.chars().count() <= EXCERPT_LEN + 1);
        assert_eq!(excerpt(b"\xff\xfe<html>"), "\u{fffd}\u{fffd}<html>");
        let body =
            br#"{"code":0,"refresh_token":"eyJhbGciOiJIUzI1NiJ9.eyJ1biI6ImEifQ.c2lnbmF0dXJl"}"#;
        let e = excerpt(body);
        assert!(!e.contains("eyJ"), "{e}");
        assert!(
            e.contains("refresh_token") && e.contains("[redacted]"),
            "{e}"
        );
    }
}
