//! Sealed values and keyrings ([`crate::store::seal`]): any text where a sealed value
//! is kept, and any mutation of a real sealed value, opens to the very plaintext that
//! was sealed or is a store error (not transient) — never a panic, never other bytes —
//! and no error shows the key. Any text kept as a store's key check, or any mutation of
//! a real one, holds only if it is that check, else is such a store error. Any keyring
//! text is a keyring or a config error that shows none of the key material it was
//! given.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::sample::{Index, select};

use super::fuzz;
use crate::Error;
use crate::store::seal::{
    KeyCheck, Keyring, PREFIX, open_pending, seal_key_check, seal_pending, verify_key_check,
};

const GRANT: &str = "ilab:1681600222748241929:u1";
const ID: &str = "o-1";
const PLAINTEXT: &str = r#"{"originId": "o-1", "score": "SENTINEL-98"}"#;
const BYTES: [u8; 32] = [
    0x3d, 0x91, 0x07, 0xc4, 0x5e, 0xa2, 0x18, 0x6b, 0xf0, 0x29, 0x84, 0x4d, 0xbe, 0x13, 0x77, 0xca,
    0x02, 0x6f, 0xd5, 0x38, 0x9a, 0xe1, 0x4c, 0xb7, 0x21, 0x8e, 0x53, 0xf9, 0x16, 0x60, 0xad, 0xc2,
];

fn keyring() -> Keyring {
    Keyring::parse(&format!("k1:{}", STANDARD.encode(BYTES))).expect("a keyring")
}

/// The forms of the key an error must never contain.
fn key_forms() -> Vec<String> {
    vec![
        STANDARD.encode(BYTES),
        URL_SAFE_NO_PAD.encode(BYTES),
        STANDARD.encode(&BYTES[..12]),
        BYTES.iter().map(|b| format!("{b:02x}")).collect(),
    ]
}

fn check_opened(result: Result<String, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(text) => prop_assert_eq!(text, PLAINTEXT),
        Err(error) => {
            prop_assert!(
                matches!(
                    error,
                    Error::Store {
                        transient: false,
                        ..
                    }
                ),
                "{error:?}"
            );
            let text = error.to_string();
            for form in key_forms() {
                prop_assert!(!text.contains(&form), "{text}");
            }
            prop_assert!(!text.contains("SENTINEL"), "{text}");
        }
    }
    Ok(())
}

/// One edit of a sealed value's text.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, char),
    Remove(Index),
    Id(String),
    Body(String),
}

fn edits() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), 1..=255u8).prop_map(|(i, x)| Edit::Flip(i, x)),
        (
            any::<Index>(),
            select(vec!['A', '_', '-', ':', '=', '+', '/', ' ', 'é'])
        )
            .prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<Index>().prop_map(Edit::Remove),
        select(vec![
            "",
            "k2",
            "k 1",
            "K1",
            "k1k1",
            "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        ])
        .prop_map(|id| Edit::Id(id.to_owned())),
        "[A-Za-z0-9_=+/-]{0,80}".prop_map(Edit::Body),
    ]
}

