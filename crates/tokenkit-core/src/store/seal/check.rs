//! The key check of a sealed store: one known text sealed with the current key, kept at
//! a place of its own (no grant's), so that opening it proves "this keyring holds the key
//! this store is sealed with" before anything is read, written or spent.
//!
//! Without it a wrong key shows only when a sealed record is read: too late for an ilab
//! launch, which exchanges its single-use ticket before it can know the grant's key, and
//! a grant written with the wrong key would be unreadable for the rest of the fleet. A
//! store verifies its check when it is opened ([`verify_key_check`]), writes one when
//! there is none ([`KeyCheck::Missing`]), and writes it again with the current key after
//! a new key was rolled in ([`KeyCheck::Older`]). A store opened without a keyring that
//! finds a check is refused: the process forgot its key.

use super::keyring::Keyring;
use super::sealed::{self, Field, Place, Unopened};
use crate::Error;

/// The text every key check seals. Known to everyone: the check proves a key, it hides
/// nothing (AES-GCM is not weakened by a known plaintext).
const TEXT: &str = "tokenkit store key check v1";

/// The place a key check is sealed for: bound into its tag, so no grant's value can
/// stand in for it, nor it for one.
const PLACE: Place<'static> = Place {
    grant_key: "",
    field: Field::KeyCheck,
};

/// What a store must do after [`verify_key_check`] accepted its key check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyCheck {
    /// Nothing: the check opens with the current key, or a store without a keyring
    /// found none.
    Holds,
    /// The store has no check yet: write [`seal_key_check`] *only if there is still
    /// none* (another process may have written its own meanwhile: then verify that one).
    Missing,
    /// The check opens with an older key of the keyring (a new key was rolled in):
    /// replace it with [`seal_key_check`], so a process that lacks the new key is
    /// refused from now on.
    Older,
}

/// A key check sealed with the current key of `keyring`: the value a store keeps.
///
/// ```
/// use tokenkit_core::store::seal::{self, KeyCheck, Keyring, StoreKey};
/// let k1 = StoreKey::generate("k1")?;
/// let check = seal::seal_key_check(&Keyring::new([k1.clone()])?)?;
/// assert!(check.starts_with("tk1:k1:"));
/// let verdict = seal::verify_key_check(Some(&Keyring::new([k1])?), Some(&check), "the file .keycheck")?;
/// assert_eq!(verdict, KeyCheck::Holds);
/// let other = Keyring::new([StoreKey::generate("k2")?])?;
/// let err = seal::verify_key_check(Some(&other), Some(&check), "the file .keycheck").unwrap_err();
/// assert!(err.to_string().contains("sealed with store key \"k1\", which this process does not have"));
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
pub fn seal_key_check(keyring: &Keyring) -> Result<String, Error> {
    sealed::seal(keyring.current(), PLACE, TEXT)
}

