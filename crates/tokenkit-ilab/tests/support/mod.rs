//! Shared helpers of the ilab crate's HTTP tests: one wiremock server per test, with a
//! catch-all 500 mounted at the lowest priority so a request of the wrong shape fails
//! readably.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use tokenkit_core::http::HttpConfig;
use tokenkit_ilab::IlabClient;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const APPID: &str = "1681600222748241929";
pub const SECRET: &str = "123456";

/// A server with the catch-all 500 already mounted (lowest priority).
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("no mock matched this request"))
        .with_priority(u8::MAX)
        .named("catch-all 500")
        .mount(&server)
        .await;
    server
}

/// A client of `server` with short timeouts.
pub fn client(server: &MockServer) -> IlabClient {
    IlabClient::builder(server.uri(), APPID, SECRET)
        .http(HttpConfig::default().timeout(Duration::from_millis(800)))
        .build()
        .expect("valid client")
}

/// A success body like the seed's, with opaque tokens, issued now (the seed's own
/// times are of 2024: measured against a current `Date` that token arrives expired).
pub fn success(access: &str, refresh: &str, un: &str) -> Value {
    let created = std::time::SystemTime::now();
    let expires = created + Duration::from_millis(86_399_000);
    let ms = |t| tokenkit_core::civil::unix_millis(t).to_string();
    json!({
        "code": 0,
        "msg": "调用成功，返回所需数据",
        "access_token": access,
        "token_type": "bearer",
        "refresh_token": refresh,
        "expires_in": 86399,
        "scope": "callback:score",
        "un": un,
        "dis": "用户姓名",
        "create_time": ms(created),
        "create_time_display": tokenkit_core::civil::beijing_display(created),
        "expires_time": ms(expires),
        "expires_time_display": tokenkit_core::civil::beijing_display(expires),
        "jti": "a57ab99c-6ed3-4b93-a8a3-07746434ffe8"
    })
}
