//! What goes on the wire (PROTOCOLS.md §2.1–2.3), checked on a real socket.

mod common;

use std::time::Duration;

use common::{PASSWORD, catch_all, client, regions, success};
use serde_json::json;
use tokenkit_core::AccessToken;
use wiremock::matchers::{body_bytes, header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request};

fn no_token_header(request: &Request) -> bool {
    !request.headers.contains_key("token")
}

#[tokio::test]
async fn login_posts_an_empty_json_request_with_the_three_credential_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ac/openapi/v2/tokens"))
        .and(header("user", "alice"))
        .and(header("password", PASSWORD))
        .and(header("orgId", "org-1"))
        .and(header("content-type", "application/json"))
        .and(header_exists("user-agent"))
        .and(body_bytes(Vec::<u8>::new()))
        .and(no_token_header)
        .respond_with(success(regions(Duration::from_secs(3600))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let login = client(&server).login().await.expect("login");
    let ids: Vec<_> = login
        .regions()
        .iter()
        .map(|r| {
            (
                r.cluster.id.as_str(),
                r.cluster.name.as_str(),
                r.is_suspended(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("0", "ac", false),
            ("11112", "华东一区", false),
            ("11113", "华北一区", true)
        ]
    );
}

#[tokio::test]
async fn renew_posts_the_token_header_and_an_empty_body() {
    let server = MockServer::start().await;
    let old = common::ac_jwt("11112", Duration::from_secs(10));
    let new = common::ac_jwt("11112", Duration::from_secs(3600));
    Mock::given(method("POST"))
        .and(path("/ac/openapi/v2/tokens/next"))
        .and(header("token", old.as_str()))
        .and(header("content-type", "application/json"))
        .and(body_bytes(Vec::<u8>::new()))
        .and(|r: &Request| !r.headers.contains_key("password"))
        .respond_with(success(json!(new)))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let token = client(&server)
        .renew(&AccessToken::new(old))
        .await
        .expect("renewed");
    assert_eq!(token.access_token().expose_secret(), new);
    assert_eq!(
        token.metadata().cluster.as_ref().map(|c| c.id.as_str()),
        Some("11112")
    );
    let left = token.remaining();
    assert!(
        left > Duration::from_secs(3590) && left <= Duration::from_secs(3600),
        "{left:?}"
    );
}

#[tokio::test]
async fn state_gets_with_the_token_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ac/openapi/v2/tokens/state"))
        .and(header("token", "tok-1"))
        .and(|r: &Request| !r.headers.contains_key("password"))
        .respond_with(success(json!("token is valid")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let state = client(&server)
        .state(&AccessToken::new("tok-1"))
        .await
        .expect("valid");
    assert_eq!(state, "token is valid");
}

#[tokio::test]
async fn a_base_url_with_a_trailing_slash_and_no_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ac/openapi/v2/tokens/state"))
        .respond_with(success(json!("token is valid")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let bare = tokenkit_ac::AcClient::builder(format!("{}/", server.uri()))
        .build()
        .expect("no credentials needed for state");
    bare.state(&AccessToken::new("t")).await.expect("state");
    let err = bare.login().await.expect_err("login needs credentials");
    assert!(err.to_string().contains("login needs a user"), "{err}");
    for bad in ["not a url", "ftp://host"] {
        let err = tokenkit_ac::AcClient::builder(bad)
            .build()
            .expect_err("refused");
        assert!(matches!(err, tokenkit_core::Error::Config(_)), "{err}");
    }
}
