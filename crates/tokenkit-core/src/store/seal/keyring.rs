//! The keys a store seals with: the current one, which seals every write, and older
//! ones, which still open what they sealed. Read from text, an environment variable or
//! a private file.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use super::key::{KEY_LEN, StoreKey, invalid_id, is_valid_id};
use crate::Error;

/// A key file larger than this is not a key file (a few hundred keys fit in 64 KiB).
const MAX_FILE_LEN: u64 = 64 * 1024;

/// The keys of a store: the current one seals every write; every key opens what it
/// sealed, so a new key can be rolled in while old records still read. Cloning shares
/// the keys (wiped when the last clone is dropped); `Debug` shows their ids only.
///
/// # The text
///
/// Entries `ID:BASE64`, separated by newlines or commas; the first is the current key.
/// Spaces around an entry, empty entries and lines starting with `#` are ignored. The
/// Base64 (standard or URL-safe alphabet, padding optional) holds exactly 32 bytes:
///
/// ```text
/// # k2 rolled in on 2026-12-01; k1 still opens what it sealed
/// k2:<the 44 characters `head -c 32 /dev/urandom | base64` printed>
/// k1:<the older key's 44 characters>
/// ```
///
/// Make a key with `head -c 32 /dev/urandom | base64`.
///
/// ```
/// use tokenkit_core::store::seal::Keyring;
/// let keyring = Keyring::parse(
///     "k2:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n\
///      k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
/// )?;
/// assert_eq!(keyring.current().id(), "k2");
/// assert!(keyring.key("k1").is_some());
/// assert!(!format!("{keyring:?}").contains("AQID"));
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    /// The current key first; ids are unique.
    keys: Arc<[StoreKey]>,
}

impl Keyring {
    /// A keyring of `keys`, the first the current one. An error if there is none or
    /// two share an id.
    pub fn new(keys: impl IntoIterator<Item = StoreKey>) -> Result<Self, Error> {
        let keys: Vec<StoreKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(Error::config(format!("no store key ({EXPECTED})")));
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id() == key.id()) {
                return Err(Error::config(format!(
                    "the store key id {:?} is given twice; each key needs its own id",
                    key.id()
                )));
            }
        }
        Ok(Self { keys: keys.into() })
    }

    /// Parses the text described on [`Keyring`]. Errors name the entry by
    /// its place (and its id, once that is known good), never its key material.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let entries = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        let mut keys = Vec::new();
        for (n, entry) in entries.enumerate() {
            keys.push(parse_entry(n + 1, entry)?);
        }
        Self::new(keys)
    }

    /// The keyring in the environment variable `name` (e.g. `TOKENKIT_STORE_KEY`).
    pub fn from_env(name: &str) -> Result<Self, Error> {
        let text = Zeroizing::new(std::env::var(name).map_err(|e| {
            Error::config(match e {
                std::env::VarError::NotPresent => {
                    format!("the environment variable {name} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("the environment variable {name} is not UTF-8")
                }
            })
        })?);
        Self::parse(&text).map_err(|e| within(&format!("the environment variable {name}"), e))
    }

    /// The keyring in the file at `path`, which must be private to its owner (like an
    /// SSH key: a file that its group or other users can read or write is refused, so a
    /// key cannot be used after it was exposed by accident).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let place = format!("the store key file {}", path.display());
        let io = |e: std::io::Error| Error::config(format!("cannot read {place}: {}", e.kind()));
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(Error::config(format!("{place} is not a file")));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::config(format!(
                "{place} is open to other users (mode {mode:04o}); make it private: chmod 600 {}",
                path.display()
            )));
        }
        if meta.len() > MAX_FILE_LEN {
            return Err(Error::config(format!(
                "{place} is larger than {MAX_FILE_LEN} bytes: not a key file"
            )));
        }
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => Error::config(format!("{place} is not UTF-8")),
                _ => io(e),
            })?;
        Self::parse(&text).map_err(|e| within(&place, e))
    }

    /// The key that seals every write.
    pub fn current(&self) -> &StoreKey {
        &self.keys[0]
    }

    /// The key with this id, if the keyring has it.
    pub fn key(&self, id: &str) -> Option<&StoreKey> {
        self.keys.iter().find(|k| k.id() == id)
    }

    /// The ids of the keys, the current one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(StoreKey::id)
    }

    /// Whether `other` holds the same keys in the same order (an agent's reload keeps
    /// its stores when the key did not change).
    pub fn same_as(&self, other: &Keyring) -> bool {
        self.keys.len() == other.keys.len()
            && self
                .keys
                .iter()
                .zip(other.keys.iter())
                .all(|(a, b)| a.same_as(b))
    }

    /// The ids as a list for messages: `"k2", "k1"`.
    pub(super) fn ids_text(&self) -> String {
        self.ids()
            .map(|id| format!("{id:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current().id())
            .field("older", &self.ids().skip(1).collect::<Vec<_>>())
            .finish()
    }
}

/// What an entry looks like, for the messages.
const EXPECTED: &str = "expected ID:BASE64, e.g. k1:<base64 of 32 random bytes>; make one with \
                        `head -c 32 /dev/urandom | base64`";

/// Standard or URL-safe Base64, padded or not: `base64` makes the first, other tools
/// the second.
fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [alphabet::STANDARD, alphabet::URL_SAFE]
        .iter()
        .find_map(|a| GeneralPurpose::new(a, config).decode(text).ok())
        .map(Zeroizing::new)
}

