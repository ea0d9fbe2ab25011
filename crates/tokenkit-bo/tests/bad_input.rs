//! Bad answers become typed errors naming the platform, never panics or hangs.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, RefreshToken, TransientKind};
use wiremock::{MockServer, ResponseTemplate};

async fn refresh_with(response: ResponseTemplate) -> Result<tokenkit_core::Token, Error> {
    let server = MockServer::start().await;
    answer(&server, response, 1).await;
    client(&server).refresh(&RefreshToken::new("r1")).await
}

fn json(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn the_seed_success_body_parses_and_its_2021_token_is_expired() {
    let seed_access = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJSRzMiLCJhdWQiOiJhcGkiLCJpZCI6InB0ZGV2IiwibmFtZSI6ImRldiIsImNsaWVudF9pZCI6InB0ZGV2IiwiZXhwaXJlcyI6IjIwMjEvMi8yNSAxODoyMjozNyIsIm9wZW5faWQiOiIiLCJ3Yl9pZCI6IiIsInd4X29wZW5faWQiOiIiLCJ3eF91bmlvbl9pZCI6IiIsInRlbGVwaG9uZSI6IiIsInB1c2hfbmFtZSI6IuW8gOWPkeeuoeeQhuWRmCIsImhlYWRfaWNvbiI6IiIsImRlcF9pZCI6IiIsInN5c19pZCI6IiIsIm1lcmdlX3VzZXJfaWQiOiIiLCJhcmVhX2NvZGUiOiIiLCJyb2xlX2lkIjoiZGV2ZWxvcG1lbnQiLCJkZXZlbG9wZXIiOiIxIiwibmJmIjoxNjE0MjQ4NDk3LCJleHAiOjE2MTQyNDg1NTcsImlhdCI6MTYxNDI0ODQ5N30.XL2xjJ_idNHpUuppLG2JuVQ0DfyMRv5-gyg2H32dB0A";
    let token = refresh_with(json(success_body(
        seed_access,
        "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT",
    )))
    .await
    .expect("parses");
    let user = tokenkit_bo::TokenUser::of(&token).expect("tokenUser");
    assert_eq!(user.push_name.as_deref(), Some("开发管理员"));
    assert_eq!(user.role_id, vec!["development"]);
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("ptdev"));
    assert_eq!(token.metadata().claims["exp"], 1_614_248_557);
    // exp is in 2021 on the server's own clock (its Date header): expired, whatever the
    // epoch-ms expiresIn says.
    assert!(token.expiry().is_expired());
}

#[tokio::test]
async fn a_fresh_jwt_decides_the_lifetime_over_expires_in() {
    let token = refresh_with(json(success_body(&fresh_jwt(60), "r2")))
        .await
        .expect("parses");
    let lifetime = token.expiry().lifetime();
    assert!(
        lifetime <= Duration::from_secs(60) && lifetime >= Duration::from_secs(58),
        "{lifetime:?}"
    );
}

#[tokio::test]
async fn expires_in_as_seconds_and_as_epoch_ms_for_an_opaque_token() {
    let mut body = success_body("opaque-access-token", "r2");
    body["data"]["expiresIn"] = json!(7200);
    let token = refresh_with(json(body.clone())).await.expect("seconds");
    assert_eq!(token.expiry().lifetime(), Duration::from_secs(7200));
    assert!(token.metadata().claims.is_empty(), "not a JWT: no claims");

    let in_two_minutes = (support::now_secs() + 120) * 1000;
    body["data"]["expiresIn"] = json!(in_two_minutes.to_string());
    let token = refresh_with(json(body)).await.expect("epoch ms");
    let lifetime = token.expiry().lifetime();
    assert!(
        lifetime > Duration::from_secs(115) && lifetime <= Duration::from_secs(121),
        "{lifetime:?}"
    );
}

