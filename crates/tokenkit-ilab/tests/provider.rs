//! `IlabProvider` under the `TokenCache`, against wiremock: a single-use ticket, the
//! original refresh token on every refresh, a budget of two, and no blind repeat of a
//! refresh whose outcome is unknown.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::{APPID, SECRET, client, server, success};
use tokenkit_core::{MemoryStore, TokenCache, TokenProvider, TokenStore};
use tokenkit_ilab::{HexCase, IlabProvider, Ticket, signature};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A success body whose token lives `secs` seconds.
fn short_lived(access: &str, refresh: &str, secs: i64) -> Value {
    let mut body = success(access, refresh, "u1");
    if let Some(o) = body.as_object_mut() {
        o.insert("expires_in".into(), secs.into());
        // The seed's times are in 2024: against the response's `Date` they say
        // "expired", and the earliest estimate wins.
        for stale in [
            "create_time",
            "expires_time",
            "create_time_display",
            "expires_time_display",
        ] {
            o.remove(stale);
        }
    }
    body
}

async fn mount_exchange(server: &MockServer, body: Value) {
    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_ticket_is_exchanged_once_and_a_second_fetch_asks_for_a_relaunch() {
    let server = server().await;
    mount_exchange(&server, success("at", "rt", "u1")).await;
    let provider = IlabProvider::new(client(&server), Ticket::new("t"));
    provider.fetch().await.expect("exchanged");
    let err = provider.fetch().await.expect_err("single use");
    assert!(err.is_reauth_required(), "{err}");
    assert!(err.to_string().contains("relaunch"), "{err}");
    // `.expect(1)` on the exchange mock verifies no second exchange was sent.
}

#[tokio::test]
async fn a_ticket_refused_for_a_bad_signature_can_be_tried_again() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"code": 2, "msg": "密钥错误"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let provider = IlabProvider::new(client(&server), Ticket::new("t"));
    for _ in 0..2 {
        let err = provider.fetch().await.expect_err("bad signature");
        assert_eq!(err.platform_code(), Some("2"));
    }
}

#[tokio::test]
async fn refreshes_send_the_original_refresh_token_and_stop_after_two() {
    let server = server().await;
    mount_exchange(&server, short_lived("at0", "rt0", 1)).await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .and(query_param("refresh_token", "rt0"))
        .and(query_param(
            "signature",
            signature("rt0", APPID, SECRET, HexCase::Upper).as_str(),
        ))
        // The platform hands back a rotated refresh token; it must not be used.
        .respond_with(ResponseTemplate::new(200).set_body_json(short_lived(
            "at-next",
            "rt-rotated",
            1,
        )))
        .expect(2)
        .mount(&server)
        .await;
    let cache = TokenCache::new(IlabProvider::new(client(&server), Ticket::new("t")));
    assert_eq!(cache.policy().refresh_budget, Some(2));
    assert!(!cache.policy().background_refresh);
    let first = cache.token().await.expect("exchanged");
    assert_eq!(first.access_token().expose_secret(), "at0");
    for spent in 1..=2 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let token = cache.token().await.expect("refreshed");
        assert_eq!(token.access_token().expose_secret(), "at-next");
        assert_eq!(token.grant().refreshes_spent, spent);
        assert_eq!(
            token.refresh_token().map(|r| r.expose_secret()),
            Some("rt0")
        );
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = cache.token().await.expect_err("budget spent");
    assert!(err.is_reauth_required(), "{err}");
    assert!(err.to_string().contains("relaunch"), "{err}");
}

#[tokio::test]
async fn the_provider_refuses_a_third_refresh_without_a_request() {
    let server = server().await;
    mount_exchange(&server, success("at", "rt", "u1")).await;
    let provider = IlabProvider::new(client(&server), Ticket::new("t"));
    let mut token = provider.fetch().await.expect("exchanged");
    token.grant_mut().refreshes_spent = 2;
    let err = provider.refresh(&token).await.expect_err("budget");
    assert!(
        err.is_reauth_required() && err.to_string().contains("relaunch"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refresh_without_an_answer_is_not_repeated_and_is_recorded() {
    let server = server().await;
    mount_exchange(&server, short_lived("at0", "rt0", 1)).await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryStore::new());
    let cache = TokenCache::builder(IlabProvider::new(client(&server), Ticket::new("t")))
        .store(Arc::clone(&store) as Arc<dyn TokenStore>)
        .key("u1")
        .build();
    cache.token().await.expect("exchanged");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = cache.token().await.expect_err("no answer");
    assert!(err.is_outcome_unknown(), "{err}");
    // Asked again at once: the same error, no second request (`.expect(1)`).
    let again = cache.token().await.expect_err("not repeated");
    assert!(again.is_outcome_unknown(), "{again}");
    let stored = store.load("u1").await.expect("load").expect("stored");
    assert!(stored.token.grant().outcome_unknown);
    assert_eq!(stored.token.grant().refreshes_spent, 1);
}
