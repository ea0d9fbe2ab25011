//! Keep one ac cluster token alive, as a long-running HPC service would.
//!
//! Against the local sandbox with lifetimes of seconds instead of days, it shows:
//! - the access-key login (the platform's recommended one: a signed timestamp, the
//!   secret key never sent), through an account whose clusters share their logins;
//! - region discovery: the region's job (hpc) URL from `center`;
//! - the cache renewing the token (`tokens/next`) in the background before expiry,
//!   while the service keeps calling the API;
//! - API calls made through the authenticated-call layer (`client.calls(cache)`): a
//!   10008 (another holder renewed the token, which replaced ours) is answered by one
//!   renewal and one repeat of the call, with no code of ours;
//! - a fall-back to a fresh login when renewal is refused because the token is past
//!   its renewal window (24 h on the platform, 1 s here).
//!
//! Run with `cargo run --example ac_cluster --features ac,sandbox`.

use std::sync::Arc;
use std::time::Duration;

use tokenkit::ac::{AcAccount, AcClient, ClusterSelector, ServiceKind};
use tokenkit::core::auth::AuthClient;
use tokenkit::sandbox::ac::AcConfig;
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{Error, TokenCache};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxConfig {
        ac: AcConfig {
            ttl: Duration::from_secs(3),
            renewal_window: Duration::from_secs(1),
            ..AcConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .map_err(|e| Error::config(format!("cannot start the sandbox: {}", e.kind())))?;

    // In production: the platform's URLs, and the secret key from a secret store.
    let client = AcClient::builder(sandbox.base_url())
        .auth_url(sandbox.base_url())
        .user("demo")
        .access_key("demo-access-key", "demo-secret-key")
        .build()?;
    let account = AcAccount::new(client.clone());
    let cache: Arc<TokenCache> = Arc::new(account.cache(ClusterSelector::name("华东一区")));
    let platform = account.cache(ClusterSelector::platform());
    platform.token().await?; // the same login served both clusters
    println!(
        "0. one access-key login for two clusters: {} login(s)",
        sandbox.stats().get("ac.ak_tokens")
    );
    let jobs = client
        .discovery(Arc::clone(&cache))
        .url(ServiceKind::Hpc)
        .await?;
    println!("   the region's job service: {jobs}");
    // Every call carries the token in the `token` header; a 10008 for it renews once
    // and repeats the call once.
    let calls = client.calls(Arc::clone(&cache));
    let center = format!("{}/ac/openapi/v2/center", sandbox.base_url());

    // A renewal replaces the old token at once, so a call that picked up the token just
    // before a background renewal may get 10008: the layer handles it like any other.
    println!("1. calling the API for 5 s with a token that lives about 3 s:");
    for _ in 0..10 {
        call_api(&calls, &center).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stats = sandbox.stats();
    println!(
        "   logins {}, renewals {}: the cache renewed ahead of expiry",
        stats.get("ac.ak_tokens"),
        stats.get("ac.next")
    );

    println!("2. another holder renews our token, which replaces it:");
    let ours = cache.token().await?.to_owned_token();
    client.renew(ours.access_token()).await?;
    let before = stats.get("ac.center");
    call_api(&calls, &center).await?;
    println!(
        "   {} calls to the platform for one call of ours: refused (10008), renewed, repeated",
        stats.get("ac.center") - before
    );

    println!("3. idle past expiry and the renewal window:");
    let idle = cache.token().await?.to_owned_token();
    tokio::time::sleep_until(idle.expiry().deadline() + Duration::from_millis(2300)).await;
    call_api(&calls, &center).await?;
    println!(
        "   logins {}, renewals {} (the last one refused, then a login)",
        stats.get("ac.ak_tokens"),
        stats.get("ac.next")
    );
    Ok(())
}

/// One API call through the layer: region discovery (`GET /ac/openapi/v2/center`),
/// standing in for any call that takes the `token` header.
async fn call_api(calls: &AuthClient, center: &str) -> Result<(), Error> {
    let response = calls.send(calls.get(center)).await?;
    let body = response
        .bytes()
        .await
        .map_err(|_| Error::config("the answer could not be read"))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| Error::config("the answer is not JSON"))?;
    let region = &answer["data"][0];
    let left = calls.cache().token().await?.remaining().as_secs_f64();
    println!(
        "   API: region {} (jobs at {}), token {left:.1} s left",
        region["name"].as_str().unwrap_or("?"),
        region["hpcUrls"][0]["url"].as_str().unwrap_or("?"),
    );
    Ok(())
}
