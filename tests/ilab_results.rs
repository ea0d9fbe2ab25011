//! Reporting results through the facade, against the sandbox on a real socket (§1.4):
//! exchange → upload → the token expires → the upload refreshes once and succeeds →
//! the budget is spent → the upload is undeliverable, with the record handed back →
//! the user relaunches → the pending record is delivered; a timeout after the platform
//! stored the record; the `open/api/v2` dialect's opaque tokens; reading records back.

#![cfg(all(feature = "ilab", feature = "sandbox"))]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokenkit::core::http::HttpConfig;
use tokenkit::ilab::{
    Dialect, ExperimentResult, Failure, IlabClient, Reporter, Retry, SessionRegistry, Step, Ticket,
};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET, IlabConfig};
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{Backoff, FileStore, TokenStore};

const TTL: Duration = Duration::from_secs(1);
const PAST_TTL: Duration = Duration::from_millis(1_100);
const START: i64 = 1_711_111_313_941;

async fn sandbox(config: IlabConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: config,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn admin(sandbox: &Sandbox, method: reqwest::Method, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin answers")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&answer).expect("JSON")
}

async fn ticket(sandbox: &Sandbox, un: &str) -> Ticket {
    let answer = admin(
        sandbox,
        reqwest::Method::POST,
        "/_sandbox/ilab/tickets",
        json!({"un": un, "dis": "张三"}),
    )
    .await;
    Ticket::from_url_value(answer["ticket_url_encoded"].as_str().expect("ticket"))
        .expect("valid ticket")
}

async fn stored_records(sandbox: &Sandbox) -> Vec<Value> {
    admin(
        sandbox,
        reqwest::Method::GET,
        "/_sandbox/ilab/records",
        json!({}),
    )
    .await["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn client(sandbox: &Sandbox, dialect: Dialect, timeout: Duration) -> IlabClient {
    IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET)
        .dialect(dialect)
        .http(HttpConfig::default().timeout(timeout))
        .build()
        .expect("valid client")
}

fn quick() -> Retry {
    Retry {
        attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(50),
        },
    }
}

fn result(title: &str) -> ExperimentResult {
    ExperimentResult::builder(title)
        .times_ms(START, START + 1_000_000)
        .score(86.0)
        .step(
            Step::new(1, "实验操作")
                .times_ms(START, START + 600_000)
                .score(55.0, 60.0)
                .expect_time_secs(900)
                .evaluation("优秀"),
        )
        .build()
        .expect("valid")
}

#[tokio::test]
async fn uploads_spend_the_budget_once_each_then_wait_for_the_relaunch() {
    let sandbox = sandbox(IlabConfig {
        ttl: TTL,
        ..IlabConfig::default()
    })
    .await;
    let client = client(&sandbox, Dialect::oauth(), Duration::from_secs(10));
    let sessions = SessionRegistry::new(client.clone());
    sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("launched");
    let reporter = sessions.reporter("u1").expect("a session").retry(quick());

    reporter.upload(result("第一次")).await.expect("delivered");
    for spent in 1..=2 {
        tokio::time::sleep(PAST_TTL).await;
        reporter
            .upload(result("又一次"))
            .await
            .expect("delivered after a refresh");
        assert_eq!(sandbox.stats().get("ilab.refreshtoken"), spent);
    }
    tokio::time::sleep(PAST_TTL).await;
    let last = result("最后一次");
    let err = reporter
        .upload(last.clone())
        .await
        .expect_err("budget spent");
    assert_eq!(err.failure(), Failure::Undeliverable, "{err}");
    assert!(err.to_string().contains("relaunch"), "{err}");
    assert_eq!(err.record().origin_id(), last.origin_id());
    assert_eq!(err.record().username(), Some("u1"));
    assert_eq!(
        sandbox.stats().get("ilab.refreshtoken"),
        2,
        "no third refresh"
    );
    assert_eq!(
        sandbox.stats().get("ilab.data_upload"),
        3,
        "nothing sent with no token"
    );
    assert_eq!(stored_records(&sandbox).await.len(), 3);

    // The user relaunches: the new grant delivers the record kept for it.
    sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("relaunched");
    let reports = sessions
        .flush_pending(quick())
        .await
        .expect("store readable");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].delivered[0].origin_id, last.origin_id());
    let records = stored_records(&sandbox).await;
    assert_eq!(records.len(), 4);
    assert_eq!(records[3]["originId"], last.origin_id());
    assert!(
        sessions
            .flush_pending(quick())
            .await
            .expect("store")
            .is_empty()
    );
}

