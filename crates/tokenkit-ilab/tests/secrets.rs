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

    let logged = logs.text();
    assert!(
        logged.contains("request sent"),
        "tracing captured: {logged}"
    );
    assert_clean(&logged);
}
