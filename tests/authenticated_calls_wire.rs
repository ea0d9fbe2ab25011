//! The three platform schemes on the wire (wiremock): the token lands exactly where
//! each platform expects it, each platform's refusal shapes are recognised, a second
//! refusal is a typed error, a streaming body is not repeated, and 5xx answers and
//! timeouts are returned without a repeat or a renewal.
#![cfg(feature = "full")]
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokenkit::ac::AcScheme;
use tokenkit::bo::BoScheme;
use tokenkit::core::auth::{AuthClient, TokenScheme};
use tokenkit::ilab::IlabScheme;
use tokenkit::{Arrival, Error, Expiry, Token, TokenCache, TokenProvider, async_trait};
use wiremock::matchers::{header, method, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// Tokens like the main ilab platform's: standard Base64 with `+ / =`.
fn token(n: u32) -> String {
    format!("SENTINEL{n}+ab/cd==")
}

#[derive(Debug, Default)]
struct Numbered {
    issued: AtomicU32,
    renewals: AtomicU32,
}

impl Numbered {
    fn next(&self) -> Token {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        Token::new(
            token(n),
            Expiry::after(Arrival::now(), Duration::from_secs(3600)),
        )
    }
}

#[async_trait]
impl TokenProvider for Numbered {
    async fn fetch(&self) -> Result<Token, Error> {
        Ok(self.next())
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        Ok(self.next())
    }
}

/// A platform as the wire sees it.
struct Wire {
    scheme: Arc<dyn TokenScheme>,
    /// A matcher for "carries token `n`, where the platform wants it".
    carries: fn(u32) -> MockBuilder,
    /// The platform's refusals of a token, as (status, body).
    refusals: &'static [(u16, &'static str)],
    /// Answers that look alike but are not refusals of the token.
    not_refusals: &'static [(u16, &'static str)],
}

