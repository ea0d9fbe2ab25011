//! `tokenkit sandbox --ilab-launch-url URL`: the experiment the console's "我要做实验"
//! buttons open. A URL a browser could not be sent to with a ticket is refused before
//! the sandbox listens, with one line that never quotes the URL.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::Sandbox;

/// A password that must not appear in any error.
const SENTINEL: &str = "SENTINEL-PW-launch-7c1e";

fn sandbox_with_launch_url(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokenkit"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--ilab-launch-url", url])
        .stdin(Stdio::null())
        .output()
        .expect("run tokenkit sandbox")
}

#[test]
fn a_launch_url_that_is_not_an_absolute_http_url_is_refused_before_listening() {
    let refused = [
        ("/launch", "not an absolute URL"),
        ("127.0.0.1:8080/launch", "not an absolute URL"),
        ("launch?x=1", "not an absolute URL"),
        ("", "not an absolute URL"),
        ("ftp://127.0.0.1/launch", "not http or https"),
        ("javascript:alert(1)", "not http or https"),
        ("file:///tmp/launch", "not http or https"),
        ("http://127.0.0.1:8080/launch#start", "#fragment"),
        (
            &format!("http://teacher:{SENTINEL}@127.0.0.1:8080/launch"),
            "credentials",
        ),
        (
            &format!("https://{SENTINEL}@lab.example/launch"),
            "credentials",
        ),
        // Parsed as a URL, but the sandbox's own rule refuses it.
        ("http://127.0.0.1:8080/a b", "spaces"),
    ];
    for (url, why) in refused {
        let output = sandbox_with_launch_url(url);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{url:?}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{url:?} must not listen: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{url:?}: {stderr}");
        assert!(
            stderr.contains("--ilab-launch-url") && stderr.contains(why),
            "{url:?}: {stderr}"
        );
        assert!(
            stderr.contains("absolute http:// or https:// URL"),
            "{url:?}: {stderr}"
        );
        assert!(!stderr.contains(SENTINEL), "{url:?} leaked: {stderr}");
    }
}

/// `POST /_sandbox/console/ilab/launch` (the console's "我要做实验") as a local
/// program sends it: the status line and `Location` of the answer.
fn launch(sandbox: &Sandbox, un: &str) -> (String, Option<String>) {
    let addr = sandbox.base_url().trim_start_matches("http://").to_owned();
    let body = format!("un={un}");
    let mut stream = TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "POST /_sandbox/console/ilab/launch HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let location = answer
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
    (status, location)
}

#[test]
fn the_console_launches_the_experiment_at_the_given_url() {
    for (url, with_ticket) in [
        (
            "http://127.0.0.1:9/launch",
            "http://127.0.0.1:9/launch?ticket=",
        ),
        (
            "http://localhost:9/launch?course=7",
            "http://localhost:9/launch?course=7&ticket=",
        ),
        (
            "https://lab.example/ilab/launch",
            "https://lab.example/ilab/launch?ticket=",
        ),
    ] {
        let sandbox = Sandbox::start_with(&["--ilab-launch-url", url]);
        let (status, location) = launch(&sandbox, "zhangsan");
        assert!(status.starts_with("HTTP/1.1 303"), "{url}: {status}");
        let location = location.unwrap_or_default();
        let ticket = location.strip_prefix(with_ticket).unwrap_or_default();
        assert!(!ticket.is_empty(), "{url}: sent to {location:?}");
        // Minting the ticket is the platform's own doing, no platform request.
        assert_eq!(sandbox.count("ilab.accesstoken"), 0, "{url}");
    }
}

#[test]
fn without_a_launch_url_the_console_says_so() {
    let sandbox = Sandbox::start();
    let (status, location) = launch(&sandbox, "zhangsan");
    assert!(status.starts_with("HTTP/1.1 409"), "{status}");
    assert_eq!(location, None);
}
