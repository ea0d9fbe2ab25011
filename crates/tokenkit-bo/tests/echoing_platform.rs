//! A platform that echoes the request (some gateways do): the refresh's echo, raw or
//! percent-, Base64- or hex-encoded, in the refusal message, in the `errorCode` and
//! `errorText` details, in the code, in an HTML page, in broken JSON, in a wrongly
//! typed field and in a 502 page, never brings the refresh token, the `XverifyApi`
//! value, the DES key or the access token into an error's Display or Debug, or into
//! the logs — in either field spelling (`_nodejs`).

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

#[path = "../../tokenkit-core/tests/support/echo.rs"]
mod echo;

use std::time::Duration;

use echo::{ENCODINGS, Echo, Place, assert_clean};
use serde_json::json;
use tokenkit_bo::{BoClient, BoProvider, BoSession, NodeJsMode, VerifySigner};
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{RefreshToken, TokenCache};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "S3NT1NEL";
/// With every character that is encoded differently in a query string and elsewhere.
const REFRESH: &str = "SENTINEL-REFRESH-2b8+/=~* é";
const ACCESS: &str = "SENTINEL-ACCESS-77d";

/// The places the stand-in puts its echo.
const PLACES: [Place; 8] = [
    ("message", |echo| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"success": false, "code": 401, "message": echo}))
    }),
    ("errorCode", |echo| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"success": false, "code": 403, "error": {"errorCode": echo}}))
    }),
    ("errorText", |echo| {
        ResponseTemplate::new(200).set_body_json(
            json!({"success": false, "code": 403, "error": {"error_code": "E", "error_text": echo}}),
        )
    }),
    ("code", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"success": false, "code": echo}))
    }),
    ("html", |echo| {
        ResponseTemplate::new(200)
            .set_body_raw(format!("<html><body>{echo}</body></html>"), "text/html")
    }),
    ("broken json", |echo| {
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"success": false, "message": "{echo}"#),
            "application/json",
        )
    }),
    ("wrong type", |echo| {
        ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"accessToken": "opaque", "tokenUser": echo, "expiresIn": 60}}))
    }),
    ("bad gateway", |echo| {
        ResponseTemplate::new(502).set_body_raw(format!("bad gateway: {echo}"), "text/plain")
    }),
];

/// The `XverifyApi` values the refreshes sent (fresh for every request).
async fn verify_values(server: &MockServer) -> Vec<String> {
    let received = server.received_requests().await.unwrap_or_default();
    received
        .iter()
        .filter_map(|r| r.headers.get("XverifyApi"))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn check(text: &str, verify: &[String], context: &str) {
    let mut sentinels = vec![KEY, REFRESH, ACCESS];
    sentinels.extend(verify.iter().map(String::as_str));
    assert!(!text.contains("SENTINEL"), "{context}: leaked: {text}");
    assert_clean(text, &sentinels, context);
}

#[tokio::test]
async fn the_refresh_scrubs_every_echo() {
    let logs = traces::Traces::capture();
    let mut sent_verify = Vec::new();
    for encoding in ENCODINGS {
        for (place, answer) in PLACES {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(Echo { encoding, answer })
                .mount(&server)
                .await;
            for mode in [NodeJsMode::CommonData, NodeJsMode::CommonDataUnder] {
                let context = format!("{encoding:?} in the {place}, {mode:?}");
                let signer = VerifySigner::builder(KEY).build().expect("valid key");
                let client = BoClient::builder(server.uri(), "demo-owner", signer)
                    .nodejs_mode(mode)
                    .http(HttpConfig::default().timeout(Duration::from_secs(10)))
                    .build()
                    .expect("valid client");
                let refreshed = client
                    .refresh(&RefreshToken::new(REFRESH))
                    .await
                    .expect_err("refused");
                // Through a cache, which logs the failure.
                let cache =
                    TokenCache::new(BoProvider::new(client, BoSession::new(ACCESS, REFRESH)));
                let fetched = cache.token().await.expect_err("refused");
                sent_verify.extend(verify_values(&server).await);
                for (route, text) in [
                    ("refresh", format!("{refreshed} {refreshed:?}")),
                    ("cache", format!("{fetched} {fetched:?} {cache:?}")),
                ] {
                    check(&text, &sent_verify, &format!("{route}: {context}"));
                }
            }
        }
    }
    assert!(!sent_verify.is_empty(), "the verify values were seen");
    let logged = logs.text();
    assert!(logged.contains("token fetch failed"), "the capture works");
    check(&logged, &sent_verify, "logs");
}
