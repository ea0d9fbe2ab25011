//! Agent figures: token requests per second and their latencies over the Unix socket
//! and over TCP, beside what one `tokenkit ac token` process costs for the same token.
//!
//! Run: `cargo bench -p tokenkit-cli --bench agent` (figures: docs/agent-benchmark.md).
//!
//! It starts a `tokenkit sandbox` process and a `tokenkit agent` process (the release
//! binary) with one ac grant, `ac-east` (password login, cluster 11112, tokens of a
//! day), over a `file:` store in a scratch directory under the system's temp dir
//! (removed at the end; nothing is written to the repository). Once the agent has the
//! token:
//!
//! 1. **throughput and latency**: N keep-alive HTTP/1.1 connections (2, 8, 32, 64) each
//!    send `GET /v1/grants/ac-east/token` with `Tokenkit-Agent: 1` and read the whole
//!    answer before sending the next, for a warm-up then a measured window; every
//!    latency is kept (sorted for p50, p99, p99.9, max). The load generator
//!    (`agent/load.rs`) runs in this process on a single-threaded tokio runtime, so
//!    it and the agent **share the machine's cores**: the table shows how much CPU each
//!    used, and the rest of the machine (100% = one core), to tell which one is the
//!    bottleneck and whether other work disturbed the row. The two transports take
//!    turns at each N.
//! 2. **one request at a time**: one keep-alive connection; and a new connection per
//!    request (what a client that does not keep connections pays).
//! 3. **one process**: `tokenkit ac token --store file:DIR` run 50 times one after the
//!    other over the agent's store, so it makes no login (the count of logins is
//!    checked): the cost of a script asking the CLI instead of the agent.
//!
//! Why not divan: divan measures a closure in this process and reports no p99; the
//! figures here are about other processes (requests served by the agent, processes
//! started), at a fixed concurrency, with their percentiles. So the measuring is custom
//! and printed as one table; the numbers are wall-clock times read by `Instant`.
//!
//! Knobs (environment): `AGENT_BENCH_SECS` (measured seconds per row, default 5),
//! `AGENT_BENCH_WARMUP_SECS` (default 1), `AGENT_BENCH_CONNECTIONS` (default
//! `2,8,32,64`), `AGENT_BENCH_CLIENT_THREADS` (the load generator's threads; default 1,
//! a current-thread runtime), `AGENT_BENCH_RUNS` (processes, default 50).

#[path = "../tests/common/mod.rs"]
// Shared with the tests; the bench uses only part of it.
#[allow(dead_code)]
mod common;
#[path = "agent/load.rs"]
mod load;
#[path = "agent/table.rs"]
mod table;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use load::{AnyConn, Target};
use table::{Cpu, Row};

const TOKEN_PATH: &str = "/v1/grants/ac-east/token";
const PASSWORD: &str = "demo-password";

fn main() {
    let secs = env_number("AGENT_BENCH_SECS", 5);
    let warmup = Duration::from_secs(env_number("AGENT_BENCH_WARMUP_SECS", 1));
    let measure = Duration::from_secs(secs);
    let runs = usize::try_from(env_number("AGENT_BENCH_RUNS", 50)).expect("a run count");
    let client_threads = env_number("AGENT_BENCH_CLIENT_THREADS", 1);
    let connections: Vec<usize> = std::env::var("AGENT_BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "2,8,32,64".into())
        .split(',')
        .map(|n| n.trim().parse().expect("AGENT_BENCH_CONNECTIONS: numbers"))
        .collect();
    let runtime = if client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(usize::try_from(client_threads).expect("threads"));
        builder
    }
    .enable_all()
    .build()
    .expect("the load generator's runtime");

    let scratch = Scratch::new();
    let sandbox = common::Sandbox::start_with(&["--ac-ttl", "86400"]);
    let store = format!("file:{}", scratch.0.join("store").display());
    let agent = Agent::start(&scratch.0, &sandbox.base_url(), &store);
    let unix = Target::Unix(agent.unix.clone());
    let tcp = Target::Tcp(agent.tcp);
    let token = runtime.block_on(warm(&unix));
    assert_eq!(sandbox.count("ac.tokens"), 1, "the agent logged in once");

    // The two transports take turns at each concurrency, so that other work on the
    // machine, if any, disturbs both alike; the table shows them one after the other.
    let mut by_transport = [Vec::new(), Vec::new()];
    for &n in &connections {
        for (rows, name, target) in [(0, "unix socket", &unix), (1, "tcp 127.0.0.1", &tcp)] {
            let cpu = Cpu::start(agent.child.id());
            let measured = runtime
                .block_on(load::run(target, TOKEN_PATH, n, warmup, measure))
                .expect("the load run");
            by_transport[rows].push(Row::of(
                format!("{name}, keep-alive"),
                n.to_string(),
                measured,
                Some(cpu.stop()),
            ));
        }
    }
    let mut rows: Vec<Row> = by_transport.into_iter().flatten().collect();
    for (name, target) in [("unix socket", &unix), ("tcp 127.0.0.1", &tcp)] {
        let cpu = Cpu::start(agent.child.id());
        let measured = runtime
            .block_on(load::run(target, TOKEN_PATH, 1, warmup, measure))
            .expect("the sequential run");
        rows.push(Row::of(
            format!("{name}, one at a time"),
            "1".into(),
            measured,
            Some(cpu.stop()),
        ));
    }
    for (name, target, count) in [("unix socket", &unix, 5000), ("tcp 127.0.0.1", &tcp, 2000)] {
        let cpu = Cpu::start(agent.child.id());
        let measured = runtime
            .block_on(load::fresh_connections(target, TOKEN_PATH, count))
            .expect("the fresh-connection run");
        rows.push(Row::of(
            format!("{name}, new connection each"),
            "1".into(),
            measured,
            Some(cpu.stop()),
        ));
    }
    let logins = sandbox.count("ac.tokens");
    rows.push(Row::of(
        "`tokenkit ac token` process".into(),
        "-".into(),
        processes(&sandbox.base_url(), &store, runs, &token),
        None,
    ));
    assert_eq!(
        sandbox.count("ac.tokens"),
        logins,
        "the processes found the token in the store: no login"
    );
    assert_eq!(sandbox.count("ac.next"), 0, "no renewal during the bench");

    println!(
        "tokenkit agent, GET {TOKEN_PATH}: {} cores, load generator on {} thread(s) in this \
         process (it shares the cores with the agent); {secs} s measured per row after {} s \
         warm-up",
        std::thread::available_parallelism().map_or(0, usize::from),
        client_threads.max(1),
        warmup.as_secs(),
    );
    table::print(&rows);
    drop(agent);
}

