//! A platform that echoes the request (some gateways do): on every route — ticket
//! exchange and refresh, sent as GET or as a form, in both dialects, result upload and
//! read-back — the echo, raw or percent-, Base64- or hex-encoded, in the refusal
//! message, in the code, in an HTML page, in broken JSON, in a wrongly typed field and
//! in a 502 page, never brings the ticket, the refresh credential, the token, the
//! signature or the app secret into an error's Display or Debug, or into the logs.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

#[path = "../../tokenkit-core/tests/support/echo.rs"]
mod echo;

mod support;

use std::sync::Arc;
use std::time::Duration;

use echo::{Answer, ENCODINGS, Echo, Place, assert_clean};
use serde_json::json;
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Arrival, Backoff, Expiry, Metadata, RefreshToken, Token, TokenCache};
use tokenkit_ilab::{
    Dialect, ExperimentResult, HexCase, IlabClient, IlabProvider, Reporter, RequestMethod, Retry,
    Step, Ticket, signature,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "SENTINEL-SECRET-5ec2e7";
/// With every character that is encoded differently in a query string and elsewhere.
const TICKET: &str = "SENTINEL-TICKET-71c+/=~* é";
const REFRESH: &str = "SENTINEL-REFRESH-4ef/+x";
const ACCESS: &str = "SENTINEL-ACCESS-a11+/=";

/// The places the stand-in puts its echo.
const PLACES: [Place; 6] = [
    ("message", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"code": 4, "msg": echo}))
    }),
    ("code", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"code": echo, "msg": "非法请求"}))
    }),
    ("html", |echo| {
        ResponseTemplate::new(200)
            .set_body_raw(format!("<html><body>{echo}</body></html>"), "text/html")
    }),
    ("broken json", |echo| {
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"code": 4, "msg": "{echo}"#),
            "application/json",
        )
    }),
    ("wrong type", |echo| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "access_token": {"value": echo}, "expires_in": echo}))
    }),
    ("bad gateway", |echo| {
        ResponseTemplate::new(502).set_body_raw(format!("bad gateway: {echo}"), "text/plain")
    }),
];

fn sentinels() -> Vec<String> {
    let mut all: Vec<String> = [SECRET, TICKET, REFRESH, ACCESS]
        .map(str::to_owned)
        .to_vec();
    for value in [TICKET, REFRESH, ACCESS] {
        for case in [HexCase::Upper, HexCase::Lower] {
            all.push(signature(value, support::APPID, SECRET, case));
        }
    }
    all
}

fn check(text: &str, context: &str) {
    let sentinels = sentinels();
    let refs: Vec<&str> = sentinels.iter().map(String::as_str).collect();
    assert!(!text.contains("SENTINEL"), "{context}: leaked: {text}");
    assert_clean(text, &refs, context);
}

async fn echoing(encoding: echo::Encoding, answer: Answer) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Echo { encoding, answer })
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, dialect: Dialect, method: RequestMethod) -> IlabClient {
    IlabClient::builder(server.uri(), support::APPID, SECRET)
        .dialect(dialect)
        .method(method)
        .http(HttpConfig::default().timeout(Duration::from_secs(10)))
        .build()
        .expect("valid client")
}

#[tokio::test]
async fn exchange_and_refresh_scrub_every_echo() {
    let logs = traces::Traces::capture();
    for encoding in ENCODINGS {
        for (place, answer) in PLACES {
            let server = echoing(encoding, answer).await;
            for dialect in [Dialect::oauth(), Dialect::open_api_v2()] {
                for method in [RequestMethod::Get, RequestMethod::PostForm] {
                    let client = client(&server, dialect.clone(), method);
                    let context = format!("{encoding:?} in the {place}, {method:?}, {dialect:?}");
                    let exchanged = client
                        .exchange(&Ticket::new(TICKET))
                        .await
                        .expect_err("refused");
                    check(
                        &format!("{exchanged} {exchanged:?}"),
                        &format!("exchange: {context}"),
                    );
                    let credential = if dialect.refreshes_with_access_token() {
                        ACCESS
                    } else {
                        REFRESH
                    };
                    let refreshed = client
                        .refresh(&RefreshToken::new(credential))
                        .await
                        .expect_err("refused");
                    check(
                        &format!("{refreshed} {refreshed:?}"),
                        &format!("refresh: {context}"),
                    );
                    // Through a cache, which logs the failure.
                    let cache = TokenCache::new(IlabProvider::new(client, Ticket::new(TICKET)));
                    let fetched = cache.token().await.expect_err("refused");
                    check(
                        &format!("{fetched} {fetched:?} {cache:?}"),
                        &format!("cache: {context}"),
                    );
                }
            }
        }
    }
    let logged = logs.text();
    assert!(
        logged.contains("request sent") && logged.contains("token fetch failed"),
        "the capture works"
    );
    check(&logged, "logs");
}

#[tokio::test]
async fn upload_and_read_back_scrub_every_echo() {
    let logs = traces::Traces::capture();
    for encoding in ENCODINGS {
        for (place, answer) in PLACES {
            let server = echoing(encoding, answer).await;
            let client = client(&server, Dialect::oauth(), RequestMethod::Get);
            let token = Token::new(
                ACCESS,
                Expiry::after(Arrival::now(), Duration::from_secs(600)),
            )
            .with_refresh_token(REFRESH)
            .with_metadata(Metadata {
                user: Some(tokenkit_core::UserIdentity {
                    id: "u1".into(),
                    display_name: None,
                }),
                ..Metadata::default()
            });
            let cache = Arc::new(TokenCache::new(IlabProvider::from_exchanged(
                client.clone(),
                token,
            )));
            let reporter = Reporter::new(&client, cache).retry(Retry {
                attempts: 1,
                backoff: Backoff {
                    base: Duration::from_millis(1),
                    max: Duration::from_millis(1),
                },
            });
            let result = ExperimentResult::builder("实验")
                .times_ms(1_711_111_313_941, 1_711_111_313_941)
                .step(Step::new(1, "步骤").times_ms(1_711_111_313_941, 1_711_111_313_941))
                .build()
                .expect("valid");
            let context = format!("{encoding:?} in the {place}");
            let uploaded = format!("{:?}", reporter.upload(result).await);
            check(&uploaded, &format!("upload: {context}"));
            let read = format!("{:?}", reporter.records().await);
            check(&read, &format!("read-back: {context}"));
        }
    }
    check(&logs.text(), "logs");
}
