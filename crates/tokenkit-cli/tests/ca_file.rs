//! `--ca-file`: a platform behind a TLS front end whose CA is generated at test time
//! is reached with its CA, and without it the command fails with a clear "not
//! trusted" that names the flag.

mod common;
#[path = "../../tokenkit-core/tests/support/tls_front.rs"]
mod tls_front;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::Sandbox;
use tls_front::TlsFront;

/// `tokenkit <args…>` with no proxy of the test's own environment.
fn tokenkit(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    for variable in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "TOKENKIT_PROXY",
    ] {
        command.env_remove(variable);
    }
    command
        .env_remove("TOKENKIT_LOG")
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .args(args);
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run tokenkit")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ca_file(front: &TlsFront) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ca-file-{}.pem", std::process::id()));
    std::fs::write(&path, front.ca_pem()).expect("write the CA file");
    path
}

#[test]
fn the_ca_file_makes_a_private_ca_trusted_and_without_it_the_error_says_so() {
    let sandbox = Sandbox::start();
    let front = TlsFront::start(sandbox.base_url().trim_start_matches("http://"));
    let base_url = front.base_url();
    let login = [
        "ac",
        "token",
        "--base-url",
        &base_url,
        "--user",
        "demo",
        "--org-id",
        "demo-org",
    ];

    let output = run(&mut tokenkit(&login));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("ac: the server's TLS certificate is not trusted"),
        "{err}"
    );
    assert!(err.contains("--ca-file"), "{err}");
    assert_eq!(sandbox.count("ac.tokens"), 0);

    let ca = ca_file(&front);
    let output = run(tokenkit(&login).arg("--ca-file").arg(&ca));
    assert!(output.status.success(), "{}", stderr(&output));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!token.is_empty());
    // The token it got works at the platform, over the same TLS.
    let state = run(tokenkit(&["ac", "state", "--base-url", &base_url])
        .env("TOKENKIT_AC_TOKEN", &token)
        .arg("--ca-file")
        .arg(&ca));
    assert!(state.status.success(), "{}", stderr(&state));
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[test]
fn a_ca_file_that_cannot_be_read_is_a_clear_error() {
    let output = run(&mut tokenkit(&[
        "ac",
        "state",
        "--base-url",
        "https://127.0.0.1:9",
        "--token",
        "t",
        "--ca-file",
        "no-such-ca.pem",
    ]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("cannot read the CA file no-such-ca.pem"),
        "{err}"
    );
}
