//! The ac part of the demo: login, per-cluster tokens, renewal after expiry; an
//! access-key login shared by two clusters, region discovery, and a call refused with
//! 10008 that the authenticated-call layer recovers; a login once the renewal window
//! has closed.

use std::sync::Arc;
use std::time::Duration;

use tokenkit::ac::{AcAccount, AcClaims, AcClient, AcProvider, ClusterSelector, ServiceKind};
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

    calls_through_the_layer(sandbox).await?;
    window_closed().await
}

/// The access-key login through an account (one login for two clusters), region
/// discovery, and a call refused because another holder renewed our token.
async fn calls_through_the_layer(sandbox: &Sandbox) -> CliResult {
    let stats = sandbox.stats();
    let logins_before = stats.get("ac.ak_tokens");
    let client = AcClient::builder(sandbox.base_url())
        .auth_url(sandbox.base_url())
        .user("demo")
        .access_key("demo-access-key", "demo-secret-key")
        .build()?;
    let account = AcAccount::new(client.clone());
    let east = Arc::new(account.cache(ClusterSelector::name("华东一区")));
    let platform = account.cache(ClusterSelector::platform());
    let (a, b) = tokio::join!(east.token(), platform.token());
    let (a, b) = (a?.to_owned_token(), b?.to_owned_token());
    println!(
        "an account logged in with its access key for 华东一区 ({}) and the platform token ({}): {} login",
        describe(&a),
        describe(&b),
        stats.get("ac.ak_tokens") - logins_before
    );
    let jobs = client
        .discovery(Arc::clone(&east))
        .url(ServiceKind::Hpc)
        .await?;
    println!("  center: the region's job service is {jobs}");

    // Another holder of the account renews: our token is replaced, and the next call
    // is refused with 10008; the layer renews once and repeats the call.
    client.renew(a.access_token()).await?;
    let calls = client.calls(Arc::clone(&east));
    let before = stats.get("ac.center");
    let answer = calls
        .send(calls.get(format!("{}/ac/openapi/v2/center", sandbox.base_url())))
        .await?;
    println!(
        "  another holder renewed our token; our next call went to the platform {} times (refused with 10008, renewed, repeated) and got HTTP {}",
        stats.get("ac.center") - before,
        answer.status().as_u16()
    );
    Ok(())
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
