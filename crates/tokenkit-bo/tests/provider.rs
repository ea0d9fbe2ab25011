//! `BoProvider` with the core's `TokenCache`, against a wiremock platform.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::*;
use tokenkit_bo::{BoProvider, BoSession, REFRESH_PATH};
use tokenkit_core::{MemoryStore, TokenCache, TokenProvider, TokenStore};
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn fetch_hands_out_the_login_session_once_then_requires_a_login() {
    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(200), 0).await;
    let access = fresh_jwt(60);
    let provider = BoProvider::new(client(&server), BoSession::new(access.clone(), "r1"));
    let token = provider.fetch().await.expect("the session");
    assert_eq!(token.access_token().expose_secret(), access);
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r1"));
    let err = provider.fetch().await.unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
    assert_eq!(err.platform(), Some("bo"));
}

#[tokio::test]
async fn an_expired_or_opaque_session_is_refreshed_at_once() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), "r2")),
        2,
    )
    .await;
    let now = now_secs();
    let old = jwt(&json!({"iat": now - 120, "exp": now - 60}));
    let token = BoProvider::new(client(&server), BoSession::new(old, "r1"))
        .fetch()
        .await
        .expect("refreshed");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r2"));
    let token = BoProvider::new(client(&server), BoSession::new("opaque", "r1"))
        .fetch()
        .await
        .expect("refreshed");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r2"));
}

#[tokio::test]
async fn the_login_function_is_called_when_the_session_is_gone() {
    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(200), 0).await;
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&logins);
    let provider = BoProvider::from_login(client(&server), move || {
        let counter = Arc::clone(&counter);
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(BoSession::new(fresh_jwt(60), format!("login-{n}")))
        }
    });
    for n in 1..=2 {
        let token = provider.fetch().await.expect("logged in");
        assert_eq!(
            token.refresh_token().map(|r| r.expose_secret().to_owned()),
            Some(format!("login-{n}"))
        );
    }
    assert_eq!(logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_spent_refresh_token_is_never_sent_twice() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), "r2")),
        1,
    )
    .await;
    let provider = BoProvider::new(client(&server), BoSession::new(fresh_jwt(60), "r1"));
    let first = provider.fetch().await.expect("session");
    let a = provider.refresh(&first).await.expect("refreshed");
    // The cache could not store `a` and asks again with the spent token: it gets `a`.
    let b = provider.refresh(&first).await.expect("the same token");
    assert!(a.same_access_token(&b));
    assert_eq!(b.refresh_token().map(|r| r.expose_secret()), Some("r2"));
}

#[tokio::test]
async fn the_cache_stores_each_rotated_refresh_token_before_handing_out_the_token() {
    let server = MockServer::start().await;
    Mock::given(path(REFRESH_PATH))
        .and(query_param("refreshToken", "r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), "r2")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    // A session issued 58 s ago: one to two seconds left.
    let now = now_secs();
    let old = jwt(&json!({"iat": now - 58, "nbf": now - 58, "exp": now + 2}));
    let store = Arc::new(MemoryStore::new());
    let cache = TokenCache::builder(BoProvider::new(
        client(&server),
        BoSession::new(old.clone(), "r1"),
    ))
    .store(store.clone())
    .key("bo:alice")
    .build();
    let first = cache.token().await.expect("the session");
    assert_eq!(first.access_token().expose_secret(), old);
    assert!(first.remaining() <= Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let second = cache.token().await.expect("refreshed");
    assert_eq!(
        second.refresh_token().map(|r| r.expose_secret()),
        Some("r2")
    );
    let stored = store
        .load("bo:alice")
        .await
        .expect("store")
        .expect("a token");
    assert_eq!(
        stored.token.refresh_token().map(|r| r.expose_secret()),
        Some("r2")
    );
    assert!(stored.token.same_access_token(&second));
}

#[tokio::test]
async fn a_refused_refresh_without_login_is_a_reauth_error_from_the_cache() {
    let server = MockServer::start().await;
    let body = json!({"code": 401, "message": "登录已过期", "success": false,
        "error": {"errorCode": "REFRESH_TOKEN_INVALID", "errorText": "used"}});
    answer(&server, ResponseTemplate::new(200).set_body_json(body), 1).await;
    let now = now_secs();
    let expired = jwt(&json!({"iat": now - 120, "exp": now - 60}));
    let cache = TokenCache::new(BoProvider::new(
        client(&server),
        BoSession::new(expired, "r1"),
    ));
    let err = cache.token().await.unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
}
