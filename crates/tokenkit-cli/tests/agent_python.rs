//! The Python client of docs/agent/client.py (standard library only, `http.client` over
//! `AF_UNIX`) against a real agent: it gets a token, reports it refused, gets the
//! renewed one; a late refusal of the old token renews nothing.
//!
//! python3 is required when `CI=true`; elsewhere its absence skips the test with a
//! notice.

mod agent_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use agent_support::{Agent, DEADLINE, Setup, Via, ac_grant};
use common::Sandbox;
use serde_json::Value;

const GRANT: &str = "hpc";

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/agent")
}

/// Whether python3 runs here; a failure under CI, whose machines have it.
fn have_python() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is not on PATH; CI must run the Python client's test"
        );
        eprintln!("NOTICE: python3 not found on PATH; skipping this test");
    }
    found
}

/// Runs `python3 ARGS…` in docs/agent, for at most [`DEADLINE`].
fn python(args: &[&str]) -> Output {
    let child = Command::new("python3")
        .args(args)
        .current_dir(client_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let pid = child.id();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(child.wait_with_output());
    });
    match receive.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("python3 ran"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("python3 {args:?} did not finish within {DEADLINE:?}");
        }
    }
}

/// The JSON lines a run printed.
fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

fn access_token(line: &Value) -> String {
    line["access_token"]
        .as_str()
        .expect("the line is a token answer")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_gets_a_token_reports_it_refused_and_gets_the_renewed_one() {
    if !have_python() {
        return;
    }
    let sandbox = Sandbox::start();
    let agent = Agent::start(
        "python",
        Setup::unix().table(ac_grant(GRANT, &sandbox.base_url(), "11112")),
    );
    let served = agent.token(Via::Unix, GRANT).await.access_token();
    let socket = agent.socket();
    let socket = socket.to_str().expect("a UTF-8 socket path");

    let output = python(&["client.py", socket, GRANT]);
    assert!(
        output.status.success(),
        "client.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "a token line, then a renewed-token line");
    let (first, renewed) = (access_token(&lines[0]), access_token(&lines[1]));
    assert_eq!(first, served, "the client got the agent's token");
    assert_ne!(renewed, first, "the refusal renewed it");
    assert_eq!(lines[1]["grant"], GRANT);
    assert!(lines[1]["expires_in"].as_u64().is_some_and(|s| s > 0));
    assert_eq!(sandbox.count("ac.next"), 1, "one renewal");
    assert_eq!(sandbox.count("ac.tokens"), 1, "no login");

    // The module's functions, as an application imports them: a late refusal of the old
    // token gets the current one, with no upstream call.
    let script = format!(
        "import json, client\n\
         late = client.refused({socket:?}, {GRANT:?}, {first:?})\n\
         print(json.dumps({{'late': late, 'current': client.token({socket:?}, {GRANT:?})}}))\n"
    );
    let output = python(&["-c", &script]);
    assert!(
        output.status.success(),
        "the module's functions failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["late"],
        renewed.as_str(),
        "a late refusal: the current token"
    );
    assert_eq!(lines[0]["current"], renewed.as_str());
    assert_eq!(sandbox.count("ac.next"), 1, "an old token renews nothing");

    // An error answer: exit 1, the agent's error on stderr.
    let output = python(&["client.py", socket, "nope"]);
    assert_eq!(output.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&output.stderr).expect("a JSON error line");
    assert_eq!(error["error"]["kind"], "not_found");
}
