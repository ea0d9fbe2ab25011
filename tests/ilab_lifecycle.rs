//! The ilab lifecycle through the facade, against the sandbox on a real socket:
//! exchange → refresh → refresh → relaunch required; a reused ticket; a wrong secret;
//! the `open/api/v2` dialect; one grant shared by two caches; the session registry.

#![cfg(all(feature = "ilab", feature = "sandbox"))]

use std::sync::Arc;
use std::time::Duration;

use tokenkit::ilab::{Dialect, HexCase, IlabClient, IlabProvider, SessionRegistry, Ticket};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET, IlabConfig};
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{MemoryStore, TokenCache, TokenProvider, TokenStore};

const TTL: Duration = Duration::from_secs(1);
const PAST_TTL: Duration = Duration::from_millis(1_100);

async fn sandbox(config: IlabConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: config,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

fn short_lived() -> IlabConfig {
    IlabConfig {
        ttl: TTL,
        ..IlabConfig::default()
    }
}

/// A user clicking "我要做实验": the ticket as it stands in the launch URL.
async fn launch_value(sandbox: &Sandbox, un: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{}/_sandbox/ilab/tickets", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({"un": un, "dis": "张三"}).to_string())
        .send()
        .await
        .expect("admin answers")
        .bytes()
        .await
        .expect("body");
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
    answer["ticket_url_encoded"]
        .as_str()
        .expect("ticket")
        .to_owned()
}

async fn ticket(sandbox: &Sandbox, un: &str) -> Ticket {
    Ticket::from_url_value(&launch_value(sandbox, un).await).expect("valid ticket")
}

fn client(sandbox: &Sandbox) -> IlabClient {
    IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET)
        .build()
        .expect("valid client")
}

#[tokio::test]
async fn exchange_two_refreshes_then_relaunch_required() {
    let sandbox = sandbox(short_lived()).await;
    let launch_url = format!(
        "https://lab.example/launch?ticket={}",
        launch_value(&sandbox, "u1").await
    );
    let ticket = Ticket::from_launch_url(&launch_url).expect("valid");
    let cache = TokenCache::new(IlabProvider::new(client(&sandbox), ticket));
    let first = cache.token().await.expect("exchanged");
    let user = first.user().expect("identity");
    assert_eq!(
        (user.id.as_str(), user.display_name.as_deref()),
        ("u1", Some("张三"))
    );
    let original = first.refresh_token().expect("refresh token").clone();
    for spent in 1..=2 {
        tokio::time::sleep(PAST_TTL).await;
        let token = cache.token().await.expect("refreshed");
        assert_eq!(token.grant().refreshes_spent, spent);
        assert_eq!(token.refresh_token(), Some(&original));
        // The refresh answer carries the user id in `dis`; the display name is kept.
        assert_eq!(
            token.user().and_then(|u| u.display_name.as_deref()),
            Some("张三")
        );
    }
    tokio::time::sleep(PAST_TTL).await;
    let err = cache.token().await.expect_err("budget spent");
    assert!(err.is_reauth_required(), "{err}");
    assert!(err.to_string().contains("relaunch the experiment"), "{err}");
    assert_eq!(sandbox.stats().get("ilab.accesstoken"), 1);
    assert_eq!(
        sandbox.stats().get("ilab.refreshtoken"),
        2,
        "no third refresh sent"
    );
}

#[tokio::test]
async fn a_reused_ticket_is_refused_with_code_4() {
    let sandbox = sandbox(IlabConfig::default()).await;
    let ticket = ticket(&sandbox, "u1").await;
    client(&sandbox).exchange(&ticket).await.expect("first use");
    let err = IlabProvider::new(client(&sandbox), ticket)
        .fetch()
        .await
        .expect_err("second use");
    assert_eq!(err.platform_code(), Some("4"));
    assert_eq!(err.platform_message(), Some("无效ticket"));
    assert!(err.is_reauth_required(), "{err}");
}

#[tokio::test]
async fn an_expired_ticket_is_refused_with_code_3() {
    let sandbox = sandbox(IlabConfig {
        ticket_ttl: Duration::from_millis(100),
        ..IlabConfig::default()
    })
    .await;
    let ticket = ticket(&sandbox, "u1").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = client(&sandbox).exchange(&ticket).await.expect_err("late");
    assert_eq!(err.platform_code(), Some("3"));
    assert!(err.is_reauth_required(), "{err}");
}

