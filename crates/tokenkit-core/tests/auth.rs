//! The authenticated-call layer on real sockets (wiremock and a raw TCP server): the
//! token lands where the scheme puts it, one refusal makes one renewal and one repeat,
//! nothing else is repeated, bodies pass through intact, secrets stay out of errors,
//! URLs and traces. Both entry points: `AuthClient` and `AuthMiddleware`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/auth.rs"]
mod fixtures;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fixtures::{Bearer, Counting, Query, client, setup};
use tokenkit_core::Error;
use tokenkit_core::auth::{AuthClient, AuthMiddleware};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn bearer(n: u32) -> String {
    format!("Bearer SENTINEL-tok-{n}")
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn the_token_lands_and_an_answer_passes_through_intact() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .and(header("authorization", bearer(1).as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-answer", "yes")
                .set_body_string("hello"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let response = calls
        .send(calls.get(format!("{}/me", server.uri())))
        .await
        .expect("call");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-answer"], "yes");
    assert_eq!(response.url().path(), "/me");
    assert_eq!(response.text().await.expect("body"), "hello");
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_repeated_once() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":"STALE"}"#))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", bearer(2).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("stored"))
        .expect(1)
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let response = calls
        .send(
            calls
                .post(format!("{}/records", server.uri()))
                .body("payload"),
        )
        .await
        .expect("call");
    assert_eq!(response.text().await.expect("body"), "stored");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].body, b"payload",
        "the repeat carries the same body"
    );
}

#[tokio::test]
async fn a_second_refusal_is_a_typed_error_without_the_token() {
    let server = MockServer::start().await;
    // The platform echoes the token it was sent.
    for n in 1..=3 {
        let body = format!(r#"{{"code":"STALE","msg":"token SENTINEL-tok-{n} is stale"}}"#);
        Mock::given(header("authorization", bearer(n).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
    }
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let error = calls
        .send(calls.get(server.uri()))
        .await
        .expect_err("refused twice");
    assert!(
        matches!(error, Error::TokenRefused { status: 200, .. }),
        "{error:?}"
    );
    assert!(error.is_token_refused());
    assert_eq!(error.platform_code(), Some("STALE"));
    let text = format!("{error} {error:?}");
    assert!(!text.contains("SENTINEL"), "{text}");
    assert!(text.contains("is stale"), "{text}");
    assert_eq!(requests(&server).await, 2, "not looped on");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_streaming_body_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", bearer(2).as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let stream = reqwest::Body::wrap(String::from("streamed payload"));
    let error = calls
        .send(calls.post(server.uri()).body(stream))
        .await
        .expect_err("not repeatable");
    assert!(
        matches!(error, Error::NotRepeatable { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.is_transient(), "sending it again works");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1, "renewed");
    // The next request carries the renewed token.
    let again = calls.send(calls.get(server.uri())).await.expect("call");
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn server_errors_and_other_refusals_are_returned_as_they_are() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw("<html>503</html>".as_bytes(), "text/html"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/forbidden"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":"NO_RIGHTS"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let down = calls
        .send(calls.get(format!("{}/down", server.uri())))
        .await
        .expect("answer");
    assert_eq!(down.status(), 503);
    assert_eq!(down.text().await.expect("body"), "<html>503</html>");
    let forbidden = calls
        .send(calls.get(format!("{}/forbidden", server.uri())))
        .await
        .expect("answer");
    assert_eq!(
        forbidden.text().await.expect("body"),
        r#"{"code":"NO_RIGHTS"}"#
    );
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn timeouts_are_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(2)
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let url = format!("{}/slow", server.uri());
    let post = calls
        .send(calls.post(&url).body("x"))
        .await
        .expect_err("timeout");
    assert!(post.is_outcome_unknown(), "{post:?}");
    let get = calls.send(calls.get(&url)).await.expect_err("timeout");
    assert!(get.is_transient(), "{get:?}");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_renewal_that_fails_is_the_callers_error() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let (_, cache) = setup(Counting {
        refuse_refresh: true,
        ..Counting::default()
    });
    let calls = client(Bearer, &cache);
    let error = calls
        .send(calls.get(server.uri()))
        .await
        .expect_err("no token");
    // The cache fell back to a login after the refused renewal; the login worked.
    assert!(!error.to_string().contains("SENTINEL"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_refusals_make_one_renewal() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(header("authorization", bearer(2).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    cache.token().await.expect("first token");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let calls = AuthClient::new(http, Bearer, Arc::clone(&cache));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let calls = calls.clone();
            let url = server.uri();
            tokio::spawn(async move {
                let response = calls.send(calls.get(url)).await?;
                Ok::<_, Error>(response.status().as_u16())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("call"), 200);
    }
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_query_token_is_encoded_once_and_scrubbed_from_the_response_url() {
    let server = MockServer::start().await;
    Mock::given(query_param("access_token", "SENTINEL-tok-1+/="))
        .and(query_param("x", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":0}"#))
        .expect(1)
        .mount(&server)
        .await;
    let (_, cache) = setup(Counting {
        suffix: "+/=",
        ..Counting::default()
    });
    let calls = client(Query, &cache);
    let response = calls
        .send(calls.post(format!("{}/upload?x=1", server.uri())))
        .await
        .expect("call");
    let url = response.url().to_string();
    assert!(!url.contains("SENTINEL"), "{url}");
    assert!(url.contains("access_token=redacted"), "{url}");
    assert!(!format!("{response:?}").contains("SENTINEL"));
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(
        received[0].url.query(),
        Some("x=1&access_token=SENTINEL-tok-1%2B%2F%3D")
    );
}

/// A raw HTTP/1.1 server for what wiremock cannot send: chunked bodies that pause,
/// and a connection cut in the middle of a body.
async fn raw_server(reply: &'static [&'static [u8]], pause: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                for part in reply {
                    if socket.write_all(part).await.is_err() {
                        return;
                    }
                    let _ = socket.flush().await;
                    tokio::time::sleep(pause).await;
                }
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn a_long_chunked_body_streams_through_intact() {
    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    static BIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let chunk = BIG.get_or_init(|| {
        let data = vec![b'x'; 3000];
        let mut c = format!("{:x}\r\n", data.len()).into_bytes();
        c.extend_from_slice(&data);
        c.extend_from_slice(b"\r\n");
        c
    });
    let chunk: &'static [u8] = chunk.as_slice();
    let parts: &'static [&'static [u8]] =
        Box::leak(Box::new([HEAD, chunk, chunk, chunk, b"0\r\n\r\n"]));
    let url = raw_server(parts, Duration::from_millis(20)).await;
    let (_, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let response = calls.send(calls.get(&url)).await.expect("call");
    let body = response.bytes().await.expect("body");
    assert_eq!(body.len(), 9000);
    assert!(body.iter().all(|b| *b == b'x'));
}

#[tokio::test]
async fn an_event_stream_is_handed_back_before_it_ends() {
    // The head and a first event at once, the rest 5 s later.
    const FIRST: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n7\r\ndata: 1\r\n";
    const LATER: &[u8] = b"7\r\ndata: 2\r\n0\r\n\r\n";
    let url = raw_server(&[FIRST, LATER], Duration::from_secs(5)).await;
    let (_, cache) = setup(Counting::default());
    let calls = AuthClient::new(reqwest::Client::new(), Bearer, Arc::clone(&cache));
    let started = std::time::Instant::now();
    let mut response = tokio::time::timeout(Duration::from_secs(3), calls.send(calls.get(&url)))
        .await
        .expect("handed back before the stream ends")
        .expect("call");
    let first = response.chunk().await.expect("chunk").expect("data");
    assert_eq!(&first[..], b"data: 1");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the first event came at once"
    );
}

#[tokio::test]
async fn a_connection_cut_mid_body_reaches_the_caller_as_a_body_error() {
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n";
    const PART: &[u8] = b"only twenty bytes...";
    let url = raw_server(&[HEAD, PART], Duration::ZERO).await;
    let (_, cache) = setup(Counting::default());
    let calls = client(Bearer, &cache);
    let response = calls.send(calls.get(&url)).await.expect("head arrived");
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the cut is not hidden");
}

#[tokio::test]
async fn the_middleware_recovers_the_same_way() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", bearer(2).as_str()))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", bearer(2).as_str()))
        .and(path("/refuse"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let (provider, cache) = setup(Counting::default());
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Bearer, Arc::clone(&cache)))
        .build();
    let response = client
        .get(format!("{}/ok", server.uri()))
        .send()
        .await
        .expect("call");
    assert_eq!(response.text().await.expect("body"), "ok");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);

    // tok-2 refused: the renewal to tok-3 is refused too (no mock: 404 is not a
    // refusal, so the answer comes back).
    let answer = client
        .get(format!("{}/refuse", server.uri()))
        .send()
        .await
        .expect("the repeat's answer");
    assert_eq!(answer.status(), 404);
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_middleware_types_its_errors_and_scrubs_transport_urls() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":2}"#))
        .mount(&server)
        .await;
    let (_, cache) = setup(Counting::default());
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Query, Arc::clone(&cache)))
        .build();
    let error = client
        .get(server.uri())
        .send()
        .await
        .expect_err("refused twice");
    let typed = match &error {
        reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<Error>().expect("typed"),
        other => panic!("{other:?}"),
    };
    assert!(typed.is_token_refused(), "{typed:?}");

    // Nothing listens on this port: a connect error, whose URL is scrubbed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let error = client
        .get(format!("http://{closed}/upload"))
        .send()
        .await
        .expect_err("refused connection");
    let text = format!("{error} {error:?}");
    assert!(!text.contains("SENTINEL"), "{text}");
}
