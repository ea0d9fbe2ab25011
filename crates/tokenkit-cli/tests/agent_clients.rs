//! The agent's client snippets (docs/agent/*) run as users run them: a `tokenkit
//! sandbox` process, a `tokenkit agent` process serving its ac grant over a Unix socket
//! and loopback TCP (with a bearer), and each snippet in its own interpreter — Python
//! and Node over the socket, Java over TCP, curl over both. Each must print the token
//! the agent serves, and after its refusal report a renewed one: exactly one renewal
//! (`ac.next` at the sandbox) per client, though they share the grant one after another.
//!
//! python3 is required when `CI=true`; node, java and curl are used when on `PATH` (a
//! notice says which were skipped). Plus: every snippet file appears verbatim in
//! docs/agent.md, the snippets compile, and examples/agent.toml passes `--check`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::Sandbox;

const GRANT: &str = "ac-east";
/// The variable the agent reads the grant's password from (a `{ env = … }` source).
const PASSWORD_VAR: &str = "TOKENKIT_AGENT_CLIENTS_TEST_AC_PASSWORD";
/// How long the agent may take to print its `listening on` lines.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long one client run may take (Java compiles its source first).
const CLIENT_LIMIT: Duration = Duration::from_secs(180);

/// The repository's root (this crate is crates/tokenkit-cli).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn snippets() -> PathBuf {
    root().join("docs/agent")
}

/// `program` as found on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// python3, or `None` with a notice; a failure under CI, whose machines have it.
fn python3() -> Option<PathBuf> {
    let found = on_path("python3");
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is not on PATH: the agent's Python client cannot be tested"
        );
        eprintln!("notice: python3 is not on PATH: the Python client is not tested");
    }
    found
}

/// A fresh directory of this test, short enough for a Unix socket path.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// A `tokenkit agent` process of the sandbox's ac grant, stopped on drop.
struct Agent {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    url: String,
    bearer_file: PathBuf,
}

impl Agent {
    fn start(sandbox: &Sandbox) -> Self {
        let dir = scratch("agent-clients");
        let bearer_file = dir.join("bearer");
        std::fs::write(&bearer_file, format!("bearer-{}\n", fastrand::u64(..)))
            .expect("write the bearer file");
        // Relative paths (the socket, the bearer) are the config file's directory's.
        let config = format!(
            r#"[listen]
unix = "agent.sock"
tcp = "127.0.0.1:0"
bearer_file = "bearer"

[agent]
store = "memory:"
wait_ms = 30000

[grants.{GRANT}]
platform = "ac"
base_url = "{base_url}"
user = "demo"
org_id = "demo-org"
password = {{ env = "{PASSWORD_VAR}" }}
cluster = "11112"
"#,
            base_url = sandbox.base_url()
        );
        let config_path = dir.join("agent.toml");
        std::fs::write(&config_path, config).expect("write the config");
        let stderr = std::fs::File::create(dir.join("agent.stderr")).expect("stderr file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
            .arg("agent")
            .arg("--config")
            .arg(&config_path)
            .env(PASSWORD_VAR, "demo-password")
            .env_remove("TOKENKIT_LOG")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the agent");
        let stdout = child.stdout.take().expect("the agent's stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut agent = Self {
            child,
            dir,
            socket: PathBuf::new(),
            url: String::new(),
            bearer_file,
        };
        let deadline = Instant::now() + START_LIMIT;
        let next_line = || {
            let left = deadline.saturating_duration_since(Instant::now());
            received.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "the agent printed no `listening on` line within {START_LIMIT:?}; its stderr:\n{}",
                    agent_stderr(&agent_dir(&config_path))
                )
            })
        };
        // Unix first, then TCP: the contract scripts read.
        let unix = next_line();
        let tcp = next_line();
        let socket = PathBuf::from(
            unix.strip_prefix("listening on unix:")
                .unwrap_or_else(|| panic!("the first line names the socket: {unix:?}")),
        );
        assert_eq!(
            socket,
            agent_dir(&config_path).join("agent.sock"),
            "listen.unix is relative to the config file's directory"
        );
        let url = tcp
            .strip_prefix("listening on ")
            .filter(|url| url.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("the second line names the TCP address: {tcp:?}"))
            .to_owned();
        agent.socket = socket;
        agent.url = url;
        agent
    }

    /// The grant's current access token, asked over the socket.
    fn token(&self) -> String {
        let (status, body) = self.get(&format!("/v1/grants/{GRANT}/token"));
        assert_eq!(status, 200, "the agent's token answer: {}", error_of(&body));
        body["access_token"]
            .as_str()
            .expect("an access_token")
            .to_owned()
    }

    /// One GET over the socket: its status and JSON body.
    fn get(&self, path: &str) -> (u16, Value) {
        let mut stream = UnixStream::connect(&self.socket).expect("connect to the socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("a read timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nTokenkit-Agent: 1\r\nConnection: close\r\n\r\n"
        )
        .expect("send the request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read the answer");
        let status = response
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .expect("an HTTP status line");
        let (_, body) = response.split_once("\r\n\r\n").expect("a body");
        (status, serde_json::from_str(body).expect("a JSON body"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn agent_dir(config_path: &Path) -> PathBuf {
    config_path.parent().expect("a directory").to_path_buf()
}

fn agent_stderr(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("agent.stderr")).unwrap_or_default()
}

/// An error answer's `error` object (an error holds no token), or a placeholder.
fn error_of(body: &Value) -> String {
    body.get("error")
        .map_or_else(|| "(not an error answer)".into(), Value::to_string)
}

/// Runs a client to its end within [`CLIENT_LIMIT`]; its stdout as JSON lines.
///
/// Output goes to files, not pipes, so a chatty client cannot block on a full pipe.
/// Failure messages show the client's stderr (its error answers hold no token), never
/// its stdout (which does).
fn run_client(name: &str, dir: &Path, mut command: Command) -> Vec<Value> {
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
    let deadline = Instant::now() + CLIENT_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the client's status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name}: still running after {CLIENT_LIMIT:?}; its stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(status.success(), "{name}: {status}; its stderr:\n{stderr}");
    let stdout = std::fs::read_to_string(&out_path).expect("the client's stdout");
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: line {} of its output is not JSON: {e}", i + 1))
        })
        .collect()
}