fn apply(sealed: &str, edit: &Edit) -> Vec<u8> {
    let mut bytes = sealed.as_bytes().to_vec();
    match edit {
        Edit::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
        Edit::Flip(i, x) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] ^= x;
        }
        Edit::Insert(i, c) => {
            let at = i.index(bytes.len() + 1);
            let mut buf = [0; 4];
            bytes.splice(at..at, c.encode_utf8(&mut buf).bytes());
        }
        Edit::Remove(i) if !bytes.is_empty() => {
            bytes.remove(i.index(bytes.len()));
        }
        Edit::Flip(..) | Edit::Remove(_) => {}
        Edit::Id(id) => {
            let body = sealed.splitn(3, ':').nth(2).unwrap_or_default();
            bytes = format!("{PREFIX}{id}:{body}").into_bytes();
        }
        Edit::Body(body) => bytes = format!("{PREFIX}k1:{body}").into_bytes(),
    }
    bytes
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_text_kept_as_sealed_is_the_plaintext_or_a_store_error(
        text in fuzz::arbitrary_text(),
        with_prefix in any::<bool>(),
    ) {
        let text = if with_prefix { format!("{PREFIX}{text}") } else { text };
        let clear = !text.starts_with(PREFIX);
        let result = open_pending(Some(&keyring()), GRANT, ID, text.clone());
        if clear {
            // Kept in clear: read as it is.
            prop_assert_eq!(result.ok(), Some(text));
        } else {
            check_opened(result)?;
            check_opened(open_pending(None, GRANT, ID, text))?;
        }
    }

    #[test]
    fn a_mutated_sealed_value_is_the_plaintext_or_a_store_error(
        edits in prop::collection::vec(edits(), 1..=3),
    ) {
        let keyring = keyring();
        let mut sealed = seal_pending(Some(&keyring), GRANT, ID, PLAINTEXT).expect("sealed");
        for edit in &edits {
            sealed = String::from_utf8_lossy(&apply(&sealed, edit)).into_owned();
        }
        if sealed.starts_with(PREFIX) {
            check_opened(open_pending(Some(&keyring), GRANT, ID, sealed))?;
        } else {
            // No longer looks sealed: it is taken as a value kept in clear.
            prop_assert_eq!(open_pending(Some(&keyring), GRANT, ID, sealed.clone()).ok(), Some(sealed));
        }
    }

    #[test]
    fn a_key_check_holds_only_if_it_is_the_check_else_is_a_store_error(
        edits in prop::collection::vec(edits(), 0..=3),
        text in fuzz::arbitrary_text(),
        arbitrary in any::<bool>(),
    ) {
        let keyring = keyring();
        let genuine = seal_key_check(&keyring).expect("sealed");
        let stored = if arbitrary {
            text
        } else {
            edits.iter().fold(genuine.clone(), |stored, edit| {
                String::from_utf8_lossy(&apply(&stored, edit)).into_owned()
            })
        };
        for keys in [Some(&keyring), None] {
            match verify_key_check(keys, Some(&stored), "the test's copy") {
                Ok(verdict) => {
                    prop_assert_eq!(verdict, KeyCheck::Holds);
                    prop_assert!(keys.is_some(), "a check holds without a keyring");
                    prop_assert_eq!(stored.trim(), genuine.as_str());
                }
                Err(error) => check_opened(Err(error))?,
            }
        }
    }

    #[test]
    fn any_keyring_text_is_a_keyring_or_a_config_error_without_key_material(
        entries in prop::collection::vec(
            (
                select(vec!["k1", "k2", "", "k 1", "ключ", "#k3"]),
                select(vec![":", "", "::", " : "]),
                prop::collection::vec(any::<u8>(), 0..48),
                any::<bool>(),
            ),
            0..4,
        ),
        separator in select(vec!["\n", ",", "\r\n", " , "]),
    ) {
        let materials: Vec<String> = entries.iter().map(|(_, _, bytes, url)| {
            if *url { URL_SAFE_NO_PAD.encode(bytes) } else { STANDARD.encode(bytes) }
        }).collect();
        let text = entries
            .iter()
            .zip(&materials)
            .map(|((id, colon, _, _), material)| format!("{id}{colon}{material}"))
            .collect::<Vec<_>>()
            .join(separator);
        match Keyring::parse(&text) {
            Ok(keyring) => prop_assert!(keyring.ids().count() >= 1),
            Err(error) => {
                prop_assert!(matches!(error, Error::Config(_)), "{error:?}");
                let reason = error.to_string();
                for material in materials.iter().filter(|m| m.len() >= 8) {
                    prop_assert!(!reason.contains(material.as_str()), "{reason}");
                }
            }
        }
    }
}
