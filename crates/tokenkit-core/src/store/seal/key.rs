//! One store key: a short id, written beside every value it seals, and 32 secret bytes.

use std::fmt;

use aes_gcm::aead::{Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Key};
use zeroize::Zeroizing;

use crate::Error;

/// The length of a store key: AES-256 takes 32 bytes.
pub const KEY_LEN: usize = 32;

/// The longest key id. Ids are written in clear beside every sealed value, so they are
/// short names (`k1`, `2026-12`), never anything secret.
pub const MAX_ID_LEN: usize = 32;

/// A key that seals the secrets a store keeps ([`Keyring`](super::Keyring)): an id
/// (`[A-Za-z0-9_-]{1,32}`) and 32 random bytes, wiped when dropped (each clone too).
/// `Debug` shows the id only.
///
/// ```
/// use tokenkit_core::store::seal::StoreKey;
/// let key = StoreKey::new("k1", [7; 32])?;
/// assert_eq!(key.id(), "k1");
/// assert_eq!(format!("{key:?}"), r#"StoreKey { id: "k1", .. }"#);
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Clone)]
pub struct StoreKey {
    id: String,
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl StoreKey {
    /// The key `id` with the given bytes; an error if the id is not 1 to 32 of
    /// `A-Z a-z 0-9 _ -`.
    pub fn new(id: impl Into<String>, bytes: [u8; KEY_LEN]) -> Result<Self, Error> {
        let id = id.into();
        if !is_valid_id(&id) {
            return Err(Error::config(invalid_id()));
        }
        Ok(Self {
            id,
            bytes: Zeroizing::new(bytes),
        })
    }

    /// A new random key `id`, from the operating system's random source.
    pub fn generate(id: impl Into<String>) -> Result<Self, Error> {
        let bytes = <[u8; KEY_LEN]>::try_generate()
            .map_err(|_| Error::config("the operating system's random source failed"))?;
        Self::new(id, bytes)
    }

    /// The key's id, written in clear beside every value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `other` is the same key (same id, same bytes).
    pub fn same_as(&self, other: &StoreKey) -> bool {
        self.id == other.id && *self.bytes == *other.bytes
    }

    /// The cipher of this key (its round keys are wiped when it is dropped).
    pub(super) fn cipher(&self) -> Aes256Gcm {
        let key: &Key<Aes256Gcm> = (&*self.bytes).into();
        Aes256Gcm::new(key)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Whether `id` may name a key: 1 to [`MAX_ID_LEN`] of `A-Z a-z 0-9 _ -` (so it can
/// stand between the `:` of a sealed value and never needs escaping).
pub(super) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// What a key id must be (the offending id is not repeated: a malformed entry may have
/// key material where its id should be).
pub(super) fn invalid_id() -> String {
    format!("a key id is 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, '_', '-'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_names() {
        for good in ["k1", "K_2", "2026-12", &"a".repeat(MAX_ID_LEN)] {
            assert!(StoreKey::new(good, [1; KEY_LEN]).is_ok(), "{good}");
        }
        for bad in [
            "",
            "k 1",
            "k:1",
            "ключ",
            "k1\n",
            &"a".repeat(MAX_ID_LEN + 1),
        ] {
            let err = StoreKey::new(bad, [1; KEY_LEN]).expect_err(bad);
            assert!(matches!(err, Error::Config(_)), "{err:?}");
        }
    }

    #[test]
    fn generated_keys_differ_and_debug_shows_the_id_only() {
        let a = StoreKey::generate("k1").expect("random");
        let b = StoreKey::generate("k1").expect("random");
        assert!(!a.same_as(&b));
        assert!(a.same_as(&a));
        let debug = format!("{a:?}");
        assert_eq!(debug, r#"StoreKey { id: "k1", .. }"#);
    }
}