fn access_token<'a>(name: &str, line: &'a Value) -> &'a str {
    assert_eq!(line["grant"], GRANT, "{name}: {}", error_of(line));
    assert_eq!(line["platform"], "ac", "{name}");
    assert!(line["expires_in"].as_u64().is_some_and(|s| s > 0), "{name}");
    assert!(line["expires_at"].is_string(), "{name}");
    line["access_token"]
        .as_str()
        .filter(|token| !token.is_empty())
        .unwrap_or_else(|| panic!("{name}: an answer without access_token"))
}

/// Runs a client that prints the token, then the answer to its refusal report (and,
/// for curl, the token once more over TCP), and checks what it printed against the
/// agent and the sandbox: the agent's token first, then exactly one renewal.
fn check_client(sandbox: &Sandbox, agent: &Agent, name: &str, command: Command) -> Vec<Value> {
    let renewals = sandbox.count("ac.next");
    let current = agent.token();
    let lines = run_client(name, &agent.dir, command);
    assert!(
        lines.len() >= 2,
        "{name}: printed {} lines, not 2",
        lines.len()
    );
    let first = access_token(name, &lines[0]);
    let renewed = access_token(name, &lines[1]);
    // Compared without assert_eq!, whose message would print the tokens.
    assert!(
        first == current,
        "{name}: the first token is not the one the agent serves"
    );
    assert!(
        renewed != first,
        "{name}: the refusal report answered the refused token"
    );
    assert_eq!(
        sandbox.count("ac.next"),
        renewals + 1,
        "{name}: one refusal report renews exactly once (tokens/next)"
    );
    assert!(
        agent.token() == renewed,
        "{name}: the renewed token is not the one the agent serves now"
    );
    lines
}

fn python(dir: &Path) -> Command {
    let mut command = Command::new("python3");
    // Nothing written next to the snippets.
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPYCACHEPREFIX", dir.join("pycache"));
    command
}

/// What the Python snippet's `with_token` does when the platform itself refuses: the
/// sandbox revokes the agent's token, the ac `center` call answers 10008, the refusal
/// report renews it, and the repeated call succeeds.
const PYTHON_RECOVERY: &str = r#"
import json, sys, urllib.request
snippets, socket_path, grant, platform = sys.argv[1:5]
sys.path.insert(0, snippets)
import client

calls = []
def center(token):
    calls.append(1)
    request = urllib.request.Request(platform + "/ac/openapi/v2/center", headers={"token": token})
    with urllib.request.urlopen(request, timeout=15) as answer:
        return json.load(answer)

result = client.with_token(socket_path, grant, center, lambda a: a.get("code") == "10008")
print(json.dumps({"code": result.get("code"), "calls": len(calls)}))
"#;

