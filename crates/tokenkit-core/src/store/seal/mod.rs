//! Secrets at rest: the access and refresh tokens of a stored grant, and its pending
//! records, sealed with a key the user provides ([`Keyring`]), so that a copy of the
//! store — a Redis dump, a backup, a file — holds no usable token.
//!
//! - **Sealed**: the access token, the refresh token, the data of each pending record.
//!   Each becomes `tk1:<key id>:<Base64url>` (AES-256-GCM, a random nonce per value),
//!   bound to its grant key and field: a value copied to another grant or field does
//!   not open.
//! - **Readable**: everything a store must read or change without the key — the
//!   generation, expiry and lifetime, the grant's accounting (budget, spent, outcome
//!   unknown), the token type, the metadata (user, cluster, claims), the ids of
//!   pending records. So leases, budgets and Redis's scripts work unchanged.
//! - **Keys**: every value names the key that sealed it. A [`Keyring`] seals with its
//!   current key and opens with any of its keys, so a new key is rolled in by putting
//!   it first and keeping the old one until every record was written again.
//! - **Switching it on**: a value kept in clear is read as it is by a store with a
//!   keyring (so encryption can be switched on for an existing store: the next write of
//!   each record seals it). A value is taken as sealed when it starts with `tk1:`.
//! - **Failing clearly**: a sealed value that cannot be opened — sealed with a key this
//!   process does not have, with a different key of the same id, or read by a store
//!   without a keyring — is a store error that is not transient, naming the grant key,
//!   the field and the key id; never garbage, never a guess.
//! - **Checking the key first**: a sealed store keeps a *key check* ([`seal_key_check`]),
//!   a known text sealed with the current key at a place no grant uses, and verifies it
//!   when it is opened ([`verify_key_check`]): a process with a wrong key, or none, is
//!   refused before it reads, writes or spends anything (an ilab ticket is exchanged
//!   before the grant's record can be read).
//!
//! What it protects against, and what not, is in `docs/encryption.md`: a copy of the
//! data without the key, not a host that holds the key.
//!
//! ```
//! use tokenkit_core::store::seal::{self, Keyring, StoreKey};
//! use tokenkit_core::{Arrival, Expiry, Token};
//! let keyring = Keyring::new([StoreKey::generate("k1")?])?;
//! let token = Token::new("an-access-token", Expiry::after(Arrival::now(), std::time::Duration::from_secs(60)));
//! let sealed = seal::seal_record(Some(&keyring), "ac:alice", token.to_record())?;
//! assert!(sealed.access_token.starts_with("tk1:k1:"));
//! let opened = seal::open_record(Some(&keyring), "ac:alice", sealed)?;
//! assert_eq!(opened.access_token, "an-access-token");
//! # Ok::<(), tokenkit_core::Error>(())
//! ```

mod check;
mod key;
mod keyring;
mod sealed;

pub use check::{KeyCheck, seal_key_check, verify_key_check};
pub use key::{KEY_LEN, MAX_ID_LEN, StoreKey};
pub use keyring::Keyring;
pub use sealed::{PREFIX, is_sealed};

use sealed::{Field, Place};

use crate::{Error, TokenRecord};

/// `record` with its access and refresh tokens sealed with the current key of
/// `keyring`, for the grant `grant_key`; unchanged without a keyring.
pub fn seal_record(
    keyring: Option<&Keyring>,
    grant_key: &str,
    mut record: TokenRecord,
) -> Result<TokenRecord, Error> {
    let Some(keyring) = keyring else {
        return Ok(record);
    };
    let key = keyring.current();
    let place = |field| Place { grant_key, field };
    record.access_token = sealed::seal(key, place(Field::AccessToken), &record.access_token)?;
    if let Some(refresh) = record.refresh_token.as_mut() {
        *refresh = sealed::seal(key, place(Field::RefreshToken), refresh)?;
    }
    Ok(record)
}

/// `record` with its sealed tokens opened (those kept in clear are taken as they are).
/// An error, not transient, if a sealed one cannot be opened with `keyring`.
pub fn open_record(
    keyring: Option<&Keyring>,
    grant_key: &str,
    mut record: TokenRecord,
) -> Result<TokenRecord, Error> {
    let place = |field| Place { grant_key, field };
    if is_sealed(&record.access_token) {
        let opened = sealed::open(keyring, place(Field::AccessToken), &record.access_token)?;
        record.access_token.replace_range(.., &opened);
    }
    if let Some(refresh) = record.refresh_token.as_mut()
        && is_sealed(refresh)
    {
        let opened = sealed::open(keyring, place(Field::RefreshToken), refresh)?;
        refresh.replace_range(.., &opened);
    }
    Ok(record)
}

