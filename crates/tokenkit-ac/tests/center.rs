//! Region discovery on the wire (PROTOCOLS.md §2.6): the answer's shapes, the first
//! enabled URL of a kind, typed errors for bad answers, a 10008 recovered by the
//! authenticated-call layer, and the answer kept for as long as its token.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ac_jwt, catch_all, client, success};
use serde_json::{Value, json};
use tokenkit_ac::{AcProvider, ClusterSelector, ServiceKind};
use tokenkit_core::{Error, TokenCache};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn region(enable_hpc: Value) -> Value {
    json!({"id": "11112", "name": "华东一区",
           "clusterUserInfo": {"userName": "alice", "homePath": "/public/home/alice"},
           "hpcUrls": [{"url": "https://hpc-old", "enable": "false", "version": "1.0"},
                       {"url": "https://hpc", "enable": enable_hpc, "version": "1.0"}],
           "efileUrls": [],
           "aiUrls": [{"url": "https://ai", "enable": false}]})
}

/// A server whose login gives `token` for 11112, and whose center answers `answer`.
async fn platform(token: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/ac/openapi/v2/tokens"))
        .respond_with(success(
            json!([{"clusterName": "华东一区", "clusterId": "11112", "token": token}]),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ac/openapi/v2/center"))
        .and(header("token", token))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn cache(server: &MockServer) -> Arc<TokenCache> {
    Arc::new(TokenCache::new(AcProvider::new(
        client(server),
        ClusterSelector::id("11112"),
    )))
}

#[tokio::test]
async fn the_first_enabled_url_of_each_kind() {
    for (enable, data_as_list) in [(json!("true"), false), (json!(true), true)] {
        let token = ac_jwt("11112", Duration::from_secs(3600));
        let data = if data_as_list {
            json!([region(enable)])
        } else {
            region(enable)
        };
        let server = platform(&token, success(data)).await;
        catch_all(&server).await;
        let discovery = client(&server).discovery(cache(&server));
        assert_eq!(
            discovery.url(ServiceKind::Hpc).await.expect("hpc"),
            "https://hpc"
        );
        let regions = discovery.regions().await.expect("regions");
        assert_eq!(regions[0].hpc.len(), 2);
        assert!(!regions[0].hpc[0].enabled);
        for kind in [ServiceKind::Efile, ServiceKind::Ai] {
            let error = discovery.url(kind).await.expect_err("none enabled");
            assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
            let text = error.to_string();
            assert!(
                text.contains("华东一区") && text.contains(&kind.to_string()),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn the_answer_is_kept_for_as_long_as_its_token() {
    let token = ac_jwt("11112", Duration::from_secs(3600));
    let server = platform(&token, success(region(json!("true")))).await;
    catch_all(&server).await;
    let discovery = client(&server).discovery(cache(&server));
    for _ in 0..5 {
        discovery.url(ServiceKind::Hpc).await.expect("hpc");
    }
    let centers = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path() == "/ac/openapi/v2/center")
        .count();
    assert_eq!(centers, 1);
}

#[tokio::test]
async fn bad_answers_are_typed_errors() {
    for (answer, expect) in [
        (
            ResponseTemplate::new(502).set_body_raw("<html>502 Bad Gateway</html>", "text/html"),
            "transient",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"),
            "malformed",
        ),
        (success(json!("not a region")), "malformed"),
        (success(json!({"id": "1", "hpcUrls": "x"})), "malformed"),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": "10009", "msg": "没有权限访问接口"})),
            "rejected",
        ),
    ] {
        let token = ac_jwt("11112", Duration::from_secs(3600));
        let server = platform(&token, answer).await;
        catch_all(&server).await;
        let error = client(&server)
            .discovery(cache(&server))
            .regions()
            .await
            .expect_err("bad answer");
        let kind = match error {
            Error::Transient { .. } => "transient",
            Error::Malformed { .. } => "malformed",
            Error::Rejected { .. } => "rejected",
            _ => "other",
        };
        assert_eq!(kind, expect, "{error:?}");
        assert!(!error.to_string().contains(&token));
    }
}

#[tokio::test]
async fn an_empty_region_list_has_no_url() {
    let token = ac_jwt("11112", Duration::from_secs(3600));
    let server = platform(&token, success(json!([]))).await;
    catch_all(&server).await;
    let discovery = client(&server).discovery(cache(&server));
    assert!(discovery.regions().await.expect("empty").is_empty());
    let error = discovery
        .url(ServiceKind::Hpc)
        .await
        .expect_err("no region");
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn a_10008_for_an_expired_token_renews_once_and_repeats() {
    let old = ac_jwt("11112", Duration::from_secs(3600));
    let new = ac_jwt("11112", Duration::from_secs(7200));
    let server = platform(
        &old,
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": "10008", "msg": "权限不足", "data": null})),
    )
    .await;
    Mock::given(path("/ac/openapi/v2/tokens/next"))
        .and(header("token", old.as_str()))
        .respond_with(success(json!(new)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/ac/openapi/v2/center"))
        .and(header("token", new.as_str()))
        .respond_with(success(region(json!("true"))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let discovery = client(&server).discovery(cache(&server));
    assert_eq!(
        discovery.url(ServiceKind::Hpc).await.expect("recovered"),
        "https://hpc"
    );
}
