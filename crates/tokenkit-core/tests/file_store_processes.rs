//! FileStore across real OS processes: the test binary re-runs itself as the child.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokenkit_core::{
    Arrival, Error, Expiry, FileStore, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};

const ROLE: &str = "TOKENKIT_TEST_CHILD_ROLE";
const DIR: &str = "TOKENKIT_TEST_CHILD_DIR";

/// A provider that records each upstream call as a line in a file shared by the
/// processes, so the parent can count calls across processes.
#[derive(Debug)]
struct FileCountingProvider {
    dir: PathBuf,
}

impl FileCountingProvider {
    fn record(&self) -> usize {
        let path = self.dir.join("calls");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("calls file");
        writeln!(file, "{}", std::process::id()).expect("append");
        std::fs::read_to_string(path).expect("read").lines().count()
    }
}

#[async_trait]
impl TokenProvider for FileCountingProvider {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.record();
        // Slow enough that the other process certainly tries meanwhile.
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(Token::new(
            format!("token-{n}-{}", std::process::id()),
            Expiry::after(Arrival::now(), Duration::from_secs(3600)),
        ))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-procs-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn spawn_child(role: &str, dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// Not a test of its own: the body of the child processes.
#[test]
fn child_entry() {
    let (Ok(role), Ok(dir)) = (std::env::var(ROLE), std::env::var(DIR)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = Arc::new(FileStore::open(dir.join("store")).expect("store"));
        match role.as_str() {
            "race" => {
                let cache = Arc::new(
                    TokenCache::builder(FileCountingProvider { dir: dir.clone() })
                        .store(store)
                        .key("shared")
                        .build(),
                );
                let tasks: Vec<_> = (0..50)
                    .map(|_| {
                        let cache = Arc::clone(&cache);
                        tokio::spawn(async move {
                            cache
                                .token()
                                .await
                                .map(|t| t.access_token().expose_secret().to_owned())
                        })
                    })
                    .collect();
                let mut seen = std::collections::BTreeSet::new();
                for task in tasks {
                    seen.insert(task.await.expect("task").expect("token"));
                }
                for token in seen {
                    println!("TOKEN {token}");
                }
            }
            "writer" => {
                // Write ever-larger tokens as fast as possible until killed.
                let mut generation = store
                    .load("k")
                    .await
                    .expect("load")
                    .map_or(0, |v| v.generation);
                println!("READY");
                loop {
                    let body = "x".repeat(1000 + (generation as usize % 50) * 1000);
                    let token =
                        Token::new(body, Expiry::after(Arrival::now(), Duration::from_secs(60)));
                    if let Ok(tokenkit_core::CasOutcome::Written(g)) =
                        store.compare_and_set("k", generation, &token).await
                    {
                        generation = g;
                    }
                }
            }
            other => panic!("unknown role {other}"),
        }
    });
}

#[test]
fn two_processes_racing_on_one_key_refresh_once() {
    let dir = temp_dir("race");
    let children = [spawn_child("race", &dir), spawn_child("race", &dir)];
    let mut tokens = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("child ran");
        assert!(output.status.success(), "child failed");
        let stdout = String::from_utf8(output.stdout).expect("utf8");
        let mine: Vec<_> = stdout
            .lines()
            .filter_map(|l| l.split_once("TOKEN "))
            .map(|(_, t)| t.trim().to_owned())
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "all 50 callers in a process got one token: {stdout}"
        );
        tokens.extend(mine);
    }
    assert_eq!(tokens[0], tokens[1], "both processes use the same token");
    let calls = std::fs::read_to_string(dir.join("calls"))
        .expect("calls")
        .lines()
        .count();
    assert_eq!(calls, 1, "one upstream call for two processes");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_writer_killed_mid_write_never_leaves_a_corrupt_or_empty_file() {
    let dir = temp_dir("kill");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for round in 0..6 {
        let mut child = spawn_child("writer", &dir);
        // Wait for READY, then let it write for a while before SIGKILL.
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        assert!(
            lines.any(|l| l.is_ok_and(|l| l.contains("READY"))),
            "child never became ready"
        );
        std::thread::sleep(Duration::from_millis(50 + fastrand::u64(..200)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let store = FileStore::open(dir.join("store")).expect("store");
        let loaded = runtime.block_on(store.load("k")).expect("never corrupt");
        let versioned = loaded.expect("never empty");
        assert!(versioned.generation > 0, "round {round}");
        assert!(versioned.token.access_token().expose_secret().len() >= 1000);
        // Opening the store removed the copy the killed writer may have left.
        assert_eq!(
            temp_files(&dir.join("store")),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// The names of the temporary files in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    names.sort();
    names
}

#[test]
fn opening_a_store_removes_the_temporary_copy_a_dead_writer_left() {
    let dir = temp_dir("leftover");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = FileStore::open(&dir).expect("store");
    let token = Token::new(
        "SENTINEL-KEPT",
        Expiry::after(Arrival::now(), Duration::from_secs(60)),
    );
    runtime
        .block_on(store.compare_and_set("k", 0, &token))
        .expect("cas");
    // What a writer killed between its write and its rename leaves: a complete copy
    // of the grant under `.{key}.{pid}.{random}.tmp`. This one's writer has exited.
    let mut writer = Command::new("true").spawn().expect("spawn true");
    let dead = writer.id();
    writer.wait().expect("reaped");
    let leaked = format!(".k.{dead}.{}.tmp", fastrand::u64(..));
    let copy = std::fs::read(store.path_for("k")).expect("token file");
    std::fs::write(dir.join(&leaked), &copy).expect("leftover");
    // A writer still running (this process) is mid-write: its file stays.
    let in_flight = format!(".k.{}.{}.tmp", std::process::id(), fastrand::u64(..));
    std::fs::write(dir.join(&in_flight), &copy).expect("in flight");

    let reopened = FileStore::open(&dir).expect("reopen");
    assert_eq!(temp_files(&dir), [in_flight]);
    let loaded = runtime
        .block_on(reopened.load("k"))
        .expect("load")
        .expect("kept");
    assert_eq!(loaded.token.access_token().expose_secret(), "SENTINEL-KEPT");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