/// The data of pending record `id` of `grant_key`, sealed with the current key of
/// `keyring`; unchanged without a keyring.
pub fn seal_pending(
    keyring: Option<&Keyring>,
    grant_key: &str,
    id: &str,
    data: &str,
) -> Result<String, Error> {
    match keyring {
        Some(keyring) => sealed::seal(
            keyring.current(),
            Place {
                grant_key,
                field: Field::Pending(id),
            },
            data,
        ),
        None => Ok(data.to_owned()),
    }
}

/// The data of pending record `id` of `grant_key`, opened if it is sealed.
pub fn open_pending(
    keyring: Option<&Keyring>,
    grant_key: &str,
    id: &str,
    data: String,
) -> Result<String, Error> {
    if !is_sealed(&data) {
        return Ok(data);
    }
    let place = Place {
        grant_key,
        field: Field::Pending(id),
    };
    let opened = sealed::open(keyring, place, &data)?;
    Ok(opened.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Arrival, Expiry, Grant, Token};

    fn record() -> TokenRecord {
        Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        )
        .with_refresh_token("SENTINEL-REFRESH")
        .with_grant(Grant {
            refreshes_spent: 1,
            refresh_budget: Some(2),
            ..Grant::default()
        })
        .to_record()
    }

    fn keys(id: &str) -> Keyring {
        Keyring::new([StoreKey::generate(id).expect("random")]).expect("keys")
    }

    #[test]
    fn only_the_secrets_are_sealed() {
        let keyring = keys("k1");
        let plain = record();
        let sealed = seal_record(Some(&keyring), "g", plain.clone()).expect("sealed");
        let json = serde_json::to_string(&sealed).expect("json");
        assert!(!json.contains("SENTINEL"), "{json}");
        assert_eq!(
            (sealed.expires_at_ms, sealed.lifetime_ms, sealed.grant),
            (plain.expires_at_ms, plain.lifetime_ms, plain.grant)
        );
        let opened = open_record(Some(&keyring), "g", sealed.clone()).expect("opens");
        assert_eq!(opened.access_token, "SENTINEL-ACCESS");
        assert_eq!(opened.refresh_token.as_deref(), Some("SENTINEL-REFRESH"));
        // The two fields are bound apart: swapping them fails.
        let mut swapped = sealed.clone();
        std::mem::swap(
            &mut swapped.access_token,
            swapped.refresh_token.as_mut().expect("r"),
        );
        assert!(open_record(Some(&keyring), "g", swapped).is_err());
        // Another grant's record does not open here.
        assert!(open_record(Some(&keyring), "other", sealed).is_err());
    }

    #[test]
    fn clear_values_read_with_or_without_a_keyring_and_sealed_ones_need_one() {
        let plain = open_record(Some(&keys("k1")), "g", record()).expect("clear is read");
        assert_eq!(plain.access_token, "SENTINEL-ACCESS");
        assert_eq!(
            seal_record(None, "g", record()).expect("kept").access_token,
            "SENTINEL-ACCESS"
        );
        let sealed = seal_record(Some(&keys("k1")), "g", record()).expect("sealed");
        let err = open_record(None, "g", sealed).expect_err("no key");
        assert!(err.to_string().contains("this store has no key"), "{err}");
        assert!(!err.is_transient());
    }

    #[test]
    fn pending_data_is_sealed_per_record() {
        let keyring = keys("k1");
        let sealed = seal_pending(Some(&keyring), "g", "r1", "{\"score\": 98}").expect("sealed");
        assert!(is_sealed(&sealed) && !sealed.contains("score"));
        assert_eq!(
            open_pending(Some(&keyring), "g", "r1", sealed.clone()).expect("opens"),
            "{\"score\": 98}"
        );
        assert!(open_pending(Some(&keyring), "g", "r2", sealed.clone()).is_err());
        assert!(open_pending(None, "g", "r1", sealed).is_err());
        assert_eq!(seal_pending(None, "g", "r1", "d").expect("kept"), "d");
        assert_eq!(
            open_pending(Some(&keyring), "g", "r1", "d".into()).expect("clear"),
            "d"
        );
    }
}
