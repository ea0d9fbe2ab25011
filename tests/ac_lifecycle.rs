//! The ac token lifecycle end to end: the facade's `TokenCache` over `AcProvider`
//! against the sandbox, with lifetimes of seconds (PROTOCOLS.md §2).
#![cfg(all(feature = "ac", feature = "sandbox"))]

#[path = "support/ac.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{sandbox, sleep_past_expiry};
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector, is_token_refused};
use tokenkit::sandbox::Sandbox;
use tokenkit::sandbox::ac::AcConfig;
use tokenkit::{Error, TokenCache};

fn client(sandbox: &Sandbox, password: &str) -> AcClient {
    support::password_client(sandbox, password)
}

fn cache(sandbox: &Sandbox, cluster: ClusterSelector) -> TokenCache {
    TokenCache::new(AcProvider::new(client(sandbox, "demo-password"), cluster))
}

#[tokio::test]
async fn login_expiry_renewal_window_closed_and_login_again() {
    // 4 s tokens: a login's token arrives with 3 s or more left by `Date` (whole
    // seconds), well above LOGIN_TOKEN_FLOOR even after a slow request on a loaded
    // machine. With 2 s it arrived with 1–2 s left, and a login that took longer than
    // the fraction of a second past 1 s made the provider renew it at once (one
    // `tokens/next` more than counted below).
    let sandbox = sandbox(AcConfig {
        ttl: Duration::from_secs(4),
        renewal_window: Duration::from_secs(1),
        ..AcConfig::default()
    })
    .await;
    let stats = sandbox.stats();
    let cache = cache(&sandbox, ClusterSelector::name("华东一区"));
    let api = client(&sandbox, "demo-password");

    let first = cache.token().await.expect("login").to_owned_token();
    assert_eq!((stats.get("ac.tokens"), stats.get("ac.next")), (1, 0));
    let lifetime = first.expiry().lifetime();
    // expireTime - Date (whole seconds) - 1 s of Date resolution: between 3 and 4 s.
    assert!(
        lifetime > Duration::from_millis(2900) && lifetime <= Duration::from_secs(4),
        "{lifetime:?}"
    );
    assert_eq!(
        api.state(first.access_token()).await.expect("valid"),
        "token is valid"
    );

    // Expired, within the 24 h (here: 1 s) window: renewed, not logged in.
    sleep_past_expiry(&first, Duration::from_millis(100)).await;
    let second = cache.token().await.expect("renewed").to_owned_token();
    assert!(!second.same_access_token(&first));
    assert_eq!((stats.get("ac.tokens"), stats.get("ac.next")), (1, 1));
    assert_eq!(
        second.metadata().cluster.as_ref().map(|c| c.name.as_str()),
        Some("华东一区")
    );
    let err = api.state(first.access_token()).await.expect_err("replaced");
    assert!(is_token_refused(&err), "{err}");

    // More than the window past expiry on the server's clock: the renewal is refused
    // (10008) and the provider logs in again by itself.
    sleep_past_expiry(&second, Duration::from_millis(2300)).await;
    let third = cache
        .token()
        .await
        .expect("logged in again")
        .to_owned_token();
    assert_eq!((stats.get("ac.tokens"), stats.get("ac.next")), (2, 2));
    assert!(!third.same_access_token(&second));
    assert_eq!(
        api.state(third.access_token()).await.expect("valid"),
        "token is valid"
    );
}

#[tokio::test]
async fn a_client_side_window_logs_in_without_asking_to_renew() {
    // 4 s: a token then arrives with 3 s or more left by `Date`, so even after a slow
    // request the provider does not renew it at once (LOGIN_TOKEN_FLOOR); with 2 s,
    // 1–2 s left was too close to the floor.
    let sandbox = sandbox(AcConfig {
        ttl: Duration::from_secs(4),
        ..AcConfig::default()
    })
    .await;
    let provider = AcProvider::new(
        client(&sandbox, "demo-password"),
        ClusterSelector::platform(),
    )
    .renewal_window(Duration::ZERO);
    let cache = TokenCache::new(provider);
    let first = cache.token().await.expect("login").to_owned_token();
    sleep_past_expiry(&first, Duration::from_millis(1100)).await;
    let second = cache.token().await.expect("login again").to_owned_token();
    assert!(!second.same_access_token(&first));
    assert_eq!(
        (
            sandbox.stats().get("ac.tokens"),
            sandbox.stats().get("ac.next")
        ),
        (2, 0)
    );
}

#[tokio::test]
async fn a_10008_from_an_api_call_is_answered_by_invalidate() {
    let sandbox = sandbox(AcConfig::default()).await;
    let cache = Arc::new(cache(&sandbox, ClusterSelector::id("11112")));
    let api = client(&sandbox, "demo-password");
    let ours = cache.token().await.expect("login").to_owned_token();

    // Another holder of the same account renews the token: ours is replaced.
    let theirs = api
        .renew(ours.access_token())
        .await
        .expect("renewed elsewhere");
    let err = api.state(ours.access_token()).await.expect_err("replaced");
    assert!(is_token_refused(&err) && err.is_reauth_required(), "{err}");

    // Eight callers see the 10008 at once: one renewal attempt (refused: ours is
    // stale), one login, and everyone gets the current token.
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let ours = ours.clone();
            tokio::spawn(async move { cache.invalidate(&ours).await.map(|t| t.to_owned_token()) })
        })
        .collect();
    for caller in callers {
        let token = caller.await.expect("joined").expect("a new token");
        assert!(token.same_access_token(&theirs));
    }
    assert_eq!(
        sandbox.stats().get("ac.next"),
        2,
        "theirs + our one refused attempt"
    );
    assert_eq!(sandbox.stats().get("ac.tokens"), 2);
    let current = cache.token().await.expect("current");
    assert_eq!(
        api.state(current.access_token()).await.expect("valid"),
        "token is valid"
    );
}

#[tokio::test]
async fn a_suspended_cluster_is_a_typed_error() {
    let sandbox = sandbox(AcConfig::default().with_suspended_cluster()).await;
    let err = cache(&sandbox, ClusterSelector::id("11113"))
        .token()
        .await
        .expect_err("suspended");
    assert!(
        matches!(&err, Error::Suspended { resource, status, .. }
            if resource == "cluster 11113 (华北一区)" && status == "Disable"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "ac: cluster 11113 (华北一区) unavailable: account status Disable"
    );
    // The other regions of the same login are fine.
    cache(&sandbox, ClusterSelector::id("11112"))
        .token()
        .await
        .expect("a token");
}

#[tokio::test]
async fn a_wrong_password_is_a_10004_that_names_its_meaning() {
    let sandbox = sandbox(AcConfig::default()).await;
    let provider = AcProvider::new(
        client(&sandbox, "wrong-password"),
        ClusterSelector::platform(),
    );
    let err = TokenCache::new(provider)
        .token()
        .await
        .expect_err("refused");
    assert_eq!(err.platform_code(), Some("10004"));
    assert!(err.is_reauth_required());
    let text = err.to_string();
    assert!(
        text.contains("wrong credentials") && !text.contains("wrong-password"),
        "{text}"
    );
}
