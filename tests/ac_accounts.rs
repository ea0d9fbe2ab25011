//! The ac access-key login and the account object against the sandbox (PROTOCOLS.md
//! §2.5, §2.6): login → renew → window closed → login with an access key; a wrong
//! secret key; a local clock an hour off; three clusters of one account → one login,
//! in one process and across two sharing a `FileStore`; a re-login refreshing the other
//! clusters' stored tokens; discovery through the authenticated-call layer.
#![cfg(all(feature = "ac", feature = "sandbox"))]
#![allow(clippy::expect_used)]

#[path = "support/ac.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{access_key_client, sandbox, sleep_past_expiry};
use tokenkit::ac::{AcAccount, AcClient, AcProvider, ClusterSelector, ServiceKind};
use tokenkit::sandbox::Sandbox;
use tokenkit::sandbox::ac::{AcCluster, AcConfig};
use tokenkit::{FileStore, TokenCache, TokenStore};

fn three_clusters() -> AcConfig {
    let mut config = AcConfig::default();
    config.clusters.push(AcCluster::new("11113", "华北一区"));
    config
}

fn logins(sandbox: &Sandbox) -> u64 {
    sandbox.stats().get("ac.tokens") + sandbox.stats().get("ac.ak_tokens")
}

#[tokio::test]
async fn access_key_login_renewal_window_closed_and_login_again() {
    // 4 s, not 2: a login's token then arrives well above LOGIN_TOKEN_FLOOR, so a slow
    // login is not renewed at once (which would count one `tokens/next` more).
    let sandbox = sandbox(AcConfig {
        ttl: Duration::from_secs(4),
        renewal_window: Duration::from_secs(1),
        ..AcConfig::default()
    })
    .await;
    let stats = sandbox.stats();
    let client = access_key_client(&sandbox, "demo-secret-key");
    let cache = TokenCache::new(AcProvider::new(
        client.clone(),
        ClusterSelector::id("11112"),
    ));

    let first = cache.token().await.expect("login").to_owned_token();
    assert_eq!((stats.get("ac.ak_tokens"), stats.get("ac.next")), (1, 0));
    assert_eq!(stats.get("ac.tokens"), 0, "no password login");
    assert_eq!(
        client.state(first.access_token()).await.expect("valid"),
        "token is valid"
    );

    sleep_past_expiry(&first, Duration::from_millis(100)).await;
    let second = cache.token().await.expect("renewed").to_owned_token();
    assert!(!second.same_access_token(&first));
    assert_eq!((stats.get("ac.ak_tokens"), stats.get("ac.next")), (1, 1));

    sleep_past_expiry(&second, Duration::from_millis(2300)).await;
    let third = cache
        .token()
        .await
        .expect("logged in again")
        .to_owned_token();
    assert_eq!((stats.get("ac.ak_tokens"), stats.get("ac.next")), (2, 2));
    assert_eq!(
        client.state(third.access_token()).await.expect("valid"),
        "token is valid"
    );
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_with_10004() {
    let sandbox = sandbox(AcConfig::default()).await;
    let error = access_key_client(&sandbox, "SENTINEL-wrong-secret")
        .login()
        .await
        .expect_err("refused");
    assert_eq!(error.platform_code(), Some("10004"));
    assert!(error.is_reauth_required());
    let text = format!("{error} {error:?}");
    assert!(!text.contains("SENTINEL"), "{text}");
    assert!(!text.contains("clock"), "the clocks agree: {text}");
}

#[tokio::test]
async fn a_local_clock_an_hour_off_is_named_when_the_login_is_refused() {
    // The platform's clock is an hour ahead of this machine's.
    let sandbox = sandbox(AcConfig {
        clock_offset: 3600,
        ..AcConfig::default()
    })
    .await;
    let error = access_key_client(&sandbox, "demo-secret-key")
        .login()
        .await
        .expect_err("stale timestamp");
    let text = error.to_string();
    assert_eq!(error.platform_code(), Some("10004"));
    assert!(
        text.contains("timestamp"),
        "the platform names the timestamp: {text}"
    );
    assert!(
        text.contains("behind the platform's")
            && (text.contains("59 min") || text.contains("1 h 0 min")),
        "{text}"
    );
}

#[tokio::test]
async fn three_clusters_starting_at_once_make_one_login() {
    for access_key in [false, true] {
        let sandbox = sandbox(three_clusters()).await;
        let client = if access_key {
            access_key_client(&sandbox, "demo-secret-key")
        } else {
            AcClient::builder(sandbox.base_url())
                .user("demo")
                .password("demo-password")
                .org_id("demo-org")
                .build()
                .expect("client")
        };
        let account = AcAccount::new(client);
        let caches = [
            account.cache(ClusterSelector::platform()),
            account.cache(ClusterSelector::id("11112")),
            account.cache(ClusterSelector::name("华北一区")),
        ];
        let (a, b, c) = tokio::join!(caches[0].token(), caches[1].token(), caches[2].token());
        let clusters: Vec<String> = [a, b, c]
            .into_iter()
            .map(|t| {
                t.expect("token")
                    .metadata()
                    .cluster
                    .as_ref()
                    .map(|c| c.id.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(clusters, ["0", "11112", "11113"]);
        assert_eq!(logins(&sandbox), 1, "access key {access_key}: one login");
    }
}

#[tokio::test]
async fn two_processes_sharing_a_file_store_make_one_login() {
    let sandbox = sandbox(three_clusters()).await;
    let dir = std::env::temp_dir().join(format!("tokenkit-ac-accounts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Two independent stacks over the same directory: what two processes have.
    let open = || -> Arc<dyn TokenStore> { Arc::new(FileStore::open(&dir).expect("store")) };
    let first = AcAccount::with_store(access_key_client(&sandbox, "demo-secret-key"), open());
    let second = AcAccount::with_store(access_key_client(&sandbox, "demo-secret-key"), open());
    let platform = first.cache(ClusterSelector::platform());
    let east = second.cache(ClusterSelector::id("11112"));
    let north = second.cache(ClusterSelector::id("11113"));
    let (a, b, c) = tokio::join!(platform.token(), east.token(), north.token());
    let (a, b, c) = (a.expect("0"), b.expect("11112"), c.expect("11113"));
    assert!(!a.same_access_token(&b) && !b.same_access_token(&c));
    assert_eq!(logins(&sandbox), 1);
    // A third "process" later: its cluster's token is in the store already.
    let third = AcAccount::with_store(access_key_client(&sandbox, "demo-secret-key"), open());
    let later = third.cache(ClusterSelector::name("华东一区"));
    later.token().await.expect("adopted");
    assert_eq!(logins(&sandbox), 1, "adopted from the store, no login");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_relogin_for_one_cluster_refreshes_the_others_stored_tokens() {
    let sandbox = sandbox(AcConfig {
        ttl: Duration::from_secs(2),
        renewal_window: Duration::from_millis(200),
        ..three_clusters()
    })
    .await;
    let stats = sandbox.stats();
    let account = AcAccount::new(access_key_client(&sandbox, "demo-secret-key"));
    let east = account.cache(ClusterSelector::id("11112"));
    let north = account.cache(ClusterSelector::id("11113"));
    let (e, n) = tokio::join!(east.token(), north.token());
    let (e, n) = (
        e.expect("east").to_owned_token(),
        n.expect("north").to_owned_token(),
    );
    assert_eq!(logins(&sandbox), 1);

    // Both past expiry and the renewal window: the east cache logs in again...
    sleep_past_expiry(&e, Duration::from_millis(1500)).await;
    east.token().await.expect("east logged in again");
    assert_eq!(logins(&sandbox), 2);
    let renewals = stats.get("ac.next");
    // ...and the north cache finds its new token in the store: no login, no renewal.
    let north_now = north.token().await.expect("north adopted").to_owned_token();
    assert!(!north_now.same_access_token(&n));
    assert_eq!((logins(&sandbox), stats.get("ac.next")), (2, renewals));
}

#[tokio::test]
async fn discovery_recovers_from_a_revoked_token_through_the_layer() {
    let sandbox = sandbox(AcConfig::default()).await;
    let client = access_key_client(&sandbox, "demo-secret-key");
    let account = AcAccount::new(client.clone());
    let cache = Arc::new(account.cache(ClusterSelector::id("11112")));
    let discovery = client.discovery(Arc::clone(&cache));
    let hpc = discovery.url(ServiceKind::Hpc).await.expect("hpc");
    assert_eq!(hpc, "https://hpc-11112.sandbox.invalid:65443");
    let efile = discovery.url(ServiceKind::Efile).await.expect("efile");
    assert_eq!(
        efile, "https://efile-11112.sandbox.invalid:65443",
        "the disabled one is skipped"
    );
    assert_eq!(
        sandbox.stats().get("ac.center"),
        1,
        "kept for the token's lifetime"
    );

    // The platform revokes the token; the next discovery (a new token's) recovers.
    let token = cache.token().await.expect("token");
    let revoked = token.access_token().expose_secret().to_owned();
    drop(token);
    reqwest::Client::new()
        .post(format!("{}/_sandbox/ac/revoke", sandbox.base_url()))
        .body(serde_json::json!({ "token": revoked }).to_string())
        .send()
        .await
        .expect("revoked");
    let calls = client.calls(Arc::clone(&cache));
    let regions = client.center(&calls).await.expect("recovered");
    assert_eq!(regions[0].id, "11112");
    assert_eq!(
        sandbox.stats().get("ac.center"),
        3,
        "refused once, repeated once"
    );
    let platform = account.cache(ClusterSelector::platform());
    let platform_calls = client.calls(Arc::new(platform));
    let error = client
        .center(&platform_calls)
        .await
        .expect_err("the platform token is no region token");
    assert_eq!(error.platform_code(), Some("10009"), "{error}");
}
