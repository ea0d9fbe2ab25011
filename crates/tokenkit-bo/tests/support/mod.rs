//! Shared helpers of the wire tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use serde_json::{Value, json};
use tokenkit_bo::{BoClient, BoClientBuilder, REFRESH_PATH, VerifySigner};
use tokenkit_core::http::HttpConfig;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const KEY: &str = "12345678";

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// An unsigned JWT with `claims` (the client never verifies signatures).
pub fn jwt(claims: &Value) -> String {
    format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A fresh access token living `ttl` seconds, like the seed's sample.
pub fn fresh_jwt(ttl: i64) -> String {
    let now = now_secs();
    let jti = uuid::Uuid::new_v4().to_string();
    jwt(&json!({"iss": "RG3", "id": "ptdev", "jti": jti, "nbf": now, "iat": now, "exp": now + ttl}))
}

/// The seed's success body around `access` and `refresh`.
pub fn success_body(access: &str, refresh: &str) -> Value {
    json!({"success": true, "data": {
        "tokenType": "Bearer",
        "tokenUser": {"clientId": "ptdev", "userId": "ptdev", "userName": "dev",
            "pushName": "开发管理员", "roleId": ["development"], "depId": [], "areaCode": [],
            "jobId": [], "sysId": [], "mergeUserId": [], "developer": 1},
        "timeStamp": 1_614_246_960_367.543_7,
        "refreshToken": refresh,
        "accessToken": access,
        "clientId": "ptdev",
        "expires": "2021-03-11T17:56:00",
        "expiresIn": 1_614_246_960_368_i64,
    }})
}

pub fn builder(server: &MockServer) -> BoClientBuilder {
    let signer = VerifySigner::builder(KEY).build().expect("valid key");
    BoClient::builder(server.uri(), "demo-owner", signer).http(
        HttpConfig::default()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2)),
    )
}

pub fn client(server: &MockServer) -> BoClient {
    builder(server).build().expect("valid client")
}

/// Answers every refresh with `body`, expecting `times` calls; then the catch-all.
pub async fn answer(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(wiremock::matchers::path(REFRESH_PATH))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
    catch_all(server).await;
}

/// Mounted last: anything unmatched gets a readable 500.
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unmatched request"))
        .mount(server)
        .await;
}

/// Decrypts an XverifyApi value written in Base64 with key = IV = `key`.
pub fn decrypt(key: &str, header: &str) -> String {
    let mut bytes = STANDARD.decode(header).expect("base64");
    let plain = cbc::Decryptor::<des::Des>::new_from_slices(key.as_bytes(), key.as_bytes())
        .expect("8 bytes")
        .decrypt_padded::<Pkcs7>(&mut bytes)
        .expect("padding")
        .to_vec();
    String::from_utf8(plain).expect("utf-8")
}
