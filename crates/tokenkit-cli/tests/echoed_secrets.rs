//! `tokenkit ilab exchange` against a platform that echoes the request into its
//! refusal (some gateways do): the error on stderr, and the trace logs, name the
//! refusal but neither the ticket nor its signature nor the secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

const TICKET: &str = "SENTINEL-TICKET-3c1+/=";
const SECRET: &str = "SENTINEL-SECRET-77ab";

/// Answers one request with `{"code": 4, "msg": <the request, as received>}`.
fn echoing_platform() -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a request");
        let mut reader = BufReader::new(stream);
        let mut request = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("a header line") == 0 || line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            request.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("the body");
        request.push_str(&String::from_utf8_lossy(&body));
        let answer = serde_json::json!({"code": 4, "msg": request}).to_string();
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .expect("the answer");
    });
    (format!("http://{addr}"), server)
}

#[test]
fn an_echoed_ticket_never_reaches_stderr() {
    for post in [false, true] {
        let (base_url, server) = echoing_platform();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
        command
            .args(["ilab", "exchange", "--base-url", &base_url])
            .args(["--appid", "1681600222748241929", "--ticket", TICKET])
            .env("TOKENKIT_ILAB_SECRET", SECRET)
            .env("TOKENKIT_LOG", "trace");
        if post {
            command.arg("--post");
        }
        let output = command.output().expect("tokenkit runs");
        server.join().expect("the platform answered");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "refused: {stderr}");
        assert!(stderr.contains("code 4"), "the refusal is named: {stderr}");
        for leaked in ["SENTINEL", "3c1%2B"] {
            assert!(!stderr.contains(leaked), "{leaked} on stderr: {stderr}");
        }
        // The echoed signature (in the query, or in the form body) is gone too.
        let signatures: Vec<&str> = stderr.split("signature=").skip(1).collect();
        assert!(!signatures.is_empty(), "the echo is quoted: {stderr}");
        for after in signatures {
            assert!(
                after.starts_with("[redacted]"),
                "a signature on stderr: {stderr}"
            );
        }
        assert!(output.stdout.is_empty(), "nothing on stdout");
    }
}
