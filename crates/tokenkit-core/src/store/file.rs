//! A store in a directory, for the processes of one host.
//!
//! Each key is one JSON file, replaced atomically (write a temporary file, fsync,
//! rename, fsync the directory), so a reader sees the old token or the new one, never
//! half of one — even if the writer is killed mid-write. Files are created 0600 in a
//! 0700 directory. The refresh lease is an OS file lock on a sibling `.lease` file,
//! which the OS releases when its holder dies, so a crashed refresher never blocks the
//! others. Secrets rest on disk protected by those permissions only, unless the store
//! has a [`Keyring`] ([`FileStore::open_sealed`]): then the access and refresh tokens
//! and the pending records' data are sealed ([`super::seal`]), while generation,
//! expiry, grant accounting and metadata stay readable, and the file `.keycheck` proves
//! at every open that the keyring holds the store's key. A writer killed between writing
//! its temporary file and renaming it leaves that copy behind, and the next
//! [`FileStore::open`] removes it.
//!
//! A key's pending records are one more file, `<key>.pending.json`, replaced the same
//! way under its own `.pending-lock`; it names its key, so the keys with pending
//! records can be listed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::seal::{self, Keyring};
use super::{CasOutcome, Lease, PendingRecord, TokenStore, Versioned, temp_file};
use crate::{Error, Token, TokenRecord};

mod key_check;

/// Tokens kept as files in one directory.
///
/// ```no_run
/// let store = tokenkit_core::FileStore::open("/var/lib/myapp/tokens")?;
/// // Or with the tokens sealed at rest:
/// let keyring = tokenkit_core::Keyring::from_env("TOKENKIT_STORE_KEY")?;
/// let sealed = tokenkit_core::FileStore::open_sealed("/var/lib/myapp/tokens", keyring)?;
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
    /// Seals the secrets written, opens those read; `None`: kept in clear.
    keyring: Option<Keyring>,
}

#[derive(Serialize, Deserialize)]
struct FileRecord {
    generation: u64,
    token: TokenRecord,
}

/// The pending records of one key, oldest first.
#[derive(Serialize, Deserialize)]
struct PendingFile {
    key: String,
    records: Vec<PendingEntry>,
}

#[derive(Serialize, Deserialize)]
struct PendingEntry {
    id: String,
    data: String,
}

/// The suffix of a pending-records file.
const PENDING_SUFFIX: &str = ".pending.json";

