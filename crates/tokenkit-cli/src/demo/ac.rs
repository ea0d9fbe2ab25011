//! The ac part of the demo: login, per-cluster tokens, renewal after expiry, a 10008
//! answered with `invalidate`, and a login once the renewal window has closed.

use std::time::Duration;

use tokenkit::ac::{AcClaims, AcClient, AcProvider, ClusterSelector, is_token_refused};
use tokenkit::sandbox::ac::AcConfig;
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{Token, TokenCache};

use crate::output::CliResult;

pub async fn run(sandbox: &Sandbox) -> CliResult {
    println!("\n== ac: per-cluster tokens, renewal, 10008 and the renewal window ==");
    let client = client(sandbox)?;

    let login = client.login().await?;
    println!("login as demo (orgId demo-org) lists every region:");
    for region in login.regions() {
        match &region.token {
            Some(token) => println!(
                "  {} ({}): token {}",
                region.cluster.id,
                region.cluster.name,
                describe(token)
            ),
            None => println!(
                "  {} ({}): suspended",
                region.cluster.id, region.cluster.name
            ),
        }
    }

    let cache = TokenCache::new(AcProvider::new(
        client.clone(),
        ClusterSelector::name("华东一区"),
    ));
    let first = cache.token().await?.to_owned_token();
    println!("the cache holds the 华东一区 token {}", describe(&first));

    tokio::time::sleep_until(first.expiry().deadline() + Duration::from_millis(100)).await;
    let second = cache.token().await?.to_owned_token();
    println!(
        "after expiry, token() renewed it with tokens/next: {}",
        describe(&second)
    );
    if let Err(e) = client.state(first.access_token()).await {
        println!("  the old token is replaced: {e}");
    }

    // Another holder of the account renews; our next API call answers 10008.
    client.renew(second.access_token()).await?;
    match client.state(second.access_token()).await {
        Err(e) if is_token_refused(&e) => {
            println!("another holder renewed it; our API call got {e}");
            let current = cache.invalidate(&second).await?;
            println!(
                "  invalidate() gave {} → state: {}",
                describe(&current),
                client.state(current.access_token()).await?
            );
        }
        other => println!("  unexpected: {other:?}"),
    }

    window_closed().await
}

/// A platform whose renewal window is 1 s instead of 24 h, so the refusal can be seen.
async fn window_closed() -> CliResult {
    let config = SandboxConfig {
        ac: AcConfig {
            ttl: Duration::from_secs(2),
            renewal_window: Duration::from_secs(1),
            ..AcConfig::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| tokenkit::Error::config(format!("cannot start the sandbox: {}", e.kind())))?;
    let cache = TokenCache::new(AcProvider::new(
        client(&sandbox)?,
        ClusterSelector::platform(),
    ));
    let token = cache.token().await?.to_owned_token();
    println!(
        "with a 1 s renewal window, the platform token {}",
        describe(&token)
    );
    // Past expiry + window on the server's clock (+1 s for the Date header's resolution).
    tokio::time::sleep_until(token.expiry().deadline() + Duration::from_millis(2300)).await;
    let fresh = cache.token().await?.to_owned_token();
    let stats = sandbox.stats();
    println!(
        "  once the window closed, tokens/next was refused and the provider logged in again: {} (renewals tried {}, logins {})",
        describe(&fresh),
        stats.get("ac.next"),
        stats.get("ac.tokens")
    );
    Ok(())
}

fn client(sandbox: &Sandbox) -> Result<AcClient, tokenkit::Error> {
    AcClient::builder(sandbox.base_url())
        .user("demo")
        .password("demo-password")
        .org_id("demo-org")
        .build()
}

/// `…tail, expires in 1.6 s (account Normal)`: enough to tell tokens apart.
fn describe(token: &Token) -> String {
    let raw = token.access_token().expose_secret();
    let tail = &raw[raw.len().saturating_sub(8)..];
    let status = AcClaims::of(token)
        .and_then(|c| c.account_status)
        .unwrap_or_else(|| "unknown".into());
    format!(
        "…{tail}, expires in {:.1} s (account {status})",
        token.remaining().as_secs_f64()
    )
}
