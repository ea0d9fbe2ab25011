//! `tokenkit ilab exchange` against a stand-in platform whose answer carries
//! `"access_token": true`: the command fails with a malformed-answer error naming the
//! field, and prints no token (issue 13, defect 8). The stand-in is a raw TCP server
//! answering exactly one request.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

use serde_json::json;

/// Serves one HTTP request with `body` (status 200, JSON) on a fresh local port.
fn stand_in(body: String) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let served = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("one request");
        let mut reader = BufReader::new(stream);
        // The request is a GET: its head ends with an empty line, and it has no body.
        let mut line = String::new();
        while reader.read_line(&mut line).expect("request head") > 0 && line != "\r\n" {
            line.clear();
        }
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("answer");
    });
    (base, served)
}

#[test]
fn a_boolean_access_token_fails_the_command_instead_of_printing_true() {
    let body = json!({"code": 0, "msg": "ok", "access_token": true, "expires_in": 86399,
                      "un": "u1", "refresh_token": "SENTINEL-REFRESH-77"})
    .to_string();
    let (base, served) = stand_in(body);
    let output = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
        .args(["ilab", "exchange", "--base-url", &base])
        .args(["--appid", "1681600222748241929", "--ticket", "t", "--json"])
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .env_remove("TOKENKIT_LOG")
        .output()
        .expect("run");
    served.join().expect("the stand-in answered");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "nothing is printed as a token: {stdout}");
    assert!(
        stderr.contains("malformed response")
            && stderr.contains("`access_token` is a boolean, expected a string"),
        "{stderr}"
    );
    assert!(!stderr.contains("SENTINEL"), "{stderr}");
}
