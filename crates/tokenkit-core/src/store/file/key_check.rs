//! The key check of a [`FileStore`]: the file `.keycheck` in the store's directory,
//! holding one sealed value ([`seal::seal_key_check`]), mode 0600, replaced atomically
//! like the token files.
//!
//! A store opened with a keyring reads, decides and writes it under an OS lock on
//! `.keycheck-lock`, so of two processes opening an empty directory with different
//! keys one writes its check and the other then verifies against it and is refused:
//! they cannot both win. Readers without a keyring take no lock: the rename shows them
//! the old check or the new one, never a part. Neither name can be a grant's: grant
//! files are `<stem>.json`, `<stem>.lock`, … and no extension is `keycheck`.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;

use super::{FileStore, io_error};
use crate::Error;
use crate::store::seal::{self, KeyCheck};

/// The file holding the check.
const FILE: &str = ".keycheck";
/// The file whose OS lock serialises writing the check.
const LOCK: &str = ".keycheck-lock";
/// How the check is named in messages.
const KEPT_IN: &str = "the file .keycheck in the store directory";
/// A check is about 100 bytes; a larger file is not one (and is not read whole).
const MAX_LEN: u64 = 4096;

impl FileStore {
    /// Verifies the store's key check against its keyring, writing one if there is none
    /// or if it was sealed with an older key ([`seal::verify_key_check`]).
    pub(super) fn verify_key_check(&self) -> Result<(), Error> {
        let Some(keyring) = self.keyring.as_ref() else {
            // Nothing will be written: a check written meanwhile is found by the next
            // open, and the records it seals refuse this store anyway.
            return seal::verify_key_check(None, self.read_key_check()?.as_deref(), KEPT_IN)
                .map(drop);
        };
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.dir.join(LOCK))
            .map_err(|e| io_error("cannot open the key check's lock file", &e))?;
        lock.lock()
            .map_err(|e| io_error("cannot lock the key check", &e))?;
        // Held until this function returns, after the rename: the next opener sees the
        // check written here.
        let stored = self.read_key_check()?;
        match seal::verify_key_check(Some(keyring), stored.as_deref(), KEPT_IN)? {
            KeyCheck::Holds => Ok(()),
            // Under the lock nobody else writes between the read and this write, so
            // "only if there is still none" holds.
            KeyCheck::Missing | KeyCheck::Older => {
                let check = seal::seal_key_check(keyring)?;
                self.replace_file(
                    "keycheck",
                    &self.dir.join(FILE),
                    format!("{check}\n").as_bytes(),
                )
                .map_err(|e| io_error("cannot write the key check", &e))
            }
        }
    }

    /// The text of `.keycheck`, `None` if there is none.
    fn read_key_check(&self) -> Result<Option<String>, Error> {
        let file = match fs::File::open(self.dir.join(FILE)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("cannot read the key check", &e)),
        };
        let mut text = String::new();
        // Not UTF-8 or too long: kept as text that is no check, which verifying refuses
        // as malformed.
        match file.take(MAX_LEN).read_to_string(&mut text) {
            Ok(_) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Some(String::new())),
            Err(e) => Err(io_error("cannot read the key check", &e)),
        }
    }
}
