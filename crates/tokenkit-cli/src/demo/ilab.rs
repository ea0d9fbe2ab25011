//! The ilab part of the demo: a user launches the experiment, the backend exchanges the
//! ticket, refreshes twice as the token expires, and the third refresh is refused with
//! the relaunch message. Then another user's score is reported while the platform
//! stores it but answers too late: the record is sent again with the same `originId`,
//! and the platform keeps one.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokenkit::core::http::{Http, HttpConfig, Spend};
use tokenkit::ilab::{
    ExperimentResult, IlabClient, IlabProvider, Reporter, SessionRegistry, Step, Ticket,
};
use tokenkit::sandbox::Sandbox;
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET, RECORDS_PATH, STALL_PATH};
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
    report_through_a_timeout(sandbox).await
}

/// A score reported while the platform stores it and then answers too late.
async fn report_through_a_timeout(sandbox: &Sandbox) -> CliResult {
    println!(
        "
== ilab: a score reported through a timeout, kept once =="
    );
    let launch = launch(sandbox, "1701808169793138691", "李四").await?;
    let client = IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET)
        .http(HttpConfig::default().timeout(Duration::from_millis(500)))
        .build()?;
    let sessions = SessionRegistry::new(client.clone());
    let session = sessions.launch(Ticket::from_launch_url(&launch)?).await?;
    admin(sandbox, STALL_PATH, json!({"uploads": 1, "ms": 1500})).await?;
    println!(
        "the platform will store the next upload and answer only after 1.5 s (the client waits 0.5 s)"
    );
    let ended = SystemTime::now();
    let started = ended - Duration::from_secs(1000);
    let result = ExperimentResult::builder("单摆测重力加速度")
        .times(started, ended)
        .score(86.0)
        .step(
            Step::new(1, "实验操作")
                .times(started, ended)
                .score(86.0, 100.0),
        )
        .build()
        .map_err(|e| tokenkit::Error::config(e.to_string()))?;
    let origin_id = result.origin_id().to_owned();
    let reporter = Reporter::for_session(&client, session);
    match reporter.upload(result).await {
        Ok(receipt) => println!(
            "reported record {} ({}) after {} send(s)",
            receipt.origin_id,
            receipt.message,
            sandbox.stats().get("ilab.data_upload")
        ),
        Err(e) => println!("unexpected: {e}"),
    }
    let records: Value = get(sandbox, RECORDS_PATH).await?;
    let kept = records["records"].as_array().map_or(0, |all| {
        all.iter()
            .filter(|r| r["originId"] == origin_id.as_str())
            .count()
    });
    println!(
        "the platform keeps {kept} record with originId {origin_id}; nothing is pending: {}",
        reporter.pending().await?.is_empty()
    );
    Ok(())
}

async fn admin(sandbox: &Sandbox, path: &str, body: Value) -> Result<Value, tokenkit::Error> {
    let http = Http::new("sandbox", HttpConfig::default())?;
    let request = http
        .client()
        .post(format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    http.send(request, Spend::No).await?.json()
}

async fn get(sandbox: &Sandbox, path: &str) -> Result<Value, tokenkit::Error> {
    let http = Http::new("sandbox", HttpConfig::default())?;
    let request = http.client().get(format!("{}{path}", sandbox.base_url()));
    http.send(request, Spend::No).await?.json()
}

/// Asks the sandbox for a ticket, as the platform does when the user clicks, and
/// returns the launch URL the experiment would be opened with.
async fn launch(sandbox: &Sandbox, un: &str, dis: &str) -> Result<String, tokenkit::Error> {
    let answer = admin(
        sandbox,
        "/_sandbox/ilab/tickets",
        json!({"un": un, "dis": dis}),
    )
    .await?;
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