#[tokio::test]
async fn a_timeout_after_the_platform_stored_the_record_leaves_exactly_one_record() {
    let sandbox = sandbox(IlabConfig::default()).await;
    let client = client(&sandbox, Dialect::oauth(), Duration::from_millis(500));
    let sessions = SessionRegistry::new(client.clone());
    let session = sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("launched");
    let armed = admin(
        &sandbox,
        reqwest::Method::POST,
        "/_sandbox/ilab/stall",
        json!({"uploads": 1, "ms": 2_000}),
    )
    .await;
    assert_eq!(armed["armed"], 1);
    let record = result("超时之后");
    let receipt = Reporter::for_session(&client, session)
        .retry(quick())
        .upload(record.clone())
        .await
        .expect("delivered on the second try");
    assert_eq!(receipt.origin_id, record.origin_id());
    assert_eq!(sandbox.stats().get("ilab.data_upload"), 2, "sent twice");
    let records = stored_records(&sandbox).await;
    assert_eq!(records.len(), 1, "kept once: {records:?}");
    assert_eq!(records[0]["originId"], record.origin_id());
}

#[tokio::test]
async fn the_v2_dialect_reports_with_an_opaque_token_and_reads_records_back() {
    let sandbox = sandbox(IlabConfig::default()).await;
    let client = client(&sandbox, Dialect::open_api_v2(), Duration::from_secs(10));
    let sessions = SessionRegistry::new(client.clone());
    let session = sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("launched");
    let token = session.token().await.expect("token");
    let raw = token.access_token().expose_secret().to_owned();
    assert!(
        raw.contains('+') && raw.contains('/') && raw.ends_with('='),
        "a v2 token is standard Base64: {raw}"
    );
    let reporter = Reporter::for_session(&client, Arc::clone(&session)).retry(quick());
    let record = result("v2");
    reporter.upload(record.clone()).await.expect("delivered");
    let back = reporter.records().await.expect("read back");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["originId"], record.origin_id());
    assert_eq!(back[0]["username"], "u1");
}

#[tokio::test]
async fn a_record_pending_in_a_file_store_is_delivered_by_the_next_process() {
    let sandbox = sandbox(IlabConfig::default()).await;
    let dir = std::env::temp_dir().join(format!("tokenkit-results-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store: Arc<dyn TokenStore> = Arc::new(FileStore::open(&dir).expect("store"));
    let client = client(&sandbox, Dialect::oauth(), Duration::from_secs(10));
    // The first process: its grant in the file store, and a record it never delivered
    // (it was kept pending, then the process died before sending it).
    let sessions = SessionRegistry::with_store(client.clone(), Arc::clone(&store));
    sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("launched");
    let record = result("重启之后").for_session("u1", DEFAULT_APPID);
    store
        .put_pending("u1", record.origin_id(), &record.to_json().to_string())
        .await
        .expect("kept");
    drop(sessions);
    // The next process, with the same store and no session of its own.
    let reports = Reporter::flush_store(&client, Arc::clone(&store), quick())
        .await
        .expect("store readable");
    assert_eq!(reports[0].delivered[0].origin_id, record.origin_id());
    let records = stored_records(&sandbox).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["originId"], record.origin_id());
    assert!(store.pending_keys().await.expect("store").is_empty());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn twenty_uploads_after_expiry_make_one_refresh_and_twenty_records() {
    let sandbox = sandbox(IlabConfig {
        ttl: TTL,
        ..IlabConfig::default()
    })
    .await;
    let client = client(&sandbox, Dialect::oauth(), Duration::from_secs(10));
    let sessions = SessionRegistry::new(client.clone());
    sessions
        .launch(ticket(&sandbox, "u1").await)
        .await
        .expect("launched");
    let reporter = sessions.reporter("u1").expect("a session").retry(quick());
    tokio::time::sleep(PAST_TTL).await;
    let uploads: Vec<_> = (0..20)
        .map(|i| {
            let reporter = reporter.clone();
            tokio::spawn(async move { reporter.upload(result(&format!("并发{i}"))).await })
        })
        .collect();
    for upload in uploads {
        upload.await.expect("task").expect("delivered");
    }
    assert_eq!(
        sandbox.stats().get("ilab.refreshtoken"),
        1,
        "one refresh for all"
    );
    assert_eq!(stored_records(&sandbox).await.len(), 20);
    assert!(reporter.pending().await.expect("store").is_empty());
}
