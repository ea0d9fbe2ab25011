//! A token of the wrong JSON type is a malformed answer naming where it stood, never a
//! token: `"token": true` must not become the token `"true"` (issue 13, defect 8), in
//! the password login, the access-key login and the renewal, over real HTTP.

mod common;

use std::time::Duration;

use common::{catch_all, client, success};
use serde_json::{Value, json};
use tokenkit_ac::AcClient;
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{AccessToken, Error};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

const LOGIN: &str = "/ac/openapi/v2/tokens";
const ACCESS_KEY_LOGIN: &str = "/api/user/v3/tokens";
const NEXT: &str = "/ac/openapi/v2/tokens/next";

/// Each JSON type a token is not, with the words the error must use for it.
fn wrong_values() -> [(Value, &'static str); 5] {
    [
        (json!(true), "a boolean"),
        (json!(1.5), "a number"),
        (json!(-7), "a number"),
        (json!({}), "an object"),
        (json!([]), "a list"),
    ]
}

async fn answering(route: &str, data: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(route))
        .respond_with(success(data))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    server
}

fn access_key_client(server: &MockServer) -> AcClient {
    AcClient::builder(server.uri())
        .user("alice")
        .access_key("85f96a42b13f4d2c8b760d2775bbcca8", "SENTINEL-SECRET-KEY")
        .http(HttpConfig::default().timeout(Duration::from_secs(5)))
        .build()
        .expect("valid client")
}

fn assert_malformed(err: &Error, expected: &str) {
    match err {
        Error::Malformed { reason, .. } => {
            assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
        }
        other => panic!("expected a malformed answer ({expected}), got {other}"),
    }
}

#[tokio::test]
async fn a_region_token_of_the_wrong_type_is_malformed_in_both_logins() {
    for (value, type_name) in wrong_values() {
        let regions = json!([{"clusterName": "ac", "clusterId": "0", "token": value}]);
        let expected = format!("data[0].token is {type_name} where a string or null");

        let server = answering(LOGIN, regions.clone()).await;
        let err = client(&server).login().await.expect_err("malformed");
        assert_malformed(&err, &expected);

        let server = answering(ACCESS_KEY_LOGIN, regions).await;
        let err = access_key_client(&server)
            .login()
            .await
            .expect_err("malformed");
        assert_malformed(&err, &expected);
    }
}

#[tokio::test]
async fn a_renewed_token_of_the_wrong_type_is_malformed() {
    for (value, type_name) in wrong_values() {
        let server = answering(NEXT, value).await;
        let err = client(&server)
            .renew(&AccessToken::new("old-token"))
            .await
            .expect_err("malformed");
        assert_malformed(
            &err,
            &format!("data is {type_name} where a token string was expected"),
        );
    }
}