#[tokio::test]
async fn an_opaque_token_without_expires_in_is_malformed() {
    let mut body = success_body("opaque-access-token", "r2");
    body["data"]
        .as_object_mut()
        .expect("object")
        .remove("expiresIn");
    let err = refresh_with(json(body)).await.unwrap_err();
    assert!(
        matches!(err, Error::Malformed { platform: "bo", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no expiry"), "{err}");
}

#[tokio::test]
async fn a_missing_refresh_token_keeps_the_old_one() {
    let mut body = success_body(&fresh_jwt(60), "x");
    body["data"]
        .as_object_mut()
        .expect("object")
        .remove("refreshToken");
    let token = refresh_with(json(body)).await.expect("parses");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r1"));
}

#[tokio::test]
async fn the_seed_error_body_is_a_typed_refusal() {
    let body = json!({"code": 0, "message": "", "error": {"errorCode": null, "errorText": null}, "success": false});
    let err = refresh_with(json(body)).await.unwrap_err();
    assert_eq!(err.platform(), Some("bo"));
    assert_eq!(err.platform_code(), Some("0"));
    assert!(!err.is_reauth_required() && !err.is_transient());
}

#[tokio::test]
async fn a_refused_refresh_token_requires_a_new_login() {
    let body = json!({"code": 401, "message": "登录已过期，请重新登录", "success": false,
        "error": {"errorCode": "REFRESH_TOKEN_INVALID", "errorText": "the refresh token was already used"}});
    let err = refresh_with(json(body)).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("code 401")
            && text.contains("REFRESH_TOKEN_INVALID")
            && text.contains("already used"),
        "{text}"
    );
    // The same body with a 4xx status is read the same way.
    let body = json!({"code": 403, "message": "非法请求", "success": false, "error": {"errorCode": "VERIFY_STALE", "errorText": "off"}});
    let err = refresh_with(ResponseTemplate::new(400).set_body_json(body))
        .await
        .unwrap_err();
    assert_eq!(err.platform_code(), Some("403"));
    assert!(err.to_string().contains("XverifyApi"), "{err}");
}

#[tokio::test]
async fn malformed_bodies() {
    let cases = [
        (json(json!({"success": true})), "data"),
        (json(json!({"success": true, "data": null})), "data"),
        (json(json!({"success": true, "data": "x"})), "not an object"),
        (
            json(json!({"success": true, "data": {"refreshToken": "r"}})),
            "accessToken",
        ),
        (
            json(json!({"success": true, "data": {"accessToken": {"a": 1}, "expiresIn": 60}})),
            "unexpected `data`",
        ),
        (
            json(json!({"success": true, "data": {"accessToken": "a", "expiresIn": "soon"}})),
            "unexpected `data`",
        ),
        (
            json(json!({"data": {"accessToken": "a", "expiresIn": 60}})),
            "success",
        ),
        (json(json!({"success": "maybe"})), "success"),
        (json(json!([1, 2])), "not a JSON object"),
        (ResponseTemplate::new(200).set_body_string(""), "empty body"),
        (
            ResponseTemplate::new(200).set_body_string("{\"success\": tr"),
            "not JSON",
        ),
        (
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body><h1>登录</h1></body></html>"),
            "not JSON",
        ),
        (
            ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"),
            "not JSON",
        ),
    ];
    for (response, want) in cases {
        let err = refresh_with(response).await.unwrap_err();
        assert!(
            matches!(err, Error::Malformed { platform: "bo", .. }),
            "{err}"
        );
        assert!(err.to_string().contains(want), "{want:?} not in {err}");
    }
}

#[tokio::test]
async fn gateway_errors_are_transient() {
    for status in [502, 503, 429] {
        let page = "<html><head><title>503 Service Temporarily Unavailable</title></head></html>";
        let err = refresh_with(ResponseTemplate::new(status).set_body_string(page))
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
    let err = refresh_with(ResponseTemplate::new(502)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transient {
                kind: TransientKind::ServerError,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = MockServer::start().await;
    let mut body = success_body(&fresh_jwt(60), "r2");
    body["data"]["padding"] = json!("x".repeat(4096));
    answer(&server, json(body), 1).await;
    let client = builder(&server)
        .http(HttpConfig::default().max_body(1024))
        .build()
        .expect("valid");
    let err = client.refresh(&RefreshToken::new("r1")).await.unwrap_err();
    assert!(
        matches!(err, Error::Malformed { .. }) && err.to_string().contains("cap"),
        "{err}"
    );
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome_not_a_retry() {
    let server = MockServer::start().await;
    answer(
        &server,
        json(success_body(&fresh_jwt(60), "r2")).set_delay(Duration::from_secs(3)),
        1,
    )
    .await;
    let client = builder(&server)
        .http(HttpConfig::default().timeout(Duration::from_millis(300)))
        .build()
        .expect("valid");
    let started = std::time::Instant::now();
    let err = client.refresh(&RefreshToken::new("r1")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "no hang");
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("refresh"), "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // A port that was just free (not a wiremock server: those are pooled and reused).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let uri = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let signer = tokenkit_bo::VerifySigner::builder(KEY)
        .build()
        .expect("valid");
    let client = tokenkit_bo::BoClient::builder(uri, "demo-owner", signer)
        .build()
        .expect("valid");
    let err = client.refresh(&RefreshToken::new("r1")).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn an_empty_refresh_token_is_not_sent() {
    let server = MockServer::start().await;
    catch_all(&server).await;
    let err = client(&server)
        .refresh(&RefreshToken::new(" "))
        .await
        .unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
    assert!(
        server
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}
