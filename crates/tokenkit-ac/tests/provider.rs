//! `AcProvider`: picking the cluster, renewing, and falling back to a login when
//! renewal is refused (window closed, 10008, 10004).

mod common;

use std::time::Duration;

use common::{ac_jwt, catch_all, client, refusal, regions, success};
use serde_json::json;
use tokenkit_ac::{AcProvider, ClusterSelector};
use tokenkit_core::{Error, TokenProvider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const LOGIN: &str = "/ac/openapi/v2/tokens";
const NEXT: &str = "/ac/openapi/v2/tokens/next";
const HOUR: Duration = Duration::from_secs(3600);

async fn mount_login(server: &MockServer, body: serde_json::Value, times: u64) {
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(success(body))
        .expect(times)
        .mount(server)
        .await;
}

fn cluster_of(token: &tokenkit_core::Token) -> (String, String) {
    let c = token.metadata().cluster.clone().expect("a cluster");
    (c.id, c.name)
}

#[tokio::test]
async fn fetch_picks_the_cluster_by_id_or_name_and_zero_is_the_platform_token() {
    let server = MockServer::start().await;
    mount_login(&server, regions(HOUR), 3).await;
    catch_all(&server).await;
    for (selector, expected) in [
        (ClusterSelector::id("11112"), ("11112", "华东一区")),
        (ClusterSelector::name("华东一区"), ("11112", "华东一区")),
        (ClusterSelector::platform(), ("0", "ac")),
    ] {
        let token = AcProvider::new(client(&server), selector)
            .fetch()
            .await
            .expect("token");
        assert_eq!(cluster_of(&token), (expected.0.into(), expected.1.into()));
        let claims = tokenkit_ac::AcClaims::of(&token).expect("claims");
        assert_eq!(claims.cluster_id.as_deref(), Some(expected.0));
        assert!(token.remaining() > Duration::from_secs(3500));
    }
}

#[tokio::test]
async fn a_suspended_cluster_names_the_cluster_and_the_status() {
    let server = MockServer::start().await;
    let body = json!([
        {"clusterName": "ac", "clusterId": "0", "token": ac_jwt("0", HOUR)},
        {"clusterName": "华北一区", "clusterId": "11113", "token": null, "accountStatus": "Disable"}
    ]);
    mount_login(&server, body, 2).await;
    catch_all(&server).await;
    let err = AcProvider::new(client(&server), ClusterSelector::id("11113"))
        .fetch()
        .await
        .expect_err("suspended");
    assert!(
        matches!(&err, Error::Suspended { platform: "ac", resource, status }
            if resource == "cluster 11113 (华北一区)" && status == "Disable"),
        "{err:?}"
    );
    let err = AcProvider::new(client(&server), ClusterSelector::id("99999"))
        .fetch()
        .await
        .expect_err("unknown");
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("cluster 0 (ac)")),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_renews_and_keeps_the_cluster_name() {
    let server = MockServer::start().await;
    mount_login(&server, regions(Duration::from_secs(5)), 1).await;
    let renewed = ac_jwt("11112", HOUR);
    Mock::given(method("POST"))
        .and(path(NEXT))
        .respond_with(success(json!(renewed)))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let provider = AcProvider::new(client(&server), ClusterSelector::id("11112"));
    let first = provider.fetch().await.expect("login");
    let second = provider.refresh(&first).await.expect("renewed");
    assert_eq!(second.access_token().expose_secret(), renewed);
    assert_eq!(cluster_of(&second), ("11112".into(), "华东一区".into()));
    assert!(second.remaining() > first.remaining());
}

#[tokio::test]
async fn a_refused_renewal_falls_back_to_a_login() {
    for code in [json!("10008"), json!(10004)] {
        let server = MockServer::start().await;
        mount_login(&server, regions(HOUR), 2).await;
        Mock::given(method("POST"))
            .and(path(NEXT))
            .respond_with(refusal(code.clone(), "权限不足"))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let provider = AcProvider::new(client(&server), ClusterSelector::id("11112"));
        let first = provider.fetch().await.expect("login");
        let second = provider.refresh(&first).await.expect("logged in again");
        assert_eq!(cluster_of(&second).0, "11112", "{code}");
    }
}

#[tokio::test]
async fn other_renewal_failures_are_returned_without_a_login() {
    let server = MockServer::start().await;
    mount_login(&server, regions(HOUR), 1).await;
    Mock::given(method("POST"))
        .and(path(NEXT))
        .respond_with(refusal(json!("10001"), "内部错误"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let provider = AcProvider::new(client(&server), ClusterSelector::id("11112"));
    let first = provider.fetch().await.expect("login");
    let err = provider.refresh(&first).await.expect_err("refused");
    assert_eq!(err.platform_code(), Some("10001"));
}

#[tokio::test]
async fn past_the_renewal_window_refresh_logs_in_without_asking_to_renew() {
    let server = MockServer::start().await;
    // A token that has already expired (expireTime in the past).
    let expired = json!([{"clusterName": "华东一区", "clusterId": "11112",
                          "token": ac_jwt("11112", Duration::ZERO)}]);
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(success(expired))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_login(&server, regions(HOUR), 1).await;
    Mock::given(path(NEXT))
        .respond_with(success(json!("never")))
        .expect(0)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let provider = AcProvider::new(client(&server), ClusterSelector::id("11112"))
        .renewal_window(Duration::from_millis(50));
    // The expired token as a login hands it out (the provider itself would renew it
    // at once: see the next test).
    let old = client(&server)
        .login()
        .await
        .expect("login")
        .token_for(&ClusterSelector::id("11112"))
        .expect("token");
    assert!(old.expiry().is_expired());
    tokio::time::sleep(Duration::from_millis(80)).await;
    let new = provider.refresh(&old).await.expect("logged in again");
    assert!(new.remaining() > Duration::from_secs(3500));
}

#[test]
fn the_policy_renews_up_to_24_hours_past_expiry() {
    let client = tokenkit_ac::AcClient::builder("http://127.0.0.1:9")
        .build()
        .expect("client");
    let policy = AcProvider::new(client.clone(), ClusterSelector::platform()).policy();
    assert_eq!(policy.renewal_grace, Some(Duration::from_secs(86_400)));
    assert!(policy.background_refresh && policy.refresh_budget.is_none());
    let short =
        AcProvider::new(client, ClusterSelector::platform()).renewal_window(Duration::from_secs(5));
    assert_eq!(short.policy().renewal_grace, Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_login_token_about_to_expire_is_renewed_at_once() {
    let server = MockServer::start().await;
    // The login hands back the region's current token, which has (about) no time left.
    let dying = ac_jwt("11112", Duration::ZERO);
    let fresh = ac_jwt("11112", HOUR);
    mount_login(
        &server,
        json!([{"clusterName": "华东一区", "clusterId": "11112", "token": dying}]),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(NEXT))
        .and(wiremock::matchers::header("token", dying.as_str()))
        .respond_with(success(json!(fresh)))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let provider = AcProvider::new(client(&server), ClusterSelector::id("11112"));
    let token = provider.fetch().await.expect("renewed");
    assert_eq!(token.access_token().expose_secret(), fresh);
    assert!(token.remaining() > Duration::from_secs(3000));
    assert_eq!(cluster_of(&token), ("11112".into(), "华东一区".into()));
}

#[tokio::test]
async fn an_account_never_hands_back_the_token_it_was_asked_to_replace() {
    let server = MockServer::start().await;
    // The first login works; every later one is refused (the password was changed).
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(success(regions(HOUR)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(refusal(json!("10004"), "参数无效"))
        .mount(&server)
        .await;
    Mock::given(path(NEXT))
        .respond_with(refusal(json!("10008"), "权限不足"))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let account = tokenkit_ac::AcAccount::new(client(&server));
    let cache = account.cache(ClusterSelector::id("11112"));
    let refused = cache.token().await.expect("first login").to_owned_token();
    // The platform refused it; renewal is refused too, and so is the new login. The
    // store still holds the refused token: it must not be the answer.
    let error = cache
        .invalidate(&refused)
        .await
        .expect_err("no login possible");
    assert_eq!(error.platform_code(), Some("10004"), "{error}");
}
