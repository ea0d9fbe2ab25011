//! Checks shared by the tests of sealed stores (the file store here, the Redis store and
//! the CLI and agent processes over both): what rests holds no part of a secret, and a
//! refusal is a clear store error without key material.
//!
//! Declared by the tests that need it: `#[path = "…/tokenkit-core/tests/support/at_rest.rs"]
//! mod at_rest;`.

#![allow(dead_code)]

use tokenkit_core::Error;

/// Whether `haystack` holds any 8-byte window of `secret`.
pub fn holds_a_window_of(haystack: &[u8], secret: &str) -> bool {
    secret
        .as_bytes()
        .windows(8)
        .any(|w| haystack.windows(8).any(|h| h == w))
}

/// `err` is a store error that no retry mends, saying `expected`, and neither its
/// `Display` nor its `Debug` holds any of `materials` (key material) or a sentinel.
pub fn assert_refused(err: &Error, expected: &str, materials: &[&str]) {
    assert!(
        matches!(
            err,
            Error::Store {
                transient: false,
                ..
            }
        ),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains(expected), "{text}");
    for material in materials {
        assert!(!text.contains(material), "key material in {text}");
    }
    assert!(!text.contains("SENTINEL"), "{text}");
}
