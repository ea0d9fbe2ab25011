//! Bad answers become typed errors naming the platform's code and meaning: never a
//! panic, never a hang.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{client, server};
use tokenkit_core::{Error, RefreshToken, TransientKind};
use tokenkit_ilab::Ticket;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn exchange_answered_with(response: ResponseTemplate) -> Error {
    let server = server().await;
    mount(&server, "/oauth/token/accesstoken", response).await;
    client(&server)
        .exchange(&Ticket::new("t"))
        .await
        .expect_err("must fail")
}

async fn mount(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_html_502_page_is_transient() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let err =
        exchange_answered_with(ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    assert!(
        matches!(
            err,
            Error::Transient {
                kind: TransientKind::ServerError,
                status: Some(502),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn an_html_page_with_status_200_is_malformed() {
    let err = exchange_answered_with(
        ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"),
    )
    .await;
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[tokio::test]
async fn an_empty_body_is_malformed() {
    let err = exchange_answered_with(ResponseTemplate::new(200)).await;
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("empty body"), "{err}");
}

#[tokio::test]
async fn code_as_a_string_is_read_as_the_code() {
    let err = exchange_answered_with(
        ResponseTemplate::new(200).set_body_json(json!({"code": "4", "msg": "无效ticket"})),
    )
    .await;
    assert_eq!(err.platform_code(), Some("4"));
    assert_eq!(err.platform_message(), Some("无效ticket"));
    assert!(err.is_reauth_required());
    assert!(err.to_string().contains("invalid ticket"), "{err}");
}

#[tokio::test]
async fn code_of_the_wrong_type_is_malformed() {
    let err = exchange_answered_with(
        ResponseTemplate::new(200).set_body_json(json!({"code": [0], "access_token": "a"})),
    )
    .await;
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn code_zero_without_an_access_token_is_malformed() {
    let err = exchange_answered_with(
        ResponseTemplate::new(200).set_body_json(json!({"code": 0, "msg": "调用成功"})),
    )
    .await;
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("access_token"), "{err}");
}

#[tokio::test]
async fn an_unknown_code_keeps_code_and_message() {
    let err = exchange_answered_with(
        ResponseTemplate::new(200).set_body_json(json!({"code": 99, "msg": "系统错误"})),
    )
    .await;
    assert_eq!(err.platform_code(), Some("99"));
    assert_eq!(err.platform_message(), Some("系统错误"));
    assert!(!err.is_reauth_required() && !err.is_transient());
    assert!(err.to_string().contains("system error"), "{err}");
}

#[tokio::test]
async fn every_refresh_code_has_its_meaning() {
    let cases = [
        (1, "missing parameter", false),
        (2, "signature mismatch", false),
        (3, "invalid refresh token", true),
        (4, "original", true),
        (5, "refresh limit reached", true),
        (7, "illegal request or system error", false),
    ];
    for (code, meaning, reauth) in cases {
        let server = server().await;
        mount(
            &server,
            "/oauth/token/refreshtoken",
            ResponseTemplate::new(200).set_body_json(json!({"code": code, "msg": "平台消息"})),
        )
        .await;
        let err = client(&server)
            .refresh(&RefreshToken::new("rt"))
            .await
            .expect_err("refused");
        assert_eq!(err.platform_code(), Some(code.to_string().as_str()));
        assert!(err.to_string().contains(meaning), "{code}: {err}");
        assert_eq!(err.is_reauth_required(), reauth, "{code}");
    }
}

#[tokio::test]
async fn a_body_over_the_size_cap_is_refused() {
    let huge = format!(
        "{{\"code\":0,\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024 + 10)
    );
    let err =
        exchange_answered_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
            .await;
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("cap"), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_an_unknown_outcome_not_a_hang() {
    let server = server().await;
    mount(
        &server,
        "/oauth/token/refreshtoken",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    )
    .await;
    let started = std::time::Instant::now();
    let err = client(&server)
        .refresh(&RefreshToken::new("rt"))
        .await
        .expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The refresh may have been spent: it must not be repeated blindly.
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("refresh"), "{err}");
}

#[tokio::test]
async fn a_server_that_is_not_there_is_transient() {
    // Bind then drop a listener: its port refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let client = tokenkit_ilab::IlabClient::builder(
        format!("http://127.0.0.1:{port}"),
        support::APPID,
        support::SECRET,
    )
    .build()
    .expect("valid");
    let err = client
        .exchange(&Ticket::new("t"))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::Transient {
                kind: TransientKind::Connect,
                ..
            }
        ),
        "{err}"
    );
}
