//! Sentinel secrets pushed through every error path, `Debug` and the tracing output
//! must never come out.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

mod support;

use std::time::Duration;

use serde_json::json;
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{RefreshToken, TokenCache, TokenProvider};
use tokenkit_ilab::{IlabClient, IlabProvider, SessionRegistry, Ticket};
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

const SECRET: &str = "SENTINEL-SECRET-5ec2e7";
const TICKET: &str = "SENTINEL-TICKET-71c+/=";
const REFRESH: &str = "SENTINEL-REFRESH-4ef";
const ACCESS: &str = "SENTINEL-ACCESS-a11";

fn assert_clean(text: &str) {
    for sentinel in [SECRET, TICKET, REFRESH, ACCESS, "SENTINEL"] {
        assert!(!text.contains(sentinel), "leaked {sentinel}: {text}");
    }
}

#[tokio::test]
async fn sentinels_never_appear_in_errors_debug_or_logs() {
    let logs = traces::Traces::capture();

    let server = support::server().await;
    let answers = [
        ("/e/code2", json!({"code": 2, "msg": "密钥错误"})),
        ("/e/code0", json!({"code": 0, "refresh_token": REFRESH})),
        (
            "/e/type",
            json!({"code": 0, "access_token": ACCESS, "expires_in": [ACCESS]}),
        ),
        (
            "/r/code5",
            json!({"code": 5, "msg": "请重新获取access_token"}),
        ),
    ];
    let mut errors = Vec::new();
    for (at, body) in answers {
        Mock::given(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let client = IlabClient::builder(server.uri(), support::APPID, SECRET)
            .dialect(tokenkit_ilab::Dialect::custom(at, at, "refresh_token"))
            .build()
            .expect("valid");
        errors.push(
            client
                .exchange(&Ticket::new(TICKET))
                .await
                .expect_err("fails"),
        );
        errors.push(
            client
                .refresh(&RefreshToken::new(REFRESH))
                .await
                .expect_err("fails"),
        );
    }
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let slow = IlabClient::builder(server.uri(), support::APPID, SECRET)
        .dialect(tokenkit_ilab::Dialect::custom(
            "/slow",
            "/slow",
            "refresh_token",
        ))
        .http(HttpConfig::default().timeout(Duration::from_millis(300)))
        .build()
        .expect("valid");
    errors.push(
        slow.exchange(&Ticket::new(TICKET))
            .await
            .expect_err("times out"),
    );
    errors.push(
        slow.refresh(&RefreshToken::new(REFRESH))
            .await
            .expect_err("times out"),
    );
    // A 500 page echoing nothing, the catch-all.
    let lost = IlabClient::builder(server.uri(), support::APPID, SECRET)
        .build()
        .expect("valid");
    errors.push(lost.exchange(&Ticket::new(TICKET)).await.expect_err("500"));

    for error in &errors {
        assert_clean(&error.to_string());
        assert_clean(&format!("{error:?}"));
    }
    let provider = IlabProvider::new(lost.clone(), Ticket::new(TICKET));
    assert_clean(&format!("{provider:?} {lost:?} {:?}", Ticket::new(TICKET)));
    let _ = provider.fetch().await;
    let cache = TokenCache::new(provider);
    assert_clean(&format!("{cache:?}"));
    assert_clean(&format!("{:?}", SessionRegistry::new(lost)));

    // Results: the platform echoes the token in a refusal, in an HTML page, and in a
    // JSON answer without a code; every failure (retried and logged) stays clean.
    let upload_server = support::server().await;
    let echoes = [
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 7, "msg": format!("非法 {ACCESS}")})),
        ResponseTemplate::new(200).set_body_string(format!("<html>{ACCESS}</html>")),
        ResponseTemplate::new(200).set_body_json(json!({"message": ACCESS})),
        ResponseTemplate::new(502).set_body_string(format!("bad gateway {ACCESS}")),
    ];
    for echo in echoes {
        upload_server.reset().await;
        Mock::given(path("/open/api/v2/data_upload"))
            .respond_with(echo)
            .mount(&upload_server)
            .await;
        let client = support::client(&upload_server);
        let token = tokenkit_core::Token::new(
            ACCESS,
            tokenkit_core::Expiry::after(tokenkit_core::Arrival::now(), Duration::from_secs(600)),
        )
        .with_metadata(tokenkit_core::Metadata {
            user: Some(tokenkit_core::UserIdentity {
                id: "u1".into(),
                display_name: None,
            }),
            ..Default::default()
        });
        let cache = std::sync::Arc::new(TokenCache::new(IlabProvider::from_exchanged(
            client.clone(),
            token,
        )));
        let reporter = tokenkit_ilab::Reporter::new(&client, cache).retry(tokenkit_ilab::Retry {
            attempts: 2,
            backoff: tokenkit_core::Backoff {
                base: Duration::from_millis(5),
                max: Duration::from_millis(5),
            },
        });
        let result = tokenkit_ilab::ExperimentResult::builder("实验")
            .times_ms(1_711_111_313_941, 1_711_111_313_941)
            .step(
                tokenkit_ilab::Step::new(1, "步骤").times_ms(1_711_111_313_941, 1_711_111_313_941),
            )
            .build()
            .expect("valid");
        let failed = reporter.upload(result).await.expect_err("not delivered");
        assert_clean(&format!("{failed} {failed:?} {reporter:?}"));
        // data_get: a refusal that echoes the token and its signature.
        let signature = tokenkit_ilab::signature(
            ACCESS,
            support::APPID,
            support::SECRET,
            tokenkit_ilab::HexCase::Upper,
        );
        Mock::given(path("/open/api/v2/data_get"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"code": 9, "msg": format!("bad {ACCESS} {signature}")})),
            )
            .mount(&upload_server)
            .await;
        let read = format!("{:?}", reporter.records().await);
        assert!(read.contains("code 9") || read.contains("\"9\""), "{read}");
        assert!(!read.contains(&signature), "{read}");
        assert_clean(&read);
    }

    let logged = logs.text();
    assert!(
        logged.contains("request sent"),
        "tracing captured: {logged}"
    );
    assert_clean(&logged);
}
