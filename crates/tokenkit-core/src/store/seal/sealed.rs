//! One sealed value, as text: `tk1:<key id>:<Base64url of nonce ‖ ciphertext ‖ tag>`.
//!
//! AES-256-GCM with a random 96-bit nonce per value. The associated data binds the
//! value to the place it rests — the grant key and the field (access token, refresh
//! token, pending record id) — and to the key id written in front, so a value copied
//! to another grant or field does not open, and neither does one whose id was edited.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, Zeroizing};

use super::key::{StoreKey, is_valid_id};
use super::keyring::Keyring;
use crate::Error;

/// What every sealed value starts with (the version of this format).
pub const PREFIX: &str = "tk1:";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The field of a grant a value is kept in.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field<'a> {
    AccessToken,
    RefreshToken,
    /// A pending record, by its id.
    Pending(&'a str),
    /// The store's key check ([`super::check`]): no grant's, so its grant key is empty.
    KeyCheck,
}

/// Where a value rests: bound into its tag, and named in errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place<'a> {
    pub(super) grant_key: &'a str,
    pub(super) field: Field<'a>,
}

impl Place<'_> {
    /// The associated data: every part length-prefixed, so no two places (or key ids)
    /// give the same bytes.
    fn associated_data(&self, key_id: &str) -> Vec<u8> {
        let (field, id) = match self.field {
            Field::AccessToken => ("access_token", ""),
            Field::RefreshToken => ("refresh_token", ""),
            Field::Pending(id) => ("pending", id),
            Field::KeyCheck => ("keycheck", ""),
        };
        let mut aad = Vec::with_capacity(64 + self.grant_key.len() + id.len());
        for part in [PREFIX, key_id, field, id, self.grant_key] {
            aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }

    /// `the access token of key "ilab:u1"`, for errors.
    fn describe(&self) -> String {
        let key = self.grant_key;
        match self.field {
            Field::AccessToken => format!("the access token of key {key:?}"),
            Field::RefreshToken => format!("the refresh token of key {key:?}"),
            Field::Pending(id) => format!("the pending record {id:?} of key {key:?}"),
            Field::KeyCheck => "the store's key check".to_owned(),
        }
    }
}

