//! Sentinel secrets pushed through every error path, Debug output and the logs never
//! come out.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

mod common;

use std::time::Duration;

use common::{PASSWORD, catch_all, client, refusal, success};
use serde_json::json;
use tokenkit_ac::{AcProvider, ClusterSelector};
use tokenkit_core::{AccessToken, TokenCache, TokenProvider};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Token-like, so it is also what the excerpt redaction must catch.
const TOKEN: &str = "SENTINELTOKEN0123456789abcdefghijklmnop";

fn assert_clean(text: &str) {
    assert!(!text.contains("SENTINEL"), "a secret leaked: {text}");
}

#[tokio::test]
async fn sentinels_never_leak() {
    let logs = traces::Traces::capture();

    let echo_page =
        format!("<html><body>bad request: password={PASSWORD} token={TOKEN}</body></html>");
    let echo_json =
        json!({"code": "10008", "msg": format!("token {TOKEN} 权限不足"), "data": TOKEN});
    let mut rendered = Vec::new();
    for answer in [
        refusal(json!("10004"), "用户名或密码错误"),
        ResponseTemplate::new(200).set_body_raw(echo_page.clone(), "text/html"),
        ResponseTemplate::new(503).set_body_raw(echo_page.clone(), "text/html"),
        success(json!(TOKEN)),
        success(json!([{"clusterId": "0", "clusterName": "ac", "token": [TOKEN]}])),
        ResponseTemplate::new(200).set_body_json(json!({"code": [TOKEN]})),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/ac/openapi/v2/tokens"))
            .respond_with(answer)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let client = client(&server);
        let provider = AcProvider::new(client.clone(), ClusterSelector::id("11112"));
        match provider.fetch().await {
            Ok(token) => rendered.push(format!("{token:?}")),
            Err(e) => rendered.push(format!("{e} {e:?}")),
        }
        let err = client
            .renew(&AccessToken::new(TOKEN))
            .await
            .expect_err("no mock");
        rendered.push(format!("{err} {err:?} {client:?} {provider:?}"));
    }
    // A refusal whose message echoes the token: the message is kept, the token is not.
    let server = MockServer::start().await;
    Mock::given(path("/ac/openapi/v2/tokens/next"))
        .respond_with(ResponseTemplate::new(200).set_body_json(echo_json))
        .mount(&server)
        .await;
    let err = client(&server)
        .renew(&AccessToken::new(TOKEN))
        .await
        .expect_err("refused");
    assert_eq!(err.platform_code(), Some("10008"));
    assert_eq!(err.platform_message(), Some("token [redacted] 权限不足"));
    rendered.push(format!("{err} {err:?}"));

    // A working login through the cache, with the token printed by Debug.
    let server = MockServer::start().await;
    Mock::given(path("/ac/openapi/v2/tokens"))
        .respond_with(success(
            json!([{"clusterId": "11112", "clusterName": "华东一区", "token": TOKEN}]),
        ))
        .mount(&server)
        .await;
    let cache = TokenCache::new(AcProvider::new(
        client(&server),
        ClusterSelector::id("11112"),
    ));
    let token = cache.token().await.expect("token");
    assert_eq!(token.access_token().expose_secret(), TOKEN);
    rendered.push(format!(
        "{token:?} {cache:?} {:?}",
        client(&server).login().await
    ));
    tokio::time::sleep(Duration::from_millis(10)).await;

    for text in &rendered {
        assert_clean(text);
    }
    let logs = logs.text();
    assert!(
        logs.contains("token fetch started"),
        "the capture works: {logs}"
    );
    assert_clean(&logs);
}
