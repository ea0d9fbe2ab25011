//! The temporary files of the FileStore's atomic replacement, and the removal of those
//! a dead writer left behind.
//!
//! A writer names its temporary file `.{stem}.{pid}.{n}.tmp` (`n` random) and holds an
//! OS lock on it from just after creating it until after the rename. Killed in between
//! (kill -9, a crash), it leaves a complete copy of the token — secrets in clear —
//! under a name nobody reads, forever. Opening a store removes such files: those whose
//! lock is free *and* whose writer is no longer running, or that are older than
//! [`STALE_AFTER`].
//!
//! The lock is what keeps a live writer's file safe even where its pid means nothing
//! here (another pid namespace sharing the directory, a reused pid); the pid and the
//! age cover the instant between creating the file and locking it. Where `/proc` does
//! not list processes (not Linux), only the age tells a dead writer.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How old an unlocked temporary file must be to be removed whatever its pid says. A
/// write takes milliseconds; this only has to be far longer than the instant between
/// creating the file and locking it, and short enough that a copy of a token does not
/// linger where the pid is reused (a container's writer is often pid 1 on every run).
pub(super) const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

const SUFFIX: &str = ".tmp";

/// Creates (0600, must not exist) and locks a new temporary file in `dir` for a file
/// of stem `stem`. The lock lasts as long as the returned handle.
pub(super) fn create(dir: &Path, stem: &str) -> io::Result<(PathBuf, File)> {
    let path = dir.join(name(stem, std::process::id(), fastrand::u64(..)));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    if let Err(e) = file.lock() {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok((path, file))
}

fn name(stem: &str, pid: u32, n: u64) -> String {
    format!(".{stem}.{pid}.{n}{SUFFIX}")
}

/// The writer's pid, if `name` is one of our temporary files. Stems never contain a
/// `.` (see `file_stem`), so the name splits unambiguously.
fn writer_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(SUFFIX)?;
    let mut parts = inner.rsplitn(3, '.');
    let n = parts.next()?;
    let pid = parts.next()?;
    let stem = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if stem.is_empty() || !digits(n) || !digits(pid) {
        return None;
    }
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is known not to run: `Some(true)` when `/proc` lists
/// processes and not this one, `None` when this host cannot tell.
fn is_gone(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(!Path::new("/proc").join(pid.to_string()).exists())
}

/// Removes the temporary files in `dir` left by writers that died before renaming
/// them; returns how many. Best effort: a file that cannot be inspected or removed is
/// left (and logged), it never makes opening the store fail.
pub(super) fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some(pid) = writer_pid(name) else {
            continue;
        };
        match remove_if_stale(&entry.path(), pid) {
            Ok(true) => {
                removed += 1;
                tracing::info!(
                    file = name,
                    "removed a temporary file left by a dead writer"
                );
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                file = name,
                error = %e.kind(),
                "cannot remove a stale temporary file"
            ),
        }
    }
    removed
}

fn remove_if_stale(path: &Path, pid: u32) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        // Renamed or removed meanwhile: nothing left to do.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        // A live writer holds it, whatever its pid looks like from here.
        Err(fs::TryLockError::WouldBlock) => return Ok(false),
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    let age = file
        .metadata()?
        .modified()?
        .elapsed()
        .unwrap_or(Duration::ZERO);
    if is_gone(pid) != Some(true) && age <= STALE_AFTER {
        return Ok(false);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    use std::time::SystemTime;

    use super::*;

    /// Makes `path` look last written `age` ago.
    fn set_age(path: &Path, age: Duration) {
        let file = File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() - age)
            .expect("set mtime");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-tempfiles-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        fs::create_dir_all(&dir).expect("dir");
        dir
    }

    /// The pid of a process that has exited and been reaped: no process has it now
    /// (unless the system reuses it within these few instructions).
    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("reaped");
        pid
    }

    /// A temporary file as a writer killed before its rename leaves it.
    fn leftover(dir: &Path, pid: u32) -> PathBuf {
        let path = dir.join(name("ilab%2Falice", pid, fastrand::u64(..)));
        fs::write(&path, b"{\"access_token\":\"SENTINEL-ACCESS\"}").expect("write");
        path
    }

    #[test]
    fn names_are_parsed_strictly() {
        assert_eq!(writer_pid(&name("k", 42, 7)), Some(42));
        assert_eq!(writer_pid(&name("ilab%2Fuser_1-x", 1, u64::MAX)), Some(1));
        for other in [
            "k.json",
            ".k.lock",
            ".k.42.tmp",
            "..42.7.tmp",
            ".k.x.7.tmp",
            ".k.42.7x.tmp",
            ".k.-42.7.tmp",
            ".k.99999999999.7.tmp",
            "k.42.7.tmp",
        ] {
            assert_eq!(writer_pid(other), None, "{other}");
        }
    }

    #[test]
    fn a_dead_writers_file_is_removed_and_a_live_writers_kept() {
        let dir = temp_dir("pids");
        let dead = leftover(&dir, dead_pid());
        let live = leftover(&dir, std::process::id());
        let unrelated = dir.join(".notes.tmp");
        fs::write(&unrelated, b"someone else's").expect("write");
        let expected = usize::from(is_gone(0).is_some());
        assert_eq!(remove_stale(&dir), expected);
        // Without /proc (not Linux) the dead writer's fresh file waits for its age.
        assert_eq!(dead.exists(), expected == 0);
        assert!(live.exists(), "a live writer's file was removed");
        assert!(unrelated.exists(), "a file that is not ours was removed");
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn an_old_file_is_removed_whatever_its_pid() {
        let dir = temp_dir("age");
        // Our own pid: as a reused pid looks (a killed writer of an earlier run).
        let old = leftover(&dir, std::process::id());
        set_age(&old, STALE_AFTER + Duration::from_secs(60));
        let recent = leftover(&dir, std::process::id());
        set_age(&recent, STALE_AFTER / 2);
        assert_eq!(remove_stale(&dir), 1);
        assert!(!old.exists());
        assert!(recent.exists());
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn a_locked_file_is_kept_however_dead_and_old_it_looks() {
        let dir = temp_dir("locked");
        // A writer in another pid namespace: its pid is absent here, its lock is not.
        let (path, writer) = create(&dir, "k").expect("create");
        let foreign = dir.join(name("k", dead_pid(), 1));
        fs::rename(&path, &foreign).expect("rename");
        set_age(&foreign, STALE_AFTER * 2);
        assert_eq!(remove_stale(&dir), 0);
        assert!(foreign.exists());
        drop(writer);
        assert_eq!(remove_stale(&dir), 1);
        assert!(!foreign.exists());
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn a_created_file_is_private_and_named_for_this_process() {
        let dir = temp_dir("create");
        let (path, _file) = create(&dir, "k").expect("create");
        let file_name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(writer_pid(file_name), Some(std::process::id()));
        let mode = fs::metadata(&path).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(dir).expect("cleanup");
    }
}