fn parse_entry(n: usize, entry: &str) -> Result<StoreKey, Error> {
    let Some((id, material)) = entry.split_once(':') else {
        return Err(Error::config(format!(
            "entry {n} has no key id ({EXPECTED})"
        )));
    };
    let id = id.trim();
    if !is_valid_id(id) {
        return Err(Error::config(format!("entry {n}: {}", invalid_id())));
    }
    let bytes = decode(material.trim())
        .ok_or_else(|| Error::config(format!("entry {n} (key {id:?}): the key is not Base64")))?;
    let bytes: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
        Error::config(format!(
            "entry {n} (key {id:?}): the key is {} bytes; a store key is {KEY_LEN} ({EXPECTED})",
            bytes.len()
        ))
    })?;
    let bytes = Zeroizing::new(bytes);
    if bytes.iter().all(|b| *b == bytes[0]) {
        return Err(Error::config(format!(
            "entry {n} (key {id:?}): the key is one byte repeated, a placeholder rather than a \
             random key ({EXPECTED})"
        )));
    }
    StoreKey::new(id, *bytes)
}

/// `error` (a config error) said of `place`.
fn within(place: &str, error: Error) -> Error {
    match error {
        Error::Config(reason) => Error::config(format!("{place}: {reason}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const K1: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    const K2: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

    fn refused(result: Result<Keyring, Error>) -> String {
        let err = result.expect_err("refused");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let text = err.to_string();
        for material in [K1, K2, &K1[..12], &K2[..12]] {
            assert!(!text.contains(material), "{text}");
        }
        text
    }

    #[test]
    fn entries_by_newline_or_comma_the_first_current() {
        let text = format!("# a comment, with a comma\n  k2:{K2} ,\r\n\n, k1:{K1}\n");
        let keyring = Keyring::parse(&text).expect("parses");
        assert_eq!(keyring.ids().collect::<Vec<_>>(), ["k2", "k1"]);
        let same = Keyring::parse(&format!("k2:{K2},k1:{K1}")).expect("parses");
        assert!(keyring.same_as(&same));
        let rotated = Keyring::parse(&format!("k1:{K1},k2:{K2}")).expect("parses");
        assert!(!keyring.same_as(&rotated));
        // URL-safe and unpadded Base64 are the same key.
        let url_safe = K2.replace('+', "-").replace('/', "_");
        let unpadded = Keyring::parse(&format!("k2:{}", url_safe.trim_end_matches('=')));
        assert!(
            unpadded
                .expect("parses")
                .current()
                .same_as(keyring.current())
        );
        assert_eq!(
            format!("{keyring:?}"),
            r#"Keyring { current: "k2", older: ["k1"] }"#
        );
    }

    #[test]
    fn bad_text_is_a_config_error_that_never_shows_key_material() {
        let cases = [
            (String::new(), "no store key"),
            ("# only a comment\n , ".to_owned(), "no store key"),
            (K1.to_owned(), "entry 1 has no key id"),
            (format!("k1:{K1}\n{K2}"), "entry 2 has no key id"),
            (format!("k 1:{K1}"), "entry 1: a key id is"),
            (format!("{}:{K1}", &K2[..40]), "entry 1: a key id is"),
            (
                format!("k1:{}", &K1[..32]),
                "entry 1 (key \"k1\"): the key is 24 bytes",
            ),
            (
                "k1:not base64!".to_owned(),
                "entry 1 (key \"k1\"): the key is not Base64",
            ),
            (format!("k1:{K1}{K2}"), "the key is not Base64"),
            (format!("k1:{K1},k1:{K2}"), "given twice"),
            (
                "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
                "placeholder",
            ),
        ];
        for (text, expected) in cases {
            let reason = refused(Keyring::parse(&text));
            assert!(reason.contains(expected), "{text:?}: {reason}");
        }
    }

    #[test]
    fn from_env_names_the_variable() {
        // Each test process has its own environment; a name no other test uses.
        let name = "TOKENKIT_SEAL_TEST_UNSET_KEY";
        assert!(
            refused(Keyring::from_env(name)).contains("TOKENKIT_SEAL_TEST_UNSET_KEY is not set")
        );
    }

    #[test]
    fn a_key_file_must_be_private() {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-keyring-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("store.key");
        std::fs::write(&path, format!("k2:{K2}\nk1:{K1}\n")).expect("write");
        let mode = |m| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m));
        mode(0o600).expect("chmod");
        let keyring = Keyring::from_file(&path).expect("a private file");
        assert_eq!(keyring.current().id(), "k2");
        for open in [0o644, 0o640, 0o604, 0o620] {
            mode(open).expect("chmod");
            let reason = refused(Keyring::from_file(&path));
            assert!(reason.contains(&format!("mode {open:04o}")), "{reason}");
            assert!(reason.contains("chmod 600"), "{reason}");
        }
        mode(0o600).expect("chmod");
        std::fs::write(&path, format!("k2:{}", &K2[..20])).expect("write");
        let reason = refused(Keyring::from_file(&path));
        assert!(
            reason.starts_with("configuration error: the store key file"),
            "{reason}"
        );
        assert!(reason.contains("entry 1 (key \"k2\")"), "{reason}");
        assert!(refused(Keyring::from_file(dir.join("missing"))).contains("cannot read"));
        assert!(refused(Keyring::from_file(&dir)).contains("not a file"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
