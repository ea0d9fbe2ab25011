//! Connection limits over real sockets: slowloris heads, idle keep-alive connections
//! and the connection cap (`server/`).
//!
//! Each test waits for the server to close a connection with a generous hang guard
//! and never measures how long the close took: on a loaded machine only the order
//! of events is certain.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{ConnectionLimits, Faults, Sandbox, SandboxConfig};

/// Longer than any limit set here by far: reaching it means the server never closed.
const HANG_GUARD: Duration = Duration::from_secs(30);

const LONG: Option<Duration> = Some(Duration::from_secs(3600));
const SHORT: Option<Duration> = Some(Duration::from_millis(300));

const STATS_REQUEST: &[u8] = b"GET /_sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n\r\n";

async fn start(limits: ConnectionLimits) -> Sandbox {
    start_with(limits, Faults::default()).await
}

async fn start_with(limits: ConnectionLimits, faults: Faults) -> Sandbox {
    Sandbox::start(SandboxConfig {
        connections: limits,
        faults,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

fn limits(header_read: Option<Duration>, idle: Option<Duration>) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: header_read,
        idle_timeout: idle,
        ..ConnectionLimits::default()
    }
}

/// Reads until the server closes the connection (EOF or a reset); returns what was
/// read. Panics when the hang guard fires first: the connection stayed open.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(HANG_GUARD, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server left the connection open");
    received
}

/// Reads one complete answer and returns its text.
async fn read_answer(stream: &mut TcpStream) -> String {
    read_answers(stream, 1).await.remove(0)
}

/// Reads `count` complete answers (each a head and a `Content-Length` body) and
/// returns their texts.
async fn read_answers(stream: &mut TcpStream, count: usize) -> Vec<String> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            let answers = split_answers(&text);
            if answers.len() >= count {
                return answers;
            }
            let n = stream.read(&mut buf).await.expect("reads");
            assert!(
                n > 0,
                "closed before {count} answers were complete: {text:?}"
            );
            received.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the answers arrive")
}

/// The complete answers at the start of `text`.
fn split_answers(mut text: &str) -> Vec<String> {
    let mut answers = Vec::new();
    while let Some((head, rest)) = text.split_once("\r\n\r\n") {
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                let named = name.eq_ignore_ascii_case("content-length");
                named.then(|| value.trim().parse::<usize>().ok()).flatten()
            })
            .expect("the answer has a Content-Length");
        if rest.len() < length {
            break;
        }
        answers.push(format!("{head}\r\n\r\n{}", &rest[..length]));
        text = &rest[length..];
    }
    answers
}

#[tokio::test]
async fn a_connection_that_sends_half_a_request_line_is_closed() {
    // The idle limit is an hour: only the header-read limit can close it.
    let sandbox = start(limits(SHORT, LONG)).await;
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    stream.write_all(b"GET /_sandbox/st").await.expect("writes");
    let received = read_until_closed(&mut stream).await;
    assert!(
        received.is_empty(),
        "no answer to half a request: {received:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let sandbox = start(limits(SHORT, LONG)).await;
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn headers_dripped_a_byte_at_a_time_do_not_push_the_deadline_back() {
    let sandbox = start(limits(Some(Duration::from_secs(1)), LONG)).await;
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    stream
        .write_all(b"GET /_sandbox/stats HTTP/1.1\r\n")
        .await
        .expect("writes");
    // One header byte every 100 ms, for as long as the server lets us: a deadline
    // counted from the last byte would never come.
    let dripping = tokio::time::timeout(HANG_GUARD, async {
        loop {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(dripping.is_ok(), "the server kept taking header bytes");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    // The header-read limit is an hour: only the idle limit can close it.
    let sandbox = start(limits(LONG, SHORT)).await;
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    stream.write_all(STATS_REQUEST).await.expect("writes");
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "the answer keeps the connection alive: {answer}"
    );
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn requests_are_served_within_the_limits_however_long_the_handler_takes() {
    // The injected latency outlasts both limits: neither runs while a request is
    // handled. (Raw requests, written whole at once: a client that reconnected or
    // paused between requests could meet a limit for its own slowness.)
    let sandbox = start_with(
        limits(Some(Duration::from_secs(1)), Some(Duration::from_secs(1))),
        Faults {
            latency: Duration::from_secs(2),
            ..Faults::default()
        },
    )
    .await;
    let login = "POST /ac/openapi/v2/tokens HTTP/1.1\r\nHost: sandbox\r\nuser: demo\r\n\
                 password: demo-password\r\norgId: demo-org\r\ncontent-length: 0\r\n\r\n";
    // Two slow requests on one kept-alive connection, the second waiting behind the first.
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    stream
        .write_all(format!("{login}{login}").as_bytes())
        .await
        .expect("writes");
    let answers = read_answers(&mut stream, 2).await;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(r#""code":"0""#), "{answer}");
    }
    assert_eq!(sandbox.stats().get("ac.tokens"), 2);
}

#[tokio::test]
async fn beyond_max_connections_a_connection_waits_for_a_free_slot() {
    let sandbox = start(ConnectionLimits {
        max_connections: Some(1),
        ..limits(LONG, LONG)
    })
    .await;
    let mut holder = TcpStream::connect(sandbox.addr()).await.expect("connects");
    holder.write_all(STATS_REQUEST).await.expect("writes");
    assert!(read_answer(&mut holder).await.starts_with("HTTP/1.1 200"));

    let mut waiting = TcpStream::connect(sandbox.addr()).await.expect("connects");
    waiting.write_all(STATS_REQUEST).await.expect("writes");
    // A full round trip on the held connection after the second request was sent: a
    // server that served both would have had the time to answer it too.
    holder.write_all(STATS_REQUEST).await.expect("writes");
    assert!(read_answer(&mut holder).await.starts_with("HTTP/1.1 200"));
    let mut buf = [0u8; 64];
    let early = waiting.try_read(&mut buf);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the second connection was served while the only slot was taken: {early:?}"
    );

    drop(holder);
    assert!(read_answer(&mut waiting).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn no_slot_at_all_is_refused_by_name() {
    let err = Sandbox::start(SandboxConfig {
        connections: ConnectionLimits {
            max_connections: Some(0),
            ..ConnectionLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect_err("0 connections cannot serve anything");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_connections"), "{err}");
}

#[tokio::test]
async fn dropping_the_sandbox_closes_its_idle_connections() {
    let sandbox = start(limits(LONG, LONG)).await;
    let mut stream = TcpStream::connect(sandbox.addr()).await.expect("connects");
    stream.write_all(STATS_REQUEST).await.expect("writes");
    assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
    drop(sandbox);
    assert!(read_until_closed(&mut stream).await.is_empty());
}
