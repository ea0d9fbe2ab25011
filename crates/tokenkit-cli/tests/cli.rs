//! The `tokenkit` binary as scripts use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn tokenkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tokenkit"))
}

/// The seed's ilab access token (exp 1711189629 = 2024-03-23T10:27:09Z).
const ILAB_SEED_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTExODk2MjksImp0aSI6ImE1N2FiOTljLTZlZDMtNGI5My1hOGEzLTA3NzQ2NDM0ZmZlOCIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.rnRo5Z0D4R2p6jd57Ld29hAOegDtddKA4Z4sp4C7kD8";

#[test]
fn sandbox_prints_its_address_first_and_serves_stats() {
    let mut child = tokenkit()
        .args(["sandbox", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .expect("the first line names the address")
        .to_owned();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /_sandbox/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    child.kill().expect("stop");
    child.wait().expect("reaped");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // `{"outcomes": {...}, "requests": {...}}`: keys in serde_json's sorted order.
    assert!(response.contains("\"requests\":{"), "{response}");
}

#[test]
fn inspect_shows_claims_and_expiry_in_utc_and_beijing_time() {
    let output = tokenkit()
        .args(["inspect", ILAB_SEED_TOKEN, "--json"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(json["expires_at"], "2024-03-23T10:27:09Z");
    assert_eq!(json["expires_at_beijing"], "2024-03-23 18:27:09");
    assert_eq!(json["expires_in"], 0, "long expired");
    assert_eq!(json["claims"]["un"], "1701808169793138690");

    let text = tokenkit()
        .args(["inspect", ILAB_SEED_TOKEN])
        .output()
        .expect("run");
    let text = String::from_utf8(text.stdout).expect("utf8");
    assert!(
        text.contains("2024-03-23 18:27:09 (Beijing)") && text.contains("time left: expired"),
        "{text}"
    );
}

#[test]
fn inspect_of_an_opaque_token_fails_with_one_line_on_stderr() {
    let output = tokenkit()
        .args(["inspect", "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not a JWT") && !stderr.contains("MtP0zZx1"),
        "{stderr}"
    );
}

#[test]
fn demo_runs_to_the_end() {
    let output = tokenkit().arg("demo").output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("requests the sandbox saw"), "{stdout}");
}

/// Defect: `ilab token` for a session never stored said "the launch ticket was already
/// exchanged", which sent users looking for an exchange that never happened. It says
/// what is missing, and asks for the exchange (exit 3: the user must authenticate).
#[test]
fn ilab_token_for_a_session_never_stored_says_so() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("never-stored-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = tokenkit()
        .args(["ilab", "token", "--base-url", "http://127.0.0.1:9"])
        .args(["--appid", "1681600222748241929", "--session", "nobody"])
        .args(["--store", &format!("file:{}", dir.display())])
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no grant of session \"nobody\"") && stderr.contains("ilab exchange"),
        "{stderr}"
    );
    assert!(!stderr.contains("already exchanged"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
