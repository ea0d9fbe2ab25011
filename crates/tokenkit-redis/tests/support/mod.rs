//! A private `redis-server` per test: found on PATH, on a free port, in its own temporary
//! directory, without persistence; killed (and its directory removed) on drop.
//!
//! Without `redis-server` the tests print a notice and pass — unless `CI=true`, where
//! they fail: CI must never silently skip them.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenkit_redis::{RedisStore, RedisStoreBuilder};

pub mod cluster;

/// Starts a server, or returns from the test if there is none (outside CI).
#[macro_export]
macro_rules! redis_or_skip {
    () => {
        match support::RedisServer::start() {
            Some(server) => server,
            None => return,
        }
    };
}

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    flavor: Flavor,
}

/// What a server adds to the plain one (TLS, see `tls.rs`): arguments after the
/// defaults (later ones win), given the port picked for it, and how to tell that it
/// answers on that port.
pub struct Flavor {
    pub args: Box<dyn Fn(u16) -> Vec<String> + Send + Sync>,
    pub ready: Box<dyn Fn(u16) -> bool + Send + Sync>,
}

impl Flavor {
    /// A plain server, answering `PING` on its port.
    pub fn plain() -> Self {
        Self {
            args: Box::new(|_| Vec::new()),
            ready: Box::new(ping),
        }
    }
}

impl RedisServer {
    /// A new server, or `None` (after a notice) if `redis-server` is not installed and
    /// this is not CI.
    pub fn start() -> Option<Self> {
        Self::start_with(Flavor::plain())
    }

    /// A new server of `flavor`, or `None` as for [`RedisServer::start`].
    pub fn start_with(flavor: Flavor) -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            let hint =
                "redis-server not found on PATH (install it: apt-get install -y redis-server)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{hint}; CI must run the Redis tests");
            }
            eprintln!("NOTICE: {hint}; skipping this test");
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-redis-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("create the server directory");
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            flavor,
        };
        // A free port can be taken by someone else between our probe and the server's
        // bind: try a few.
        for _ in 0..5 {
            server.port = free_port();
            server.spawn();
            if server.wait_until_ready() {
                return Some(server);
            }
            server.kill();
        }
        panic!("redis-server did not start");
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args((self.flavor.args)(self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
    }

    fn wait_until_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false; // exited: the port was taken
            }
            if (self.flavor.ready)(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// The port the server was started on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A store builder with test-sized timeouts.
    pub fn builder(&self) -> RedisStoreBuilder {
        RedisStore::builder(self.url())
            .operation_timeout(Duration::from_millis(400))
            .connect_timeout(Duration::from_millis(300))
            .probe_interval(Duration::from_millis(200))
    }

    /// A connected store with test-sized timeouts.
    pub async fn store(&self) -> RedisStore {
        self.builder().connect().await.expect("connect")
    }

    /// A plain connection for inspecting and disturbing the server.
    pub async fn admin(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("admin connection")
    }

    /// Kills the server (its data is lost: no persistence).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        assert!(self.wait_until_ready(), "redis-server did not restart");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on (at the time of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A token living `secs` seconds.
pub fn token(access: &str, secs: u64) -> tokenkit_core::Token {
    tokenkit_core::Token::new(
        access,
        tokenkit_core::Expiry::after(tokenkit_core::Arrival::now(), Duration::from_secs(secs)),
    )
}

/// A token of a grant with `spent` of `budget` refreshes used.
pub fn budgeted(access: &str, spent: u32, budget: u32) -> tokenkit_core::Token {
    token(access, 600).with_grant(tokenkit_core::Grant {
        refreshes_spent: spent,
        refresh_budget: Some(budget),
        outcome_unknown: false,
        ..Default::default()
    })
}