#[tokio::test]
async fn a_wrong_secret_is_code_2_and_does_not_burn_the_ticket() {
    let sandbox = sandbox(IlabConfig::default()).await;
    let ticket = ticket(&sandbox, "u1").await;
    let wrong = IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, "not-the-secret")
        .build()
        .expect("valid");
    let provider = IlabProvider::new(wrong, ticket.clone());
    let err = provider.fetch().await.expect_err("bad signature");
    assert_eq!(err.platform_code(), Some("2"));
    assert!(!err.is_reauth_required() && !err.is_transient(), "{err}");
    assert!(err.to_string().contains("signature mismatch"), "{err}");
    client(&sandbox)
        .exchange(&ticket)
        .await
        .expect("the ticket still works");
}

#[tokio::test]
async fn the_open_api_v2_dialect_with_lower_case_hex() {
    let sandbox = sandbox(IlabConfig {
        lowercase_hex: true,
        ..short_lived()
    })
    .await;
    let client = IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET)
        .dialect(Dialect::open_api_v2())
        .hex_case(HexCase::Lower)
        .build()
        .expect("valid");
    let cache = TokenCache::new(IlabProvider::new(client, ticket(&sandbox, "u2").await));
    let first = cache.token().await.expect("exchanged");
    for _ in 0..2 {
        tokio::time::sleep(PAST_TTL).await;
        let token = cache.token().await.expect("refreshed");
        assert!(!token.same_access_token(&first));
    }
    tokio::time::sleep(PAST_TTL).await;
    assert!(cache.token().await.expect_err("spent").is_reauth_required());
    assert_eq!(
        (
            sandbox.stats().get("ilab.token"),
            sandbox.stats().get("ilab.refresh")
        ),
        (1, 2)
    );
}

#[tokio::test]
async fn two_caches_sharing_a_grant_spend_one_refresh_between_them() {
    let sandbox = sandbox(short_lived()).await;
    let token = client(&sandbox)
        .exchange(&ticket(&sandbox, "u1").await)
        .await
        .expect("exchanged");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let caches: Vec<TokenCache> = (0..2)
        .map(|_| {
            TokenCache::builder(IlabProvider::from_exchanged(
                client(&sandbox),
                token.clone(),
            ))
            .store(Arc::clone(&store))
            .key("u1")
            .build()
        })
        .collect();
    for cache in &caches {
        cache.token().await.expect("installed");
    }
    tokio::time::sleep(PAST_TTL).await;
    let (a, b) = tokio::join!(caches[0].token(), caches[1].token());
    let (a, b) = (a.expect("refreshed"), b.expect("refreshed"));
    assert!(a.same_access_token(&b));
    assert_eq!(sandbox.stats().get("ilab.refreshtoken"), 1);
}

#[tokio::test]
async fn the_registry_keeps_one_grant_per_user_and_evicts_spent_ones() {
    let sandbox = sandbox(short_lived()).await;
    let registry = SessionRegistry::new(client(&sandbox)).max_idle(Duration::from_secs(3600));
    let alice = registry
        .launch(ticket(&sandbox, "alice").await)
        .await
        .expect("alice");
    registry
        .launch(ticket(&sandbox, "bob").await)
        .await
        .expect("bob");
    assert_eq!((registry.len(), alice.un()), (2, "alice"));
    assert_eq!(alice.display_name(), Some("张三"));
    let token = registry.token("alice").await.expect("alice's token");
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("alice"));
    let missing = registry.token("carol").await.expect_err("no session");
    assert!(missing.is_reauth_required(), "{missing}");

    // A relaunch replaces the grant.
    let relaunched = registry
        .launch(ticket(&sandbox, "alice").await)
        .await
        .expect("relaunch");
    let new_token = relaunched.token().await.expect("token");
    assert!(!new_token.same_access_token(&token));
    assert_eq!(registry.len(), 2);

    // Spend alice's two refreshes; bob's grant expires unused but keeps its refreshes.
    for _ in 0..2 {
        tokio::time::sleep(PAST_TTL).await;
        registry.token("alice").await.expect("refreshed");
    }
    tokio::time::sleep(PAST_TTL).await;
    assert_eq!(registry.evict_expired().await, 1, "alice's grant is over");
    assert!(registry.get("alice").is_none() && registry.get("bob").is_some());
    // Bob was idle less than max_idle: he can still refresh.
    registry.token("bob").await.expect("bob refreshes");
}

#[tokio::test]
async fn idle_sessions_with_expired_tokens_are_evicted() {
    let sandbox = sandbox(short_lived()).await;
    let registry = SessionRegistry::new(client(&sandbox)).max_idle(Duration::from_millis(500));
    registry
        .launch(ticket(&sandbox, "dave").await)
        .await
        .expect("dave");
    assert_eq!(registry.evict_expired().await, 0, "token still valid");
    tokio::time::sleep(PAST_TTL).await;
    assert_eq!(registry.evict_expired().await, 1);
    assert!(registry.is_empty());
}
