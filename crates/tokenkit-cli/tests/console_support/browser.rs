//! Debian's headless Chromium, driven through its chromedriver over WebDriver: one
//! chromedriver child process and one browser session, both ended on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::DEADLINE;

/// Debian's `chromium` package.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `chromium-driver` package.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium's switches. Without the network ones (QUIC, background networking,
/// component updates, sync) its start-up connections are refused on a closed network;
/// `--no-sandbox` because tests may run as root, where Chromium's sandbox refuses to
/// start.
const ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// A browser session; dropping it ends the session, Chromium and chromedriver, and
/// removes the browser's profile directory.
pub struct Browser {
    client: Client,
    /// Set until the session was ended by [`Browser::close`].
    session_id: Option<String>,
    // Dropped after the session is ended, before the profile is removed.
    driver: Driver,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a session of a fresh Chromium profile under `scratch`.
    /// Fails (never skips) when Chromium or chromedriver is not installed.
    pub async fn start(scratch: &Path) -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the console's browser tests need Debian's `{package}` \
                 package, which scripts/test.sh installs (apt-get install chromium \
                 chromium-driver)"
            );
        }
        let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile directory");

        let driver = Driver::start();
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(&profile));
        // Twice the deadline: Chromium's first start on a loaded machine is slow.
        let client = tokio::time::timeout(2 * DEADLINE, builder.connect(&driver.url()))
            .await
            .unwrap_or_else(|_| panic!("no browser session within {:?}", 2 * DEADLINE))
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        let session_id = client
            .session_id()
            .await
            .expect("the session's id")
            .expect("a session was created");
        Self {
            client,
            session_id: Some(session_id),
            driver,
            profile,
        }
    }

    /// The WebDriver client of the session.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (Chromium quits) the ordinary way.
    pub async fn close(mut self) {
        self.client
            .clone()
            .close()
            .await
            .expect("end the browser session");
        self.session_id = None;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed step the async client may no longer be served: end the session
        // with a blocking request, so chromedriver quits Chromium before it goes.
        if let Some(id) = self.session_id.take() {
            self.driver.end_session(&id);
        }
        self.driver.stop();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The session's capabilities: Debian's Chromium with [`ARGS`] and its own profile, and
/// page loads and scripts bounded by the deadline (chromedriver's default is 5 min).
fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let mut args: Vec<String> = ARGS.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let ms = u64::try_from(DEADLINE.as_millis()).expect("a deadline in u64 ms");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    capabilities.insert(
        "timeouts".into(),
        json!({ "pageLoad": ms, "script": ms, "implicit": 0 }),
    );
    capabilities
}

/// A `chromedriver` child process in a process group of its own, so that the
/// Chromium it starts (which outlives a killed chromedriver) is signalled with it.
struct Driver {
    child: Child,
    /// `127.0.0.1:<port>`.
    addr: String,
    stopped: bool,
}

impl Driver {
    /// `chromedriver --port=0`: it picks a free port and names it in a line of its
    /// stdout, so no port is chosen here that another process could take first.
    fn start() -> Self {
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let mut driver = Self {
            child,
            addr: String::new(),
            stopped: false,
        };
        let (port_tx, port_rx) = mpsc::channel();
        // The thread reads on to the end, so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = port_tx.send(rest.trim_end_matches('.').trim().to_owned());
                }
            }
        });
        let port = port_rx
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("chromedriver did not name its port within {DEADLINE:?}"));
        driver.addr = format!("127.0.0.1:{port}");
        driver
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `DELETE /session/<id>`, blocking: chromedriver quits Chromium and answers once
    /// it is gone.
    fn end_session(&self, session_id: &str) {
        let Ok(mut stream) = TcpStream::connect(&self.addr) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(DEADLINE));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let _ = write!(
            stream,
            "DELETE /session/{session_id} HTTP/1.1\r\nHost: {}\r\n\
             Connection: close\r\nContent-Length: 0\r\n\r\n",
            self.addr
        );
        // chromedriver keeps the connection open: read up to the end of its answer.
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer_complete(&answer) {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Signals the process group by chromedriver's id (not reaped yet, so it names no
    /// one else's group): SIGTERM, which lets a Chromium still running stop its helpers
    /// too; then kills and reaps chromedriver.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `answer` holds a whole HTTP answer: its head and `Content-Length` bytes.
fn answer_complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}