fn platforms() -> [Wire; 3] {
    [
        Wire {
            scheme: Arc::new(AcScheme),
            carries: |n| Mock::given(header("token", token(n).as_str())),
            refusals: &[
                (200, r#"{"code":"10008","msg":"权限不足","data":null}"#),
                (200, r#"{"code":10008,"msg":"权限不足"}"#),
                (401, "<html>401 Unauthorized</html>"),
            ],
            not_refusals: &[
                (200, r#"{"code":"10009","msg":"没有权限访问接口"}"#),
                (200, r#"{"code":"10004","msg":"参数无效"}"#),
            ],
        },
        Wire {
            scheme: Arc::new(IlabScheme),
            // wiremock decodes the query once: the value matches only if it was
            // percent-encoded exactly once (`+` as %2B, not a space).
            carries: |n| Mock::given(query_param("access_token", token(n).as_str())),
            refusals: &[
                (200, r#"{"code":2,"msg":"access_token无效或已过期"}"#),
                (200, r#"{"code":"2","msg":"access_token无效"}"#),
            ],
            not_refusals: &[
                (200, r#"{"code":3,"msg":"参数错误：title缺失"}"#),
                (401, r#"{"code":1}"#),
            ],
        },
        Wire {
            scheme: Arc::new(BoScheme),
            carries: |n| {
                Mock::given(header(
                    "authorization",
                    format!("Bearer {}", token(n)).as_str(),
                ))
            },
            refusals: &[
                (
                    401,
                    r#"{"success":false,"code":401,"message":"token无效或已过期"}"#,
                ),
                (200, r#"{"success":false,"code":401,"message":"token无效"}"#),
                (401, ""),
            ],
            not_refusals: &[(200, r#"{"success":false,"code":403,"message":"forbidden"}"#)],
        },
    ]
}

fn calls(wire: &Wire) -> (Arc<Numbered>, AuthClient) {
    let provider = Arc::new(Numbered::default());
    let cache = Arc::new(TokenCache::builder_arc(provider.clone()).build());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    (
        provider,
        AuthClient::with_scheme(http, Arc::clone(&wire.scheme), cache),
    )
}

fn answer(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn the_token_lands_where_the_platform_expects_it() {
    for wire in platforms() {
        let server = MockServer::start().await;
        (wire.carries)(1)
            .and(method("POST"))
            .respond_with(answer(200, r#"{"code":0,"success":true}"#))
            .expect(1)
            .mount(&server)
            .await;
        let (_, calls) = calls(&wire);
        let response = calls
            .send(calls.post(format!("{}/api?x=1", server.uri())).body("{}"))
            .await
            .expect("call");
        assert_eq!(response.status(), 200, "{}", wire.scheme.platform());
        let sent = &server.received_requests().await.expect("recorded")[0];
        let url = sent.url.as_str();
        if wire.scheme.platform() == "ilab" {
            assert!(
                url.ends_with("?x=1&access_token=SENTINEL1%2Bab%2Fcd%3D%3D"),
                "{url}"
            );
        } else {
            assert!(
                !url.contains("SENTINEL"),
                "a header token stays out of the URL: {url}"
            );
        }
        assert!(
            !response.url().as_str().contains("SENTINEL"),
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn each_refusal_shape_renews_once_and_repeats_once() {
    for wire in platforms() {
        for (status, body) in wire.refusals {
            let server = MockServer::start().await;
            (wire.carries)(1)
                .respond_with(answer(*status, body))
                .expect(1)
                .mount(&server)
                .await;
            (wire.carries)(2)
                .respond_with(answer(200, r#"{"code":0,"success":true}"#))
                .expect(1)
                .mount(&server)
                .await;
            let (provider, calls) = calls(&wire);
            let response = calls.send(calls.get(server.uri())).await.expect("call");
            assert_eq!(response.status(), 200, "{} {body}", wire.scheme.platform());
            assert_eq!(provider.renewals.load(Ordering::SeqCst), 1);
        }
    }
}

#[tokio::test]
async fn other_answers_are_returned_without_a_repeat() {
    for wire in platforms() {
        let cases = wire
            .not_refusals
            .iter()
            .copied()
            .chain([(503, "<html>503</html>"), (500, r#"{"code":"10001"}"#)]);
        for (status, body) in cases {
            let server = MockServer::start().await;
            (wire.carries)(1)
                .respond_with(answer(status, body))
                .expect(1)
                .mount(&server)
                .await;
            let (provider, calls) = calls(&wire);
            let response = calls.send(calls.get(server.uri())).await.expect("answer");
            assert_eq!(response.status(), status);
            assert_eq!(response.text().await.expect("body"), body);
            assert_eq!(provider.renewals.load(Ordering::SeqCst), 0, "{body}");
        }
    }
}

#[tokio::test]
async fn a_second_refusal_is_a_typed_error() {
    for wire in platforms() {
        let (status, body) = wire.refusals[0];
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(answer(status, body))
            .expect(2)
            .mount(&server)
            .await;
        let (provider, calls) = calls(&wire);
        let error = calls
            .send(calls.get(server.uri()))
            .await
            .expect_err("refused twice");
        assert!(matches!(error, Error::TokenRefused { .. }), "{error:?}");
        assert_eq!(error.platform(), Some(wire.scheme.platform()));
        assert!(!format!("{error} {error:?}").contains("SENTINEL"));
        assert_eq!(provider.renewals.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_refused_streaming_body_is_not_repeated() {
    for wire in platforms() {
        let (status, body) = wire.refusals[0];
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(answer(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let (provider, calls) = calls(&wire);
        let stream = reqwest::Body::wrap(String::from(r#"{"score": 86}"#));
        let error = calls
            .send(calls.post(server.uri()).body(stream))
            .await
            .expect_err("not repeatable");
        assert!(matches!(error, Error::NotRepeatable { .. }), "{error:?}");
        assert_eq!(
            provider.renewals.load(Ordering::SeqCst),
            1,
            "renewed for the next call"
        );
    }
}

#[tokio::test]
async fn timeouts_are_not_repeated() {
    for wire in platforms() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(answer(200, "{}").set_delay(Duration::from_secs(2)))
            .expect(1)
            .mount(&server)
            .await;
        let (provider, calls) = calls(&wire);
        let error = calls
            .send(calls.post(server.uri()).body("{}"))
            .await
            .expect_err("timed out");
        assert!(error.is_outcome_unknown(), "{error:?}");
        assert!(!error.to_string().contains("SENTINEL"), "{error}");
        assert_eq!(received(&server).await, 1);
        assert_eq!(provider.renewals.load(Ordering::SeqCst), 0);
    }
}
