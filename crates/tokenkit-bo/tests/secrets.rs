//! Sentinel secrets pushed through every error path, Debug output and tracing output.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tokenkit_bo::{BoClient, BoProvider, BoSession, VerifySigner};
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, RefreshToken, TokenProvider};
use wiremock::{MockServer, ResponseTemplate};

const KEY_SENTINEL: &str = "S3NT1NEL";
const REFRESH_SENTINEL: &str = "SENTINELrefresh0123456789abcdefX";
const ACCESS_SENTINEL: &str =
    "eyJhbGciOiJIUzI1NiJ9.SENTINELaccess0123456789abcdef.SENTINELsig0123456789";

fn assert_clean(text: &str) {
    for sentinel in [KEY_SENTINEL, REFRESH_SENTINEL, ACCESS_SENTINEL, "SENTINEL"] {
        assert!(!text.contains(sentinel), "{sentinel} leaked into: {text}");
    }
}

async fn client_for(server: &MockServer, timeout: Duration) -> BoClient {
    let signer = VerifySigner::builder(KEY_SENTINEL).build().expect("valid");
    BoClient::builder(server.uri(), "demo-owner", signer)
        .http(HttpConfig::default().timeout(timeout))
        .build()
        .expect("valid")
}

#[tokio::test]
async fn no_secret_reaches_errors_debug_or_logs() {
    let captured = traces::Traces::capture();

    let bodies = [
        // A refusal that echoes the refresh token in both texts.
        ResponseTemplate::new(200).set_body_json(json!({"success": false, "code": 401,
            "message": format!("refresh token {REFRESH_SENTINEL} was used"),
            "error": {"errorCode": "REFRESH_TOKEN_INVALID", "errorText": format!("token={REFRESH_SENTINEL}")}})),
        // A success without an expiry: malformed, with an excerpt of a body full of secrets.
        ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"accessToken": ACCESS_SENTINEL, "refreshToken": REFRESH_SENTINEL}})),
        // Wrong types around secrets.
        ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"accessToken": ACCESS_SENTINEL, "expiresIn": REFRESH_SENTINEL}})),
        // An HTML page quoting the request.
        ResponseTemplate::new(502).set_body_string(format!("<html>bad gateway for refreshToken={REFRESH_SENTINEL}</html>")),
        ResponseTemplate::new(200).set_body_string(format!("<html>refreshToken={REFRESH_SENTINEL}</html>")),
        // No answer in time.
        ResponseTemplate::new(200).set_delay(Duration::from_secs(2)),
    ];
    let mut rendered = String::new();
    for body in bodies {
        let server = MockServer::start().await;
        answer(&server, body, 1).await;
        let client = client_for(&server, Duration::from_millis(300)).await;
        let err: Error = client
            .refresh(&RefreshToken::new(REFRESH_SENTINEL))
            .await
            .unwrap_err();
        rendered.push_str(&format!("{err}\n{err:?}\n"));
        let provider = BoProvider::new(
            client.clone(),
            BoSession::new(ACCESS_SENTINEL, REFRESH_SENTINEL),
        );
        rendered.push_str(&format!("{client:?}\n{provider:?}\n"));
    }
    // A successful token's Debug, too.
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), REFRESH_SENTINEL)),
        1,
    )
    .await;
    let client = client_for(&server, Duration::from_secs(5)).await;
    let provider = BoProvider::new(client, BoSession::new("opaque-expired", REFRESH_SENTINEL));
    let token = provider.fetch().await.expect("refreshed");
    rendered.push_str(&format!("{token:?}\n{provider:?}\n"));
    rendered.push_str(&format!(
        "{:?}\n",
        VerifySigner::builder(KEY_SENTINEL).build()
    ));

    let logs = captured.text();
    assert!(
        logs.contains("bo refresh succeeded"),
        "the capture works: {logs}"
    );
    assert_clean(&rendered);
    assert_clean(&logs);
}
