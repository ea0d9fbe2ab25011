//! Shared helpers of the ac tests: a mock server with a catch-all 500 mounted last,
//! tokens with ac claims, and a client pointed at the mock.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokenkit_ac::AcClient;
use tokenkit_core::civil;
use tokenkit_core::http::HttpConfig;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "SENTINEL-PASSWORD-7f3a";

/// A JWT (unverifiable signature) with the claims of an ac token expiring in `ttl`.
pub fn ac_jwt(cluster: &str, ttl: Duration) -> String {
    let expire = civil::unix_millis(SystemTime::now() + ttl);
    jwt(json!({
        "computeUser": "alice", "accountStatus": "Normal", "creator": "ac", "role": "1",
        "expireTime": expire.to_string(), "clusterId": cluster, "invoker": "org-1",
        "user": "alice", "userId": "11655048541"
    }))
}

/// A JWT with these claims.
pub fn jwt(claims: Value) -> String {
    format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// `{"code": "0", "msg": "success", "data": data}`.
pub fn success(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"msg": "success", "code": "0", "data": data}))
}

/// A refusal with `code` (given as JSON: string or number).
pub fn refusal(code: Value, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"msg": msg, "code": code}))
}

/// The two default regions, each with a fresh token.
pub fn regions(ttl: Duration) -> Value {
    json!([
        {"clusterName": "ac", "clusterId": "0", "token": ac_jwt("0", ttl)},
        {"clusterName": "华东一区", "clusterId": "11112", "token": ac_jwt("11112", ttl)},
        {"clusterName": "华北一区", "clusterId": "11113", "token": null}
    ])
}

/// Mounts the catch-all 500: mount it after every expected mock.
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("no mock matched"))
        .mount(server)
        .await;
}

/// A client with credentials, a short timeout, pointed at `server`.
pub fn client(server: &MockServer) -> AcClient {
    AcClient::builder(server.uri())
        .user("alice")
        .password(PASSWORD)
        .org_id("org-1")
        .http(HttpConfig::default().timeout(Duration::from_millis(500)))
        .build()
        .expect("valid client")
}