/// Verifies the key check a store holds (`stored`, `None` if it has none) against
/// `keyring` (`None`: the store is opened without one), and says what the store must
/// write ([`KeyCheck`]). `kept_in` says where the check is (`the file .keycheck`), for
/// the message about a malformed one.
///
/// Every refusal is a store error that is not transient (waiting brings no key), names
/// the key ids and never key material:
///
/// - a check but no keyring: `this store is sealed with store key "k1"; this process has
///   no store key …`;
/// - sealed with a key id the keyring lacks: `this store is sealed with store key "k1",
///   which this process does not have (it has "k2")`;
/// - the same id, other bytes: `this store is sealed with another key named "k1" than
///   this process has …`;
/// - anything else (cut, in clear, not a key check): `the store's key check (…) is
///   malformed …`.
pub fn verify_key_check(
    keyring: Option<&Keyring>,
    stored: Option<&str>,
    kept_in: &str,
) -> Result<KeyCheck, Error> {
    let Some(stored) = stored.map(str::trim) else {
        return Ok(match keyring {
            Some(_) => KeyCheck::Missing,
            None => KeyCheck::Holds,
        });
    };
    let refused = |reason: String| Error::store(reason, false);
    let malformed = || {
        refused(format!(
            "the store's key check ({kept_in}) is malformed: remove it, and the next store \
             opened with the right keyring writes a new one"
        ))
    };
    match sealed::try_open(keyring, PLACE, stored) {
        Ok(text) if text.as_str() == TEXT => {}
        Ok(_) | Err(Unopened::Malformed | Unopened::NotUtf8) => return Err(malformed()),
        Err(Unopened::NoKeyring(id)) => {
            return Err(refused(format!(
                "this store is sealed with store key {id:?}; this process has no store key \
                 (give it a keyring holding {id:?})"
            )));
        }
        Err(Unopened::UnknownKey(id)) => {
            let ids = keyring.map(Keyring::ids_text).unwrap_or_default();
            return Err(refused(format!(
                "this store is sealed with store key {id:?}, which this process does not \
                 have (it has {ids})"
            )));
        }
        Err(Unopened::WrongKey(id)) => {
            return Err(refused(format!(
                "this store is sealed with another key named {id:?} than this process has \
                 (the same id, different bytes; or its key check was edited): give this \
                 process the key the store's other users have"
            )));
        }
    }
    let sealed_with = sealed::key_id(stored).ok_or_else(malformed)?;
    match keyring {
        Some(keyring) if keyring.current().id() != sealed_with => Ok(KeyCheck::Older),
        _ => Ok(KeyCheck::Holds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seal::{StoreKey, seal_record};
    use crate::{Arrival, Expiry, Token};

    const WHERE: &str = "the file .keycheck";

    fn keyring(keys: &[&StoreKey]) -> Keyring {
        Keyring::new(keys.iter().map(|k| (*k).clone())).expect("keys")
    }

    fn refusal(result: Result<KeyCheck, Error>) -> String {
        let err = result.expect_err("refused");
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
        err.to_string()
    }

    #[test]
    fn a_check_holds_for_its_key_and_asks_to_be_written_or_renewed() {
        let k1 = StoreKey::generate("k1").expect("random");
        let k2 = StoreKey::generate("k2").expect("random");
        let check = seal_key_check(&keyring(&[&k1])).expect("sealed");
        assert!(
            check.starts_with("tk1:k1:") && !check.contains(TEXT),
            "{check}"
        );
        let verify = |keys: Option<&Keyring>, stored: Option<&str>| {
            verify_key_check(keys, stored, WHERE).expect("accepted")
        };
        assert_eq!(
            verify(Some(&keyring(&[&k1])), Some(&check)),
            KeyCheck::Holds
        );
        // Kept with a newline, as a file is.
        let line = format!("{check}\n");
        assert_eq!(verify(Some(&keyring(&[&k1])), Some(&line)), KeyCheck::Holds);
        assert_eq!(verify(Some(&keyring(&[&k1])), None), KeyCheck::Missing);
        assert_eq!(verify(None, None), KeyCheck::Holds);
        // k2 rolled in: k1's check opens, and is to be written again with k2.
        let rolled = keyring(&[&k2, &k1]);
        assert_eq!(verify(Some(&rolled), Some(&check)), KeyCheck::Older);
        let renewed = seal_key_check(&rolled).expect("sealed");
        assert!(renewed.starts_with("tk1:k2:"), "{renewed}");
        assert_eq!(verify(Some(&rolled), Some(&renewed)), KeyCheck::Holds);
        // A keyring that keeps k2 only as an older key opens it, and would put k1 back.
        assert_eq!(
            verify(Some(&keyring(&[&k1, &k2])), Some(&renewed)),
            KeyCheck::Older
        );
    }

    #[test]
    fn each_refusal_names_the_key_ids_and_never_key_material() {
        let k1 = StoreKey::generate("k1").expect("random");
        let check = seal_key_check(&keyring(&[&k1])).expect("sealed");
        let other_k1 = StoreKey::generate("k1").expect("random");
        let k2 = StoreKey::generate("k2").expect("random");
        let k3 = StoreKey::generate("k3").expect("random");
        let cases = [
            (
                None,
                "this store is sealed with store key \"k1\"; this process has no store key",
            ),
            (
                Some(keyring(&[&k2, &k3])),
                "this store is sealed with store key \"k1\", which this process does not have \
                 (it has \"k2\", \"k3\")",
            ),
            (
                Some(keyring(&[&other_k1])),
                "this store is sealed with another key named \"k1\" than this process has",
            ),
        ];
        for (keys, expected) in cases {
            let reason = refusal(verify_key_check(keys.as_ref(), Some(&check), WHERE));
            assert!(reason.contains(expected), "{reason}");
            assert!(!reason.contains(&check[8..]), "{reason}");
        }
    }

    #[test]
    fn anything_but_a_key_check_is_malformed() {
        let k1 = StoreKey::generate("k1").expect("random");
        let keys = keyring(&[&k1]);
        let check = seal_key_check(&keys).expect("sealed");
        // A grant's sealed access token, with the same key: bound to another place.
        let token = Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), std::time::Duration::from_secs(60)),
        );
        let grant_value = seal_record(Some(&keys), "", token.to_record())
            .expect("sealed")
            .access_token
            .clone();
        let other_text = sealed::seal(keys.current(), PLACE, "another text").expect("sealed");
        for stored in ["", "k1", "tk1:k1:", "tk1:k1:!!!!", "in clear", &other_text] {
            let reason = refusal(verify_key_check(Some(&keys), Some(stored), WHERE));
            assert!(
                reason.contains("the store's key check (the file .keycheck) is malformed"),
                "{stored:?}: {reason}"
            );
        }
        // A tag that does not match is all AES-GCM says: a wrong key and an edit look alike.
        let middle = check.len() / 2;
        let flipped = if &check[middle..=middle] == "A" {
            "B"
        } else {
            "A"
        };
        let edited = format!("{}{flipped}{}", &check[..middle], &check[middle + 1..]);
        for stored in [&grant_value, &edited] {
            let reason = refusal(verify_key_check(Some(&keys), Some(stored), WHERE));
            assert!(reason.contains("another key named \"k1\""), "{reason}");
            assert!(reason.contains("or its key check was edited"), "{reason}");
        }
    }
}
