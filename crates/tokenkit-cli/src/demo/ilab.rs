//! The ilab part of the demo: a user launches the experiment, the backend exchanges the
//! ticket, refreshes twice as the token expires, and the third refresh is refused with
//! the relaunch message.

use std::time::Duration;

use serde_json::{Value, json};
use tokenkit::core::http::{Http, HttpConfig, Spend};
use tokenkit::ilab::{IlabClient, IlabProvider, Ticket};
use tokenkit::sandbox::Sandbox;
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokenkit::{Token, TokenCache};

use crate::output::{CliResult, rfc3339};

pub async fn run(sandbox: &Sandbox) -> CliResult {
    println!("\n== ilab: ticket exchange, two refreshes, then a relaunch ==");
    let launch = launch(sandbox, "1701808169793138690", "张三").await?;
    println!("the user clicks \"我要做实验\"; the platform opens {launch}");

    let client = IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET).build()?;
    let ticket = Ticket::from_launch_url(&launch)?;
    let cache = TokenCache::new(IlabProvider::new(client, ticket));
    let token = cache.token().await?.to_owned_token();
    let user = token.user();
    println!(
        "exchanged the ticket: user {} ({}), {}",
        user.map_or("?", |u| u.id.as_str()),
        user.and_then(|u| u.display_name.as_deref()).unwrap_or("?"),
        describe(&token)
    );

    let mut current = token;
    for _ in 0..2 {
        wait_for_expiry(&current).await;
        current = cache.token().await?.to_owned_token();
        println!(
            "token expired; refreshed with the original refresh token: {}",
            describe(&current)
        );
    }
    wait_for_expiry(&current).await;
    match cache.token().await {
        Ok(_) => println!("unexpected: a third refresh succeeded"),
        Err(e) => println!("token expired again; no refresh left:\n  {e}"),
    }
    println!(
        "the platform saw {} exchange(s) and {} refresh(es)",
        sandbox.stats().get("ilab.accesstoken"),
        sandbox.stats().get("ilab.refreshtoken")
    );
    Ok(())
}

/// Asks the sandbox for a ticket, as the platform does when the user clicks, and
/// returns the launch URL the experiment would be opened with.
async fn launch(sandbox: &Sandbox, un: &str, dis: &str) -> Result<String, tokenkit::Error> {
    let http = Http::new("sandbox", HttpConfig::default())?;
    let request = http
        .client()
        .post(format!("{}/_sandbox/ilab/tickets", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(json!({"un": un, "dis": dis}).to_string());
    let answer: Value = http.send(request, Spend::No).await?.json()?;
    let encoded = answer["ticket_url_encoded"]
        .as_str()
        .ok_or_else(|| tokenkit::Error::config("the sandbox issued no ticket"))?;
    Ok(format!("https://lab.example/launch?ticket={encoded}"))
}

fn describe(token: &Token) -> String {
    format!(
        "valid until {} ({} of {} refreshes spent)",
        rfc3339(token.expiry().wall()),
        token.grant().refreshes_spent,
        token.grant().refresh_budget.unwrap_or(0)
    )
}

async fn wait_for_expiry(token: &Token) {
    tokio::time::sleep(token.remaining() + Duration::from_millis(100)).await;
}
