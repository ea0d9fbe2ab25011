//! What the CLI tests share: a `tokenkit sandbox` process and its request counters.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;

/// A `tokenkit sandbox` process, stopped on drop.
pub struct Sandbox {
    child: Child,
    addr: String,
    _stdout: BufReader<ChildStdout>,
}

impl Sandbox {
    // Not every test file starts a sandbox without arguments.
    #[allow(dead_code)]
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A sandbox with more arguments of `tokenkit sandbox` (`--ac-ttl 8`,
    /// `--latency-ms 300`, …).
    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
            .args(["sandbox", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the sandbox");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .expect("the first line names the address")
            .to_owned();
        Self {
            child,
            addr,
            _stdout: stdout,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request to the sandbox; the JSON body of its 200 answer.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let (_, body) = response.split_once("\r\n\r\n").expect("a body");
        serde_json::from_str(body).expect("a JSON body")
    }

    /// How many requests a platform route has seen (`ac.next`, `ilab.refreshtoken`, …).
    pub fn count(&self, route: &str) -> u64 {
        self.call("GET", "/_sandbox/stats", None)["requests"][route]
            .as_u64()
            .unwrap_or(0)
    }
}

/// `tokenkit ac token` of the sandbox's demo account (password login) for cluster
/// 11112 over `store`, with none of the caller's ac, refusal or store-key variables.
// Not every test file runs it.
#[allow(dead_code)]
pub fn ac_token(base_url: &str, store: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .args(["ac", "token", "--base-url", base_url])
        .args(["--user", "demo", "--org-id", "demo-org"])
        .args(["--cluster", "11112", "--store", store])
        .env_remove("TOKENKIT_AC_SECRET_KEY")
        .env_remove("TOKENKIT_REFUSED_TOKEN")
        .env_remove("TOKENKIT_STORE_KEY")
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .stdin(Stdio::null());
    command
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
