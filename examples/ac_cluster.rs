//! Keep one ac cluster token alive, as a long-running HPC service would.
//!
//! Against the local sandbox with lifetimes of seconds instead of days, it shows:
//! - the cache renewing the token (`tokens/next`) in the background before expiry,
//!   while the service keeps calling the API;
//! - a 10008 from an API call (another holder renewed the token, which replaced ours)
//!   answered with `TokenCache::invalidate`;
//! - a fall-back to a fresh login when renewal is refused because the token is past
//!   its renewal window (24 h on the platform, 1 s here).
//!
//! Run with `cargo run --example ac_cluster --features ac,sandbox`.

use std::time::Duration;

use tokenkit::ac::{AcClient, AcProvider, ClusterSelector, is_token_refused};
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

    // In production: the platform's URL, and the password from a secret store.
    let client = AcClient::builder(sandbox.base_url())
        .user("demo")
        .password("demo-password")
        .org_id("demo-org")
        .build()?;
    let cache = TokenCache::new(AcProvider::new(
        client.clone(),
        ClusterSelector::name("华东一区"),
    ));

    // A renewal replaces the old token at once, so a call that picked up the token just
    // before a background renewal may get 10008: `call_api` handles it like any other.
    println!("1. calling the API for 5 s with a token that lives about 3 s:");
    for _ in 0..10 {
        call_api(&cache, &client).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stats = sandbox.stats();
    println!(
        "   logins {}, renewals {}: the cache renewed ahead of expiry",
        stats.get("ac.tokens"),
        stats.get("ac.next")
    );

    println!("2. another holder renews our token, which replaces it:");
    let ours = cache.token().await?.to_owned_token();
    client.renew(ours.access_token()).await?;
    call_api(&cache, &client).await?;

    println!("3. idle past expiry and the renewal window:");
    let idle = cache.token().await?.to_owned_token();
    tokio::time::sleep_until(idle.expiry().deadline() + Duration::from_millis(2300)).await;
    call_api(&cache, &client).await?;
    println!(
        "   logins {}, renewals {} (the last one refused, then a login)",
        stats.get("ac.tokens"),
        stats.get("ac.next")
    );
    Ok(())
}

/// One API call with the cached token; on 10008 the token is invalidated (renewed,
/// or replaced by a login) and the call is made once more.
async fn call_api(cache: &TokenCache, client: &AcClient) -> Result<(), Error> {
    let token = cache.token().await?;
    // `tokens/state` stands in for any API call that takes the `token` header.
    match client.state(token.access_token()).await {
        Ok(answer) => {
            println!(
                "   API: {answer} ({:.1} s left)",
                token.remaining().as_secs_f64()
            );
            Ok(())
        }
        Err(e) if is_token_refused(&e) => {
            println!("   API answered {e}; invalidating");
            let fresh = cache.invalidate(&token).await?;
            let answer = client.state(fresh.access_token()).await?;
            println!("   API after invalidate: {answer}");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
