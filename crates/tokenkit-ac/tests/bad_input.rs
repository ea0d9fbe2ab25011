//! Bad answers become typed errors naming the platform, its code and meaning: never a
//! panic, never a hang.

mod common;

use std::time::Duration;

use common::{catch_all, client, refusal, success};
use serde_json::json;
use tokenkit_core::{AccessToken, Error, TransientKind};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOGIN: &str = "/ac/openapi/v2/tokens";
const NEXT: &str = "/ac/openapi/v2/tokens/next";

async fn server_answering(route: &str, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(route))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    server
}

async fn login_error(response: ResponseTemplate) -> Error {
    let server = server_answering(LOGIN, response).await;
    client(&server).login().await.expect_err("an error")
}

async fn renew_error(response: ResponseTemplate) -> Error {
    let server = server_answering(NEXT, response).await;
    client(&server)
        .renew(&AccessToken::new("old-token"))
        .await
        .expect_err("an error")
}

fn assert_malformed(err: &Error, reason: &str) {
    match err {
        Error::Malformed {
            platform,
            reason: r,
            ..
        } => {
            assert_eq!(*platform, "ac");
            assert!(r.contains(reason), "{r:?} should contain {reason:?}");
        }
        other => panic!("expected Malformed({reason}), got {other:?}"),
    }
}

#[tokio::test]
async fn every_documented_code_as_string_or_number() {
    for (code, meaning, reauth) in [
        ("10001", "internal error", false),
        ("10003", "parameters incomplete", false),
        ("10004", "parameter invalid", true),
        ("10008", "insufficient permission", true),
        ("10009", "no permission to access the interface", false),
        ("77777", "unknown code", false),
    ] {
        let number: i64 = code.parse().expect("digits");
        for wire in [json!(code), json!(number)] {
            let err = renew_error(refusal(wire.clone(), "权限不足")).await;
            assert_eq!(err.platform_code(), Some(code), "{wire}");
            assert_eq!(err.platform_message(), Some("权限不足"));
            assert_eq!(err.is_reauth_required(), reauth, "{code}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("code {code}")) && text.contains(meaning),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn a_coded_refusal_with_a_4xx_status_is_still_read() {
    let err = renew_error(
        ResponseTemplate::new(401).set_body_json(json!({"code": 10008, "msg": "权限不足"})),
    )
    .await;
    assert_eq!(err.platform_code(), Some("10008"));
}

#[tokio::test]
async fn code_zero_without_data_is_malformed() {
    let missing = renew_error(
        ResponseTemplate::new(200).set_body_json(json!({"code": "0", "msg": "success"})),
    )
    .await;
    assert_malformed(&missing, "code 0 without data");
    let null = login_error(success(json!(null))).await;
    assert_malformed(&null, "code 0 without data");
    let numeric =
        login_error(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "data": null})))
            .await;
    assert_malformed(&numeric, "code 0 without data");
}

#[tokio::test]
async fn data_of_the_wrong_shape() {
    let err = login_error(success(json!(
        "eyJhbGciOiJIUzI1NiJ9.e30.SENTINELSENTINELSENTINEL"
    )))
    .await;
    assert_malformed(
        &err,
        "data is a string where a list of regions was expected",
    );
    assert!(!format!("{err} {err:?}").contains("SENTINEL"));
    let err = renew_error(success(json!(["a", "b"]))).await;
    assert_malformed(&err, "data is a list where a token string was expected");
    let err = renew_error(success(json!({"token": "x"}))).await;
    assert_malformed(&err, "data is an object where a token string was expected");
    let err = renew_error(success(json!(""))).await;
    assert_malformed(&err, "empty string");
    let err = login_error(success(
        json!([{"clusterId": "0", "clusterName": "ac", "token": 42}]),
    ))
    .await;
    assert_malformed(&err, "data[0].token is a number");
    let err = login_error(success(json!([{"clusterName": "ac", "token": "t"}]))).await;
    assert_malformed(&err, "data[0] has no clusterId");
}

