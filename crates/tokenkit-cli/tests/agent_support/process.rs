//! The `tokenkit agent` process: started in a fresh directory with its config, its
//! `listening on` lines read, its stderr collected, signalled with `kill`, killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{Api, DEADLINE, SECRET_ENV, Setup};

/// A running agent.
pub struct Agent {
    child: Child,
    dir: PathBuf,
    /// Whether the directory is removed on drop (not when it is another agent's).
    owns_dir: bool,
    setup: Setup,
    stderr: Arc<Mutex<String>>,
    api: Api,
}

/// An agent that ended by itself.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Whether `agent.sock` exists in its directory after the exit.
    pub left_socket: bool,
}

impl Agent {
    /// Writes `setup`'s config into a fresh directory named after `name`, starts the
    /// agent there and waits for its `listening on` lines.
    pub fn start(name: &str, setup: Setup) -> Self {
        Self::launch(fresh_dir(name), setup, true)
    }

    /// Like [`start`](Self::start), in the directory of another agent (whose config file
    /// is overwritten; its socket path is the same).
    pub fn start_in(dir: &Path, setup: Setup) -> Self {
        Self::launch(dir.to_path_buf(), setup, false)
    }

    fn launch(dir: PathBuf, setup: Setup, owns_dir: bool) -> Self {
        write_config(&dir, &setup);
        let mut child = spawn(&dir, &setup);
        let stderr = collect(child.stderr.take().expect("the agent's stderr"));
        let lines = lines(child.stdout.take().expect("the agent's stdout"));
        let mut listening = Vec::new();
        let start = Instant::now();
        while listening.len() < setup.listeners() {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match lines.recv_timeout(left) {
                Ok(line) => listening.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait for the agent");
                    panic!(
                        "the agent exited ({status}) before listening; stderr:\n{}",
                        snapshot(&stderr)
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!(
                        "the agent printed no `listening on` line within {DEADLINE:?}; \
                         stderr:\n{}",
                        snapshot(&stderr)
                    );
                }
            }
        }
        let (socket, tcp) = addresses(&listening, &setup);
        if let Some(socket) = &socket {
            assert_eq!(
                socket,
                &dir.join("agent.sock"),
                "the socket is the config's relative path, from the config's directory"
            );
        }
        let api = Api::new(socket, tcp, setup.bearer.clone());
        Self {
            child,
            dir,
            owns_dir,
            setup,
            stderr,
            api,
        }
    }

    /// Runs an agent that is expected to stop by itself (a config it refuses), for at
    /// most [`DEADLINE`].
    pub fn run_to_exit(name: &str, setup: Setup) -> Exited {
        let dir = fresh_dir(name);
        let exited = Self::run_to_exit_in(&dir, setup);
        let _ = std::fs::remove_dir_all(&dir);
        exited
    }

    /// Like [`run_to_exit`](Self::run_to_exit), in the directory of another agent.
    pub fn run_to_exit_in(dir: &Path, setup: Setup) -> Exited {
        write_config(dir, &setup);
        let mut child = spawn(dir, &setup);
        let stderr = collect(child.stderr.take().expect("the agent's stderr"));
        let stdout = collect(child.stdout.take().expect("the agent's stdout"));
        let status = wait_exit(&mut child).unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "the agent kept running for {DEADLINE:?}; stderr:\n{}",
                snapshot(&stderr)
            )
        });
        // The collectors end at EOF, which follows the exit.
        let text = |buffer: &Arc<Mutex<String>>| {
            let start = Instant::now();
            while Arc::strong_count(buffer) > 1 && start.elapsed() < DEADLINE {
                std::thread::sleep(Duration::from_millis(10));
            }
            snapshot(buffer)
        };
        Exited {
            status,
            stdout: text(&stdout),
            stderr: text(&stderr),
            left_socket: dir.join("agent.sock").exists(),
        }
    }

    /// The directory of the config file (and of the socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The client of this agent (cheap to clone into tasks).
    pub fn api(&self) -> Api {
        self.api.clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Rewrites the config file with `setup` (for a reload).
    pub fn rewrite(&mut self, setup: Setup) {
        write_config(&self.dir, &setup);
        self.setup = setup;
    }

    /// Writes `text` as the config file, as is (a broken config).
    pub fn write_raw_config(&self, text: &str) {
        std::fs::write(self.dir.join("agent.toml"), text).expect("write the config");
    }

    /// Sends `signal` (`HUP`, `TERM`, `INT`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed: {status}");
    }

    /// Waits (at most [`DEADLINE`]) for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the agent") {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the agent did not exit within {DEADLINE:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the agent wrote on stderr so far.
    pub fn stderr(&self) -> String {
        snapshot(&self.stderr)
    }

    /// Waits (at most [`DEADLINE`]) until stderr holds `needle`; returns stderr.
    pub async fn wait_stderr(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {needle:?} on the agent's stderr within {DEADLINE:?}; stderr:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Deref for Agent {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A new empty directory for one agent, short enough for a socket path (108 bytes).
fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "agent-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the agent's directory");
    let socket = dir.join("agent.sock");
    assert!(
        socket.as_os_str().len() < 100,
        "{} is too long for a Unix socket path",
        socket.display()
    );
    dir
}

fn write_config(dir: &Path, setup: &Setup) {
    if let Some(secret) = &setup.bearer {
        std::fs::write(dir.join("bearer"), format!("{secret}\n")).expect("write the bearer");
    }
    std::fs::write(dir.join("agent.toml"), setup.text()).expect("write the config");
}

fn spawn(dir: &Path, setup: &Setup) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .arg("agent")
        .arg("--config")
        .arg(dir.join("agent.toml"))
        // Not the directory of the config: relative paths must be the config's, not
        // the working directory's.
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("TOKENKIT_LOG")
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in SECRET_ENV {
        command.env(name, value);
    }
    for (name, value) in &setup.env {
        command.env(name, value);
    }
    if let Some(filter) = &setup.log {
        command.env("TOKENKIT_LOG", filter);
    }
    command.spawn().expect("spawn tokenkit agent")
}

/// The socket path and TCP address of the `listening on` lines (the Unix one first).
fn addresses(lines: &[String], setup: &Setup) -> (Option<PathBuf>, Option<SocketAddr>) {
    let mut lines = lines.iter();
    let socket = setup.unix.then(|| {
        let line = lines.next().expect("a line per listener");
        let path = line
            .strip_prefix("listening on unix:")
            .unwrap_or_else(|| panic!("the first line names the socket: {line:?}"));
        PathBuf::from(path)
    });
    let tcp = setup.tcp.as_ref().map(|_| {
        let line = lines.next().expect("a line per listener");
        line.strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("the TCP line names the address: {line:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("the TCP line names an address: {line:?}"))
    });
    (socket, tcp)
}

/// The lines of `stream`, as they come.
fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Everything `stream` says, collected in the background until EOF.
fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let filling = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            filling
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&line);
            line.clear();
        }
    });
    buffer
}

fn snapshot(buffer: &Arc<Mutex<String>>) -> String {
    buffer.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn wait_exit(child: &mut Child) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if let Some(status) = child.try_wait().expect("poll the agent") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
