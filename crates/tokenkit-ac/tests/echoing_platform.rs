//! A platform that echoes the request (some gateways do): on every route — password
//! login, access-key login, renewal, state, region discovery — the echo, raw or
//! percent-, Base64- or hex-encoded, in the refusal message, in the code, in an HTML
//! page, in broken JSON, in a wrongly typed or successful `data` and in a 502 page,
//! never brings the password, the secret key, the login's signature or the token into
//! what a route returns (its error's Display and Debug, the state it reports), or into
//! the logs.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

#[path = "../../tokenkit-core/tests/support/echo.rs"]
mod echo;

use std::sync::Arc;
use std::time::Duration;

use echo::{ENCODINGS, Echo, Place, assert_clean};
use serde_json::json;
use tokenkit_ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{AccessToken, TokenCache};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "SENTINEL-PASSWORD-7f3a+/= x";
const SECRET_KEY: &str = "SENTINEL-SECRETKEY-9b1";
const TOKEN: &str = "SENTINEL-TOKEN-c0ffee+/=";

/// The places the stand-in puts its echo.
const PLACES: [Place; 7] = [
    ("message", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"code": "10004", "msg": echo}))
    }),
    ("code", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"code": echo, "msg": "参数无效"}))
    }),
    ("html", |echo| {
        ResponseTemplate::new(200)
            .set_body_raw(format!("<html><body>{echo}</body></html>"), "text/html")
    }),
    ("broken json", |echo| {
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"code": "10004", "msg": "{echo}"#),
            "application/json",
        )
    }),
    ("wrong type", |echo| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": "0", "msg": "success", "data": {"echo": echo}}))
    }),
    ("success data", |echo| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": "0", "msg": "success", "data": echo}))
    }),
    ("bad gateway", |echo| {
        ResponseTemplate::new(502).set_body_raw(format!("bad gateway: {echo}"), "text/plain")
    }),
];

fn check(text: &str, extra: &[String], context: &str) {
    let mut sentinels = vec![PASSWORD, SECRET_KEY, TOKEN];
    sentinels.extend(extra.iter().map(String::as_str));
    assert!(!text.contains("SENTINEL"), "{context}: leaked: {text}");
    assert_clean(text, &sentinels, context);
}

fn http() -> HttpConfig {
    HttpConfig::default().timeout(Duration::from_secs(10))
}

fn password_client(server: &MockServer) -> AcClient {
    AcClient::builder(server.uri())
        .user("alice")
        .password(PASSWORD)
        .org_id("org-1")
        .http(http())
        .build()
        .expect("valid client")
}

/// The signatures the access-key logins sent (they depend on the time): the platform
/// may echo them too.
async fn signatures(server: &MockServer) -> Vec<String> {
    let received = server.received_requests().await.unwrap_or_default();
    received
        .iter()
        .filter_map(|r| r.headers.get("signature"))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

#[tokio::test]
async fn every_route_scrubs_every_echo() {
    let logs = traces::Traces::capture();
    let mut signed = Vec::new();
    for encoding in ENCODINGS {
        for (place, answer) in PLACES {
            let context = format!("{encoding:?} in the {place}");
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(Echo { encoding, answer })
                .mount(&server)
                .await;
            let client = password_client(&server);
            let login = format!("{:?}", client.login().await);
            let renew = format!("{:?}", client.renew(&AccessToken::new(TOKEN)).await);
            let state = format!("{:?}", client.state(&AccessToken::new(TOKEN)).await);
            let keyed = AcClient::builder(server.uri())
                .user("alice")
                .access_key("85f96a42b13f4d2c8b760d2775bbcca8", SECRET_KEY)
                .http(http())
                .build()
                .expect("valid client");
            let key_login = format!("{:?}", keyed.login().await);
            signed.extend(signatures(&server).await);
            for (route, text) in [
                ("password login", login),
                ("renew", renew),
                ("state", state),
                ("access-key login", key_login),
            ] {
                check(&text, &signed, &format!("{route}: {context}"));
            }

            // Region discovery, with a token the login gave.
            let server = MockServer::start().await;
            Mock::given(path("/ac/openapi/v2/tokens"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "code": "0", "msg": "success",
                    "data": [{"clusterName": "华东一区", "clusterId": "11112", "token": TOKEN}]
                })))
                .mount(&server)
                .await;
            Mock::given(any())
                .respond_with(Echo { encoding, answer })
                .mount(&server)
                .await;
            let client = password_client(&server);
            let cache = Arc::new(TokenCache::new(AcProvider::new(
                client.clone(),
                ClusterSelector::id("11112"),
            )));
            let discovery = client.discovery(cache);
            let center = format!("{:?}", discovery.regions().await);
            check(&center, &signed, &format!("center: {context}"));
        }
    }
    assert!(!signed.is_empty(), "the access-key logins were seen");
    let logged = logs.text();
    assert!(logged.contains("token fetch started"), "the capture works");
    check(&logged, &signed, "logs");
}
