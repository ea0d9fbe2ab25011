//! A store in a directory, for the processes of one host.
//!
//! Each key is one JSON file, replaced atomically (write a temporary file, fsync,
//! rename, fsync the directory), so a reader sees the old token or the new one, never
//! half of one — even if the writer is killed mid-write. Files are created 0600 in a
//! 0700 directory. The refresh lease is an OS file lock on a sibling `.lease` file,
//! which the OS releases when its holder dies, so a crashed refresher never blocks the
//! others. Secrets rest on disk in clear, protected by those permissions only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{CasOutcome, Lease, TokenStore, Versioned};
use crate::{Error, Token, TokenRecord};

/// Tokens kept as files in one directory.
///
/// ```no_run
/// let store = tokenkit_core::FileStore::open("/var/lib/myapp/tokens")?;
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct FileRecord {
    generation: u64,
    token: TokenRecord,
}

impl FileStore {
    /// Opens (creating it 0700 if needed) the directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_error("cannot create the store directory", &e))?;
        Ok(Self { dir })
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
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| Error::store(format!("token file for key {key:?} is corrupt"), false))
    }

    fn write_atomically(&self, key: &str, record: &FileRecord) -> Result<(), Error> {
        let bytes =
            serde_json::to_vec(record).map_err(|_| Error::store("cannot encode a token", false))?;
        let target = self.path_for(key);
        let tmp = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            file_stem(key),
            std::process::id(),
            fastrand::u64(..)
        ));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &target)?;
            File::open(&self.dir)?.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(io_error("cannot write a token file", &e));
        }
        Ok(())
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
                &FileRecord {
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
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::store::conformance;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-filestore-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn compare_and_set_is_versioned() {
        let dir = temp_dir("cas");
        conformance::compare_and_set_is_versioned(&FileStore::open(&dir).expect("open")).await;
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[tokio::test]
    async fn lease_is_exclusive() {
        let dir = temp_dir("lease");
        conformance::lease_is_exclusive(&FileStore::open(&dir).expect("open")).await;
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[tokio::test]
    async fn files_are_private_and_keys_are_escaped() {
        let dir = temp_dir("mode");
        let store = FileStore::open(&dir).expect("open");
        store
            .compare_and_set("ilab/user 1", 0, &conformance::token("a"))
            .await
            .expect("cas");
        let path = store.path_for("ilab/user 1");
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some("ilab%2Fuser%201.json")
        );
        assert_eq!(
            fs::metadata(&path).expect("exists").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&dir).expect("exists").permissions().mode() & 0o777,
            0o700
        );
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_store_error_not_a_panic() {
        let dir = temp_dir("corrupt");
        let store = FileStore::open(&dir).expect("open");
        fs::write(store.path_for("k"), b"{\"generation\": 1, \"tok").expect("write");
        let err = store.load("k").await.unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
        fs::remove_dir_all(dir).expect("cleanup");
    }
}