impl FileStore {
    /// Opens (creating it 0700 if needed) the directory `dir`, and removes the
    /// temporary files that writers killed mid-write left there (each a copy of a
    /// token, its secrets in clear unless the writer had a keyring); a live writer's
    /// temporary file is never touched. Secrets are kept in clear. A directory sealed by
    /// [`FileStore::open_sealed`] (it has a `.keycheck` file) is refused, not transient:
    /// this process forgot its keyring, and would otherwise fail only at a record.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::open_with(dir.into(), None)
    }

    /// Opens `dir` as [`FileStore::open`] does, with its secrets sealed by `keyring`
    /// ([`super::seal`]): every write seals the access and refresh tokens and pending
    /// data with its current key; reads open what any of its keys sealed, and take
    /// values kept in clear as they are (so an existing store can switch encryption on).
    ///
    /// First it verifies the store's key check, the file `.keycheck`
    /// ([`super::seal::verify_key_check`]): a store sealed with a key id the keyring
    /// lacks, or with other bytes under the same id, is refused with a store error that
    /// is not transient, before anything is read or written. A store without a check
    /// gets one sealed with the current key (two processes opening an empty directory
    /// with different keys: the second is refused); one sealed with an older key of the
    /// keyring gets it again with the current key, so processes that lack the new key
    /// are refused from then on.
    pub fn open_sealed(dir: impl Into<PathBuf>, keyring: Keyring) -> Result<Self, Error> {
        Self::open_with(dir.into(), Some(keyring))
    }

    fn open_with(dir: PathBuf, keyring: Option<Keyring>) -> Result<Self, Error> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_error("cannot create the store directory", &e))?;
        temp_file::remove_stale(&dir);
        let store = Self { dir, keyring };
        store.verify_key_check()?;
        Ok(store)
    }

    /// The keyring sealing this store's secrets, if any.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(key)))
    }

    fn sibling(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", file_stem(key)))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(FileStore) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this))
            .await
            .map_err(|_| Error::store("a file-store task failed", false))?
    }

    fn read(&self, key: &str) -> Result<Option<FileRecord>, Error> {
        let bytes = match fs::read(self.path_for(key)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("cannot read a token file", &e)),
        };
        let record: FileRecord = serde_json::from_slice(&bytes)
            .map_err(|_| Error::store(format!("token file for key {key:?} is corrupt"), false))?;
        Ok(Some(FileRecord {
            generation: record.generation,
            token: seal::open_record(self.keyring.as_ref(), key, record.token)?,
        }))
    }

    /// Writes `record` (its secrets in clear) as the file of `key`, sealing them first
    /// if the store has a keyring.
    fn write_atomically(&self, key: &str, record: FileRecord) -> Result<(), Error> {
        let record = FileRecord {
            generation: record.generation,
            token: seal::seal_record(self.keyring.as_ref(), key, record.token)?,
        };
        let bytes = serde_json::to_vec(&record)
            .map_err(|_| Error::store("cannot encode a token", false))?;
        self.replace_file(key, &self.path_for(key), &bytes)
            .map_err(|e| io_error("cannot write a token file", &e))
    }

    /// Writes `bytes` to `target` through a temporary file, so a reader sees the old
    /// contents or the new ones, even if this process is killed mid-write (the
    /// temporary file it then leaves is removed by the next [`FileStore::open`]).
    fn replace_file(&self, key: &str, target: &Path, bytes: &[u8]) -> io::Result<()> {
        // Locked until `file` is dropped, after the rename: see `temp_file`.
        let (tmp, mut file) = temp_file::create(&self.dir, &file_stem(key))?;
        let result = (|| {
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, target)?;
            File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn pending_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}{PENDING_SUFFIX}", file_stem(key)))
    }

    fn read_pending_file(&self, path: &Path) -> Result<Option<PendingFile>, Error> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("cannot read a pending-records file", &e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            Error::store(format!("pending-records file {name:?} is corrupt"), false)
        })
    }

    /// Applies `change` to the pending records of `key` under the key's pending lock,
    /// and writes them back (or removes the file when none is left).
    fn update_pending<T>(
        &self,
        key: &str,
        change: impl FnOnce(&mut Vec<PendingEntry>) -> T,
    ) -> Result<T, Error> {
        let lock = self.open_lock_file(key, "pending-lock")?;
        lock.lock()
            .map_err(|e| io_error("cannot lock a pending-records file", &e))?;
        let path = self.pending_path(key);
        let mut records = self
            .read_pending_file(&path)?
            .map(|f| f.records)
            .unwrap_or_default();
        let outcome = change(&mut records);
        if records.is_empty() {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("cannot remove a pending-records file", &e));
                }
                _ => {}
            }
        } else {
            let file = PendingFile {
                key: key.to_owned(),
                records,
            };
            let bytes = serde_json::to_vec(&file)
                .map_err(|_| Error::store("cannot encode pending records", false))?;
            self.replace_file(key, &path, &bytes)
                .map_err(|e| io_error("cannot write a pending-records file", &e))?;
        }
        Ok(outcome)
    }

    fn open_lock_file(&self, key: &str, ext: &str) -> Result<File, Error> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.sibling(key, ext))
            .map_err(|e| io_error("cannot open a lock file", &e))
    }
}