/// Waits (bounded) for the agent's first token; the token, to compare with the CLI's.
async fn warm(target: &Target) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = match AnyConn::connect(target, TOKEN_PATH).await {
            Ok(mut conn) => conn.get().await.map(<[u8]>::to_vec),
            Err(error) => Err(error),
        };
        match answer {
            Ok(body) => {
                let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                assert!(
                    body["expires_in"].as_u64().unwrap_or(0) > 3600,
                    "a token of a day (the sandbox's --ac-ttl)"
                );
                return body["access_token"]
                    .as_str()
                    .expect("an access_token")
                    .to_owned();
            }
            Err(error) if Instant::now() > deadline => {
                panic!("the agent gave no token within 30 s: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// `runs` `tokenkit ac token` processes one after the other over `store` (after one
/// untimed run that loads the binary into the page cache).
fn processes(base_url: &str, store: &str, runs: usize, token: &str) -> load::Measured {
    let once = || {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
            .args(["ac", "token", "--user", "demo", "--org-id", "demo-org"])
            .args([
                "--cluster",
                "11112",
                "--base-url",
                base_url,
                "--store",
                store,
            ])
            .env("TOKENKIT_AC_PASSWORD", PASSWORD)
            .env_remove("TOKENKIT_LOG")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("run tokenkit ac token");
        let took = started.elapsed();
        assert!(output.status.success(), "tokenkit ac token failed");
        assert!(
            output.stdout.trim_ascii() == token.as_bytes(),
            "tokenkit ac token printed another token than the agent's"
        );
        u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)
    };
    once();
    let start = Instant::now();
    let latencies = (0..runs).map(|_| once()).collect();
    load::Measured {
        latencies,
        elapsed: start.elapsed(),
    }
}

/// A `tokenkit agent` process and the addresses it printed; killed on drop.
struct Agent {
    child: Child,
    unix: PathBuf,
    tcp: SocketAddr,
    _stdout: BufReader<ChildStdout>,
}

impl Agent {
    fn start(dir: &Path, base_url: &str, store: &str) -> Self {
        let config = dir.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "[listen]\nunix = \"agent.sock\"\ntcp = \"127.0.0.1:0\"\n\n\
                 [agent]\nstore = \"{store}\"\n\n\
                 [grants.ac-east]\nplatform = \"ac\"\nbase_url = \"{base_url}\"\n\
                 user = \"demo\"\norg_id = \"demo-org\"\n\
                 password = {{ env = \"TOKENKIT_AC_PASSWORD\" }}\ncluster = \"11112\"\n"
            ),
        )
        .expect("write agent.toml");
        let stderr = std::fs::File::create(dir.join("agent.stderr")).expect("agent.stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
            .arg("agent")
            .arg("--config")
            .arg(&config)
            .env("TOKENKIT_AC_PASSWORD", PASSWORD)
            // Logging is off, as in a production agent at its default level.
            .env_remove("TOKENKIT_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the agent");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = || {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("the agent's stdout");
            if line.is_empty() {
                let mut why = String::new();
                let _ = std::fs::File::open(dir.join("agent.stderr"))
                    .and_then(|mut f| f.read_to_string(&mut why));
                panic!("the agent stopped before listening: {why}");
            }
            line.trim().to_owned()
        };
        let first = line();
        let second = line();
        let unix = first
            .strip_prefix("listening on unix:")
            .expect("first: listening on unix:PATH")
            .into();
        let tcp = second
            .strip_prefix("listening on http://")
            .expect("then: listening on http://ADDR")
            .parse()
            .expect("an address");
        Self {
            child,
            unix,
            tcp,
            _stdout: stdout,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory under the temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tokenkit-agent-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: a number"))
    })
}
