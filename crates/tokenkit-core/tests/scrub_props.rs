//! `scrub` over arbitrary secrets (ASCII and not, 4 to 64 characters) in arbitrary text,
//! in every form a platform may echo them in: as sent, percent-encoded (either case,
//! once or twice, as a query string writes it, and that quoted again), JSON-escaped, hex, Base64 (both
//! alphabets, padded or not), and inside a Base64 blob of a longer text at any offset.
//! No form survives. The encoders are the `base64` crate's and this file's own, not
//! the scrubber's. Run it longer with `PROPTEST_CASES=100000 cargo test -p
//! tokenkit-core --test scrub_props`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use tokenkit_core::{MIN_BLOB_INTERIOR, scrub};

#[path = "support/echo.rs"]
mod echo;

use echo::{hex, percent};

/// Every way this test writes a secret.
#[derive(Debug, Clone, Copy)]
enum Form {
    Raw,
    PercentUpper,
    PercentLower,
    PercentTwice,
    QueryString,
    QueryStringQuoted,
    JsonAscii,
    Base64,
    Base64NoPad,
    Base64Url,
    Base64UrlNoPad,
    HexUpper,
    HexLower,
}

const FORMS: [Form; 13] = [
    Form::Raw,
    Form::PercentUpper,
    Form::PercentLower,
    Form::PercentTwice,
    Form::QueryString,
    Form::QueryStringQuoted,
    Form::JsonAscii,
    Form::Base64,
    Form::Base64NoPad,
    Form::Base64Url,
    Form::Base64UrlNoPad,
    Form::HexUpper,
    Form::HexLower,
];

fn query_string(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// JSON string content with everything outside printable ASCII as `\u` escapes, and
/// `/` escaped as some encoders do.
fn json_ascii(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0_u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

fn write(secret: &str, form: Form) -> String {
    let bytes = secret.as_bytes();
    match form {
        Form::Raw => secret.to_owned(),
        Form::PercentUpper => percent(bytes, true),
        Form::PercentLower => percent(bytes, false),
        Form::PercentTwice => percent(percent(bytes, true).as_bytes(), true),
        Form::QueryString => query_string(secret),
        // A query string quoted in a URL: its `+` and `%` encoded once more.
        Form::QueryStringQuoted => percent(query_string(secret).as_bytes(), true),
        Form::JsonAscii => json_ascii(secret),
        Form::Base64 => STANDARD.encode(bytes),
        Form::Base64NoPad => STANDARD_NO_PAD.encode(bytes),
        Form::Base64Url => URL_SAFE.encode(bytes),
        Form::Base64UrlNoPad => URL_SAFE_NO_PAD.encode(bytes),
        Form::HexUpper => hex(bytes, true),
        Form::HexLower => hex(bytes, false),
    }
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{4,64}", "\\PC{4,64}"]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,40}", "\\PC{0,40}"]
}

proptest! {
    #[test]
    fn no_form_survives(
        secret in secret(),
        before in text(),
        after in text(),
        form in proptest::sample::select(FORMS.to_vec()),
    ) {
        let written = write(&secret, form);
        let clean = scrub(&format!("{before}{written}{after}"), &[&secret]);
        for any in FORMS {
            let other = write(&secret, any);
            prop_assert!(!clean.contains(&other), "{any:?} of {secret:?} survives in {clean:?}");
        }
    }

    #[test]
    fn no_secret_survives_inside_a_base64_blob(
        secret in secret(),
        head in proptest::collection::vec(any::<u8>(), 0..40),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        url_safe in any::<bool>(),
        around in text(),
    ) {
        let mut blob = head.clone();
        blob.extend_from_slice(secret.as_bytes());
        blob.extend_from_slice(&tail);
        let encoded = if url_safe { URL_SAFE.encode(&blob) } else { STANDARD.encode(&blob) };
        // The characters whose six bits all come from the secret's bytes.
        let first = (8 * head.len()).div_ceil(6);
        let last = 8 * (head.len() + secret.len()) / 6;
        prop_assume!(last >= first + MIN_BLOB_INTERIOR);
        let own = &encoded[first..last];
        let clean = scrub(&format!("{around}{encoded}{around}"), &[&secret]);
        prop_assert!(!clean.contains(own), "{own:?} of {secret:?} survives in {clean:?}");
    }
}
