//! An experiment backend for the ilab platform, runnable with no network: it starts the
//! sandbox in-process, serves the experiment on a local port, and plays the user's
//! browser against it.
//!
//! The platform opens `GET /launch?ticket=…` when the user clicks "我要做实验"; the
//! backend exchanges the ticket (once: tickets are single-use), greets the user, and
//! at the end of the experiment reports the score with the user's session token
//! (refreshed at most twice, near expiry): the record is kept pending until the
//! platform acknowledged it, and sent again with the same `originId` after a timeout.
//!
//! ```text
//! cargo run --example ilab_experiment --features ilab,sandbox
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, RawQuery, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, http::StatusCode};
use serde_json::Value;
use tokenkit::ilab::{ExperimentResult, IlabClient, SessionRegistry, Step, Ticket};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokenkit::sandbox::{Sandbox, SandboxConfig};

type Sessions = Arc<SessionRegistry>;

/// `GET /launch?ticket=…`. The raw query is read on purpose: a form decoder (axum's
/// `Query`) would turn a `+` of the ticket into a space and break the signature
/// (PROTOCOLS.md §1.1); `Ticket` percent-decodes exactly once.
async fn launch(State(sessions): State<Sessions>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let ticket = match Ticket::from_launch_url(&format!("?{}", query.unwrap_or_default())) {
        Ok(ticket) => ticket,
        Err(e) => return (StatusCode::BAD_REQUEST, Html(format!("<p>{e}</p>"))),
    };
    match sessions.launch(ticket).await {
        Ok(session) => (
            StatusCode::OK,
            Html(format!(
                "<h1>你好，{}！</h1><p>Your experiment is ready. <a href=\"/report?un={}&score=86\">Submit a score</a></p>",
                session.display_name().unwrap_or(session.un()),
                session.un()
            )),
        ),
        // A spent or expired ticket: only a relaunch from the platform helps.
        Err(e) if e.is_reauth_required() => (
            StatusCode::UNAUTHORIZED,
            Html(format!(
                "<p>Please start the experiment again from the platform. ({e})</p>"
            )),
        ),
        Err(e) => (StatusCode::BAD_GATEWAY, Html(format!("<p>{e}</p>"))),
    }
}

/// `GET /report?un=…&score=…`: the end of the experiment, reporting the user's score.
async fn report(
    State(sessions): State<Sessions>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let un = q.get("un").map(String::as_str).unwrap_or_default();
    let score: f64 = q.get("score").and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let Some(reporter) = sessions.reporter(un) else {
        return (
            StatusCode::UNAUTHORIZED,
            "no experiment session: start the experiment from the platform".to_owned(),
        );
    };
    let ended = SystemTime::now();
    let started = ended - Duration::from_secs(1000);
    let result = ExperimentResult::builder("单摆测重力加速度")
        .times(started, ended)
        .score(score)
        .step(
            Step::new(1, "实验操作")
                .times(started, started + Duration::from_secs(600))
                .score((score * 0.6).round(), 60.0)
                .expect_time_secs(900),
        )
        .step(
            Step::new(2, "数据处理")
                .times(started + Duration::from_secs(600), ended)
                .score(score - (score * 0.6).round(), 40.0),
        )
        .build();
    let result = match result {
        Ok(result) => result,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()),
    };
    match reporter.upload(result).await {
        Ok(receipt) => (
            StatusCode::OK,
            format!(
                "score {score} reported as record {}: {}",
                receipt.origin_id, receipt.message
            ),
        ),
        // Kept pending (a later `flush` delivers it), or handed back: never dropped.
        Err(e) if e.needs_relaunch() => (StatusCode::UNAUTHORIZED, e.to_string()),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The platform (here: the sandbox) and the experiment's credentials.
    let platform = Sandbox::start(SandboxConfig::default()).await?;
    let client = IlabClient::builder(platform.base_url(), DEFAULT_APPID, DEFAULT_SECRET).build()?;
    let sessions: Sessions = Arc::new(SessionRegistry::new(client));

    let app = Router::new()
        .route("/launch", get(launch))
        .route("/report", get(report))
        .with_state(Arc::clone(&sessions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let experiment = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "platform on {}, experiment backend on {experiment}",
        platform.base_url()
    );

    // The user clicks "我要做实验": the platform mints a ticket and opens our URL.
    let browser = reqwest::Client::new();
    let issued: Value = serde_json::from_slice(
        &browser
            .post(format!("{}/_sandbox/ilab/tickets", platform.base_url()))
            .header("content-type", "application/json")
            .body(r#"{"un": "1701808169793138690", "dis": "张三"}"#)
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    let encoded = issued["ticket_url_encoded"].as_str().unwrap_or_default();
    let launch_url = format!("{experiment}/launch?ticket={encoded}");
    println!("GET {launch_url}");
    let page = browser.get(&launch_url).send().await?;
    println!("  {} {}", page.status(), page.text().await?);

    let report_url = format!("{experiment}/report?un=1701808169793138690&score=86");
    println!("GET {report_url}");
    println!("  {}", browser.get(&report_url).send().await?.text().await?);

    // Reloading the launch URL re-sends a spent ticket: the platform refuses it.
    let again = browser.get(&launch_url).send().await?;
    println!(
        "GET {launch_url} (again)\n  {} {}",
        again.status(),
        again.text().await?
    );
    let records: Value = serde_json::from_slice(
        &browser
            .get(format!("{}/_sandbox/ilab/records", platform.base_url()))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    println!(
        "sessions: {}; records on the platform: {}",
        sessions.len(),
        records["records"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}