#[test]
fn every_client_snippet_gets_the_agents_token_and_renews_it_once() {
    let sandbox = Sandbox::start();
    let agent = Agent::start(&sandbox);
    let socket = agent
        .socket
        .to_str()
        .expect("a UTF-8 socket path")
        .to_owned();
    let mut skipped = Vec::new();

    if python3().is_some() {
        let mut command = python(&agent.dir);
        command
            .arg(snippets().join("client.py"))
            .args([&socket, GRANT]);
        check_client(&sandbox, &agent, "python client.py", command);

        // The recovery pattern against the platform's own refusal.
        let revoked = agent.token();
        let answer = sandbox.call(
            "POST",
            "/_sandbox/ac/revoke",
            Some(&json!({ "token": revoked })),
        );
        assert_eq!(answer["revoked"], true, "the sandbox revokes the token");
        let centers = sandbox.count("ac.center");
        let mut command = python(&agent.dir);
        command
            .arg("-c")
            .arg(PYTHON_RECOVERY)
            .arg(snippets())
            .args([&socket, GRANT, &sandbox.base_url()]);
        let lines = run_client("python with_token", &agent.dir, command);
        assert_eq!(
            lines,
            [json!({"code": "0", "calls": 2})],
            "refused once (10008), then accepted with the renewed token"
        );
        assert_eq!(sandbox.count("ac.center"), centers + 2);
        assert!(
            agent.token() != revoked,
            "the agent replaced the revoked token"
        );
    } else {
        skipped.push("python3");
    }

    if on_path("node").is_some() {
        let mut command = Command::new("node");
        command
            .arg(snippets().join("agent-client.js"))
            .args([&socket, GRANT]);
        check_client(&sandbox, &agent, "node agent-client.js", command);
    } else {
        skipped.push("node");
    }

    if on_path("java").is_some() {
        let mut command = Command::new("java");
        command
            .arg(snippets().join("AgentClient.java"))
            .args([&agent.url, GRANT])
            .env("TOKENKIT_AGENT_BEARER_FILE", &agent.bearer_file);
        check_client(&sandbox, &agent, "java AgentClient.java", command);
    } else {
        skipped.push("java");
    }

    if on_path("curl").is_some() && on_path("sh").is_some() {
        let mut command = Command::new("sh");
        command
            .arg(snippets().join("curl.sh"))
            .args([&socket, &agent.url, GRANT])
            .env("TOKENKIT_AGENT_BEARER_FILE", &agent.bearer_file);
        let lines = check_client(&sandbox, &agent, "curl.sh", command);
        assert_eq!(lines.len(), 3, "curl.sh: socket, refusal, TCP");
        assert!(
            access_token("curl.sh", &lines[2]) == access_token("curl.sh", &lines[1]),
            "curl.sh: over TCP (with the bearer) the agent serves the renewed token"
        );
    } else {
        skipped.push("curl");
    }

    if !skipped.is_empty() {
        eprintln!("notice: not on PATH, so not tested: {}", skipped.join(", "));
    }
}

#[test]
fn docs_show_every_snippet_verbatim() {
    let doc = std::fs::read_to_string(root().join("docs/agent.md")).expect("docs/agent.md");
    for name in [
        "curl.sh",
        "client.py",
        "requests_tcp.py",
        "AgentClient.java",
        "agent-client.js",
    ] {
        let snippet = std::fs::read_to_string(snippets().join(name))
            .unwrap_or_else(|e| panic!("docs/agent/{name}: {e}"));
        assert!(
            doc.contains(&snippet),
            "docs/agent.md does not show docs/agent/{name} verbatim: paste the file into its \
             code block"
        );
    }
}

#[test]
fn the_python_snippets_compile() {
    if python3().is_none() {
        return;
    }
    let dir = scratch("agent-py-compile");
    // requests is not installed here: the requests snippet is only compiled.
    let output = python(&dir)
        .args(["-m", "py_compile"])
        .arg(snippets().join("requests_tcp.py"))
        .arg(snippets().join("client.py"))
        .output()
        .expect("run python3 -m py_compile");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_example_config_passes_the_check() {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
        .args(["agent", "--check", "--config"])
        .arg(root().join("examples/agent.toml"))
        .output()
        .expect("run tokenkit agent --check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "config ok: ac-east (ac), ac-platform (ac), bo-demo (bo), demo (ilab sessions)"
    );
    // Secrets come from the environment: no inline-secret warning.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