/// Whether `value` is sealed (rather than a value kept in clear).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// `plaintext` sealed with `key` for `place`.
pub(super) fn seal(key: &StoreKey, place: Place<'_>, plaintext: &str) -> Result<String, Error> {
    let nonce = Nonce::<Aes256Gcm>::try_generate()
        .map_err(|_| Error::store("the operating system's random source failed", false))?;
    let aad = place.associated_data(key.id());
    let payload = Payload {
        msg: plaintext.as_bytes(),
        aad: &aad,
    };
    let sealed = key
        .cipher()
        .encrypt(&nonce, payload)
        .map_err(|_| Error::store(format!("cannot seal {}", place.describe()), false))?;
    let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&sealed);
    Ok(format!(
        "{PREFIX}{}:{}",
        key.id(),
        URL_SAFE_NO_PAD.encode(body)
    ))
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unopened<'a> {
    /// It is no well-formed sealed value: cut, edited, not Base64 (or not sealed at all).
    Malformed,
    /// Sealed with the key of this id, and there is no keyring.
    NoKeyring(&'a str),
    /// Sealed with the key of this id, which the keyring lacks.
    UnknownKey(&'a str),
    /// The keyring's key of this id does not open it: other bytes under the same id, or
    /// a value moved from another place.
    WrongKey(&'a str),
    /// It opened to bytes that are not UTF-8.
    NotUtf8,
}

/// The key id written in front of a sealed `value`, if it has a well-formed one.
pub(super) fn key_id(value: &str) -> Option<&str> {
    value
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(id, _)| id)
        .filter(|id| is_valid_id(id))
}

/// Opens the sealed `value` kept at `place`. Every failure is a store error that is not
/// transient (a key does not appear by waiting) and names the place and the key id,
/// never the value.
pub(super) fn open(
    keyring: Option<&Keyring>,
    place: Place<'_>,
    value: &str,
) -> Result<Zeroizing<String>, Error> {
    try_open(keyring, place, value).map_err(|why| {
        let what = place.describe();
        let reason = match why {
            Unopened::Malformed => {
                format!("{what} looks sealed (it starts with {PREFIX}) but is malformed")
            }
            Unopened::NoKeyring(id) => format!(
                "{what} is sealed with store key {id:?}; this store has no key (give it a \
                 keyring holding that key)"
            ),
            Unopened::UnknownKey(id) => format!(
                "{what} is sealed with store key {id:?}, which this process does not have (it \
                 has {})",
                keyring.map(Keyring::ids_text).unwrap_or_default()
            ),
            Unopened::WrongKey(id) => format!(
                "{what} cannot be opened with store key {id:?} (a different key with the same \
                 id, or a value moved from another grant or field)"
            ),
            Unopened::NotUtf8 => format!("{what} opened to bytes that are not UTF-8"),
        };
        Error::store(reason, false)
    })
}

/// [`open`], telling why a value did not open rather than saying it.
pub(super) fn try_open<'v>(
    keyring: Option<&Keyring>,
    place: Place<'_>,
    value: &'v str,
) -> Result<Zeroizing<String>, Unopened<'v>> {
    let id = key_id(value).ok_or(Unopened::Malformed)?;
    let body = &value[PREFIX.len() + id.len() + 1..];
    let keyring = keyring.ok_or(Unopened::NoKeyring(id))?;
    let key = keyring.key(id).ok_or(Unopened::UnknownKey(id))?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| Unopened::Malformed)?;
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(Unopened::Malformed);
    }
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let nonce: &Nonce<Aes256Gcm> = nonce.try_into().map_err(|_| Unopened::Malformed)?;
    let aad = place.associated_data(id);
    let payload = Payload {
        msg: sealed,
        aad: &aad,
    };
    let plain = key
        .cipher()
        .decrypt(nonce, payload)
        .map_err(|_| Unopened::WrongKey(id))?;
    match String::from_utf8(plain) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(Unopened::NotUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: Place<'static> = Place {
        grant_key: "ilab:u1",
        field: Field::AccessToken,
    };

    fn keyring(ids: &[&str]) -> Keyring {
        Keyring::new(
            ids.iter()
                .map(|id| StoreKey::generate(*id).expect("random")),
        )
        .expect("keys")
    }

    fn refused(result: Result<Zeroizing<String>, Error>) -> String {
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
    fn a_value_opens_where_it_was_sealed_and_nowhere_else() {
        let keys = keyring(&["k1"]);
        let sealed = seal(keys.current(), ACCESS, "SENTINEL-ACCESS").expect("sealed");
        assert!(
            is_sealed(&sealed) && sealed.starts_with("tk1:k1:"),
            "{sealed}"
        );
        assert!(!sealed.contains("SENTINEL"));
        assert_eq!(
            open(Some(&keys), ACCESS, &sealed).expect("opens").as_str(),
            "SENTINEL-ACCESS"
        );
        // A fresh nonce each time.
        assert_ne!(
            seal(keys.current(), ACCESS, "SENTINEL-ACCESS").expect("sealed"),
            sealed
        );
        let elsewhere = [
            Place {
                grant_key: "ilab:u2",
                ..ACCESS
            },
            Place {
                field: Field::RefreshToken,
                ..ACCESS
            },
            Place {
                field: Field::Pending("r1"),
                ..ACCESS
            },
        ];
        for place in elsewhere {
            let reason = refused(open(Some(&keys), place, &sealed));
            assert!(
                reason.contains("cannot be opened with store key \"k1\""),
                "{reason}"
            );
        }
        // Pending records are bound to their id too.
        let r1 = Place {
            field: Field::Pending("r1"),
            ..ACCESS
        };
        let sealed_r1 = seal(keys.current(), r1, "{}").expect("sealed");
        let r2 = Place {
            field: Field::Pending("r2"),
            ..ACCESS
        };
        assert!(refused(open(Some(&keys), r2, &sealed_r1)).contains("pending record \"r2\""));
    }

    #[test]
    fn each_failure_says_what_is_missing() {
        let k1 = keyring(&["k1"]);
        let sealed = seal(k1.current(), ACCESS, "SENTINEL-ACCESS").expect("sealed");

        let reason_none = refused(open(None, ACCESS, &sealed));
        assert!(
            reason_none.contains(
                "the access token of key \"ilab:u1\" is sealed with store key \"k1\"; this store has no key"
            ),
            "{reason_none}"
        );
        let reason_other = refused(open(Some(&keyring(&["k2", "k3"])), ACCESS, &sealed));
        assert!(
            reason_other.contains(
                "sealed with store key \"k1\", which this process does not have (it has \"k2\", \"k3\")"
            ),
            "{reason_other}"
        );
        let reason_same_id = refused(open(Some(&keyring(&["k1"])), ACCESS, &sealed));
        assert!(
            reason_same_id.contains(
                "cannot be opened with store key \"k1\" (a different key with the same id"
            ),
            "{reason_same_id}"
        );
        // The id written in front is bound too: renaming it to another key's id fails.
        let k2_then_k1 = Keyring::new([StoreKey::generate("k2").expect("random")]).expect("keys");
        let renamed = sealed.replacen("tk1:k1:", "tk1:k2:", 1);
        assert!(refused(open(Some(&k2_then_k1), ACCESS, &renamed)).contains("cannot be opened"));
        for broken in [
            "tk1:",
            "tk1:k1",
            "tk1:k1:",
            "tk1:k 1:AAAA",
            "tk1:k1:!!!!",
            "tk1:k1:AAAA",
        ] {
            let reason = refused(open(Some(&k1), ACCESS, broken));
            assert!(
                reason.contains("looks sealed") && reason.contains("malformed"),
                "{reason}"
            );
        }
        for reason in [reason_none, reason_other, reason_same_id] {
            assert!(
                !reason.contains("SENTINEL") && !reason.contains(&sealed[7..]),
                "{reason}"
            );
        }
    }
}