/// Keys become file names: safe characters kept, anything else hex-escaped.
fn file_stem(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn io_error(what: &str, e: &io::Error) -> Error {
    Error::store(format!("{what}: {}", e.kind()), false)
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self, key: &str) -> Result<Option<Versioned>, Error> {
        let key = key.to_owned();
        let record = self.blocking(move |s| s.read(&key)).await?;
        Ok(record.map(|r| Versioned {
            generation: r.generation,
            token: Token::from_record(r.token),
        }))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error> {
        let key = key.to_owned();
        let record = token.to_record();
        self.blocking(move |s| {
            // The `.lock` file serialises compare-and-set across processes; it is held
            // only for the read-compare-write, never across a platform call.
            let lock = s.open_lock_file(&key, "lock")?;
            lock.lock()
                .map_err(|e| io_error("cannot lock a token file", &e))?;
            let current = s.read(&key)?;
            let generation = current.as_ref().map_or(0, |r| r.generation);
            if generation != expected {
                let current = current.map(|r| Versioned {
                    generation: r.generation,
                    token: Token::from_record(r.token),
                });
                return Ok(CasOutcome::Conflict(current));
            }
            s.write_atomically(
                &key,
                FileRecord {
                    generation: expected + 1,
                    token: record,
                },
            )?;
            Ok(CasOutcome::Written(expected + 1))
        })
        .await
    }

    async fn try_lease(&self, key: &str, _ttl: Duration) -> Result<Option<Lease>, Error> {
        let key = key.to_owned();
        self.blocking(move |s| {
            let file = s.open_lock_file(&key, "lease")?;
            match file.try_lock() {
                Ok(()) => Ok(Some(Lease {
                    fence: format!("{}-{}", std::process::id(), fastrand::u64(..)),
                    key,
                    guard: Some(Box::new(file)),
                })),
                Err(fs::TryLockError::WouldBlock) => Ok(None),
                Err(fs::TryLockError::Error(e)) => Err(io_error("cannot lock a lease file", &e)),
            }
        })
        .await
    }

    async fn release_lease(&self, lease: Lease) -> Result<(), Error> {
        // Dropping the file handle releases the OS lock.
        drop(lease);
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), Error> {
        let key = key.to_owned();
        self.blocking(move |s| match fs::remove_file(s.path_for(&key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(io_error("cannot remove a token file", &e))
            }
            _ => Ok(()),
        })
        .await
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn put_pending(&self, key: &str, id: &str, data: &str) -> Result<(), Error> {
        let data = seal::seal_pending(self.keyring.as_ref(), key, id, data)?;
        let (key, id) = (key.to_owned(), id.to_owned());
        self.blocking(move |s| {
            s.update_pending(&key, |records| {
                match records.iter_mut().find(|r| r.id == id) {
                    Some(record) => record.data = data,
                    None => records.push(PendingEntry { id, data }),
                }
            })
        })
        .await
    }

    async fn pending(&self, key: &str) -> Result<Vec<PendingRecord>, Error> {
        let key = key.to_owned();
        self.blocking(move |s| {
            let file = s.read_pending_file(&s.pending_path(&key))?;
            let keyring = s.keyring.as_ref();
            file.map(|f| f.records)
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let data = seal::open_pending(keyring, &key, &r.id, r.data)?;
                    Ok(PendingRecord::new(r.id, data))
                })
                .collect()
        })
        .await
    }

    async fn remove_pending(&self, key: &str, id: &str) -> Result<bool, Error> {
        let (key, id) = (key.to_owned(), id.to_owned());
        self.blocking(move |s| {
            s.update_pending(&key, |records| {
                let before = records.len();
                records.retain(|r| r.id != id);
                records.len() != before
            })
        })
        .await
    }

    async fn pending_keys(&self) -> Result<Vec<String>, Error> {
        self.blocking(|s| {
            let entries = fs::read_dir(&s.dir)
                .map_err(|e| io_error("cannot list the store directory", &e))?;
            let mut keys = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| io_error("cannot list the store directory", &e))?;
                let name = entry.file_name();
                let is_pending = name
                    .to_str()
                    .is_some_and(|n| n.ends_with(PENDING_SUFFIX) && !n.starts_with('.'));
                if !is_pending {
                    continue;
                }
                if let Some(file) = s.read_pending_file(&entry.path())?
                    && !file.records.is_empty()
                {
                    keys.push(file.key);
                }
            }
            Ok(keys)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