#[tokio::test]
async fn missing_or_mistyped_code() {
    let err = login_error(
        ResponseTemplate::new(200).set_body_json(json!({"msg": "success", "data": []})),
    )
    .await;
    assert_malformed(&err, "unexpected JSON");
    let err =
        login_error(ResponseTemplate::new(200).set_body_json(json!({"code": ["0"], "data": []})))
            .await;
    assert_malformed(&err, "unexpected JSON");
    let err =
        login_error(ResponseTemplate::new(200).set_body_json(json!(["not", "an", "envelope"])))
            .await;
    assert_malformed(&err, "unexpected JSON");
}

#[tokio::test]
async fn html_pages_empty_and_oversized_bodies() {
    let page = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";
    let err = login_error(ResponseTemplate::new(200).set_body_raw(page, "text/html")).await;
    assert_malformed(&err, "not JSON (HTTP 200)");
    assert!(
        err.to_string().contains("404 Not Found"),
        "excerpt helps diagnosis: {err}"
    );
    let err = login_error(ResponseTemplate::new(404).set_body_raw(page, "text/html")).await;
    assert_malformed(&err, "not JSON (HTTP 404)");
    let err = login_error(ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    assert!(
        matches!(
            err,
            Error::Transient {
                kind: TransientKind::ServerError,
                status: Some(502),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    let err = login_error(ResponseTemplate::new(200)).await;
    assert_malformed(&err, "empty body");
    let huge = format!(r#"{{"code":"0","data":"{}"}}"#, "a".repeat(2 * 1024 * 1024));
    let err = renew_error(ResponseTemplate::new(200).set_body_raw(huge, "application/json")).await;
    assert_malformed(&err, "exceeds");
}

#[tokio::test]
async fn null_tokens_mean_suspended_and_an_opaque_token_is_still_a_token() {
    let server = server_answering(
        LOGIN,
        success(json!([
            {"clusterName": "ac", "clusterId": 0, "token": "opaque-platform-token"},
            {"clusterName": "华东一区", "clusterId": 11112, "token": null}
        ])),
    )
    .await;
    let login = client(&server).login().await.expect("login");
    let platform = &login.regions()[0];
    let token = platform.token.as_ref().expect("opaque token kept");
    assert_eq!(
        token.expiry().lifetime(),
        tokenkit_ac::DEFAULT_ASSUMED_LIFETIME
    );
    assert!(token.metadata().claims.is_empty());
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("alice"));
    let err = login
        .token_for(&tokenkit_ac::ClusterSelector::id("11112"))
        .expect_err("suspended");
    assert!(
        matches!(&err, Error::Suspended { resource, .. } if resource == "cluster 11112 (华东一区)"),
        "{err:?}"
    );
    assert!(err.to_string().contains("account status unknown"), "{err}");
}

/// A state check changes nothing at the platform: its timeout is transient. A renewal
/// replaces the token renewed: its timeout is an unknown outcome (the token sent may
/// be revoked now), which the cache answers by renewing before serving it again.
#[tokio::test]
async fn a_slow_server_times_out_transiently_except_for_a_renewal() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(success(json!("late")).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = client(&server)
        .state(&AccessToken::new("old"))
        .await
        .expect_err("times out");
    assert!(
        matches!(
            err,
            Error::Transient {
                kind: TransientKind::Timeout,
                ..
            }
        ),
        "a state check spends nothing, so a timeout is transient: {err:?}"
    );
    let err = client(&server)
        .renew(&AccessToken::new("old"))
        .await
        .expect_err("times out");
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                operation: "renewal",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    // Not a dropped MockServer: wiremock pools its servers, so the port would answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = tokenkit_ac::AcClient::builder(format!("http://{addr}"))
        .build()
        .expect("client");
    let err = client
        .state(&AccessToken::new("t"))
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
        "{err:?}"
    );
}
