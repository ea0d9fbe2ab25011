//! Reporting a result (§1.4) against a scripted platform: the request's shape, the
//! answers that are retried with the same `originId` (HTML, a missing code, a timeout),
//! those that are not (an unknown code), `code 2` costing exactly one refresh, a spent
//! budget handing the record back, and the token scrubbed from what the platform echoes.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::{APPID, client, server, success};
use tokenkit_core::{
    Arrival, Backoff, Expiry, Grant, MemoryStore, Metadata, Token, TokenCache, TokenStore,
    UserIdentity,
};
use tokenkit_ilab::{ExperimentResult, Failure, IlabClient, IlabProvider, Reporter, Retry, Step};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "SENTINEL+tok/en==";
const START: i64 = 1_711_111_313_941;

fn result() -> ExperimentResult {
    ExperimentResult::builder("单摆测重力加速度")
        .times_ms(START, START + 1_000_000)
        .score(86.0)
        .step(
            Step::new(1, "实验操作")
                .times_ms(START, START + 600_000)
                .score(55.0, 60.0),
        )
        .build()
        .expect("valid")
}

fn quick() -> Retry {
    Retry {
        attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(20),
        },
    }
}

/// A grant of user `u1` whose token is `TOKEN`, with `spent` refreshes spent.
fn grant(server: &MockServer, spent: u32) -> Arc<TokenCache> {
    let token = Token::new(
        TOKEN,
        Expiry::after(Arrival::now(), Duration::from_secs(3600)),
    )
    .with_refresh_token("rt")
    .with_grant(Grant {
        refreshes_spent: spent,
        refresh_budget: Some(2),
        outcome_unknown: false,
        ..Default::default()
    })
    .with_metadata(Metadata {
        user: Some(UserIdentity {
            id: "u1".into(),
            display_name: None,
        }),
        ..Metadata::default()
    });
    Arc::new(TokenCache::new(IlabProvider::from_exchanged(
        client(server),
        token,
    )))
}

fn reporter(server: &MockServer, cache: Arc<TokenCache>) -> Reporter {
    Reporter::new(&client(server), cache).retry(quick())
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": 0, "msg": "上传成功"}))
}

async fn uploads(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/open/api/v2/data_upload")
        .collect()
}

fn origin_ids(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("JSON body");
            body["originId"].as_str().expect("originId").to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_upload_is_a_json_post_with_the_token_encoded_once_in_the_query() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let cache = grant(&server, 0);
    let reporter = reporter(&server, Arc::clone(&cache));
    let record = result();
    let receipt = reporter.upload(record.clone()).await.expect("delivered");
    assert_eq!(receipt.origin_id, record.origin_id());
    assert_eq!(receipt.message, "上传成功");
    let sent = uploads(&server).await;
    assert_eq!(
        sent[0].url.query(),
        Some("access_token=SENTINEL%2Btok%2Fen%3D%3D")
    );
    assert_eq!(
        sent[0]
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json;charset=UTF-8")
    );
    let body: Value = serde_json::from_slice(&sent[0].body).expect("JSON");
    assert_eq!(body, record.clone().for_session("u1", APPID).to_json());
    assert_eq!(body["username"], "u1");
    assert_eq!(body["appid"], APPID);
    // Acknowledged: nothing is pending any more.
    assert!(reporter.pending().await.expect("store").is_empty());
}

#[tokio::test]
async fn an_html_page_or_a_missing_code_is_sent_again_with_the_same_origin_id() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<html><body>网关错误</body></html>"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "?"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let reporter = reporter(&server, grant(&server, 0));
    let record = result();
    reporter
        .upload(record.clone())
        .await
        .expect("delivered on the third try");
    let ids = origin_ids(&uploads(&server).await);
    assert_eq!(ids, vec![record.origin_id().to_owned(); 3]);
}

#[tokio::test]
async fn a_timeout_is_retried_with_the_same_origin_id() {
    let server = server().await;
    // The client's timeout is 800 ms: the first answer comes too late.
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ok().set_delay(Duration::from_millis(1_500)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let reporter = reporter(&server, grant(&server, 0));
    let record = result();
    reporter.upload(record.clone()).await.expect("delivered");
    let ids = origin_ids(&uploads(&server).await);
    assert_eq!(ids, vec![record.origin_id().to_owned(); 2]);
}

#[tokio::test]
async fn an_answer_that_never_becomes_readable_leaves_the_record_pending() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message": "no code"})))
        .mount(&server)
        .await;
    let reporter = reporter(&server, grant(&server, 0));
    let record = result();
    let err = reporter
        .upload(record.clone())
        .await
        .expect_err("never delivered");
    assert_eq!(err.failure(), Failure::Pending);
    assert!(err.to_string().contains("no `code`"), "{err}");
    assert_eq!(err.record().origin_id(), record.origin_id());
    assert_eq!(uploads(&server).await.len(), 3, "three attempts");
    let pending = reporter.pending().await.expect("store");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].origin_id(), record.origin_id());
    assert_eq!(pending[0].username(), Some("u1"));
}

#[tokio::test]
async fn an_unknown_code_is_a_typed_refusal_that_is_not_retried() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 7,
            "msg": format!("非法请求 {TOKEN}")
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reporter = reporter(&server, grant(&server, 0));
    let err = reporter.upload(result()).await.expect_err("refused");
    assert_eq!(err.failure(), Failure::Refused);
    assert_eq!(err.error().platform_code(), Some("7"));
    let text = format!("{err} {err:?}");
    assert!(text.contains("unrecognised code"), "{text}");
    // The platform echoed the token: the client knows what it sent and scrubs it.
    assert!(!text.contains("SENTINEL"), "{text}");
    assert!(!text.contains("tok%2Fen"), "{text}");
    // Kept, marked refused: a flush reports it with the record and never sends it again
    // (the mock expects exactly one upload); the application discards it.
    let record = err.into_record();
    assert_eq!(reporter.pending().await.expect("store").len(), 1);
    let report = reporter.flush().await.expect("store");
    assert!(report.delivered.is_empty());
    assert_eq!(report.failed.len(), 1);
    let again = &report.failed[0];
    assert_eq!(again.failure(), Failure::Refused);
    assert_eq!(again.error().platform_code(), Some("7"));
    assert_eq!(again.record().origin_id(), record.origin_id());
    assert!(!format!("{again} {again:?}").contains("SENTINEL"));
    assert!(reporter.discard(record.origin_id()).await.expect("store"));
    assert!(reporter.pending().await.expect("store").is_empty());
}

#[tokio::test]
async fn code_2_costs_one_refresh_and_one_more_try() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .and(|r: &Request| r.url.query() == Some("access_token=SENTINEL%2Btok%2Fen%3D%3D"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 2, "msg": "access_token无效"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .and(|r: &Request| r.url.query() == Some("access_token=renewed%2B%3D"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(success("renewed+=", "rt2", "u1")))
        .expect(1)
        .mount(&server)
        .await;
    let cache = grant(&server, 0);
    let reporter = reporter(&server, Arc::clone(&cache));
    reporter
        .upload(result())
        .await
        .expect("delivered after one refresh");
    let latest = cache.subscribe().borrow().clone().expect("a token");
    assert_eq!(latest.grant().refreshes_spent, 1);
    assert_eq!(latest.access_token().expose_secret(), "renewed+=");
}

#[tokio::test]
async fn with_the_budget_spent_the_record_is_handed_back_and_kept_for_a_relaunch() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 2, "msg": "access_token无效"})),
        )
        .mount(&server)
        .await;
    // The platform says the grant's two refreshes are spent (§1.2 code 5).
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 5, "msg": "刷新次数已用完"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cache = grant(&server, 0);
    let reporter = reporter(&server, Arc::clone(&cache));
    let record = result();
    let err = reporter
        .upload(record.clone())
        .await
        .expect_err("undeliverable");
    assert_eq!(err.failure(), Failure::Undeliverable, "{err}");
    assert!(err.needs_relaunch());
    assert!(err.error().is_reauth_required(), "{err}");
    assert!(err.to_string().contains("relaunch"), "{err}");
    assert_eq!(err.into_record().origin_id(), record.origin_id());
    // Kept under the grant's key, for the user's next launch; discarding is explicit.
    let pending = reporter.pending().await.expect("store");
    assert_eq!(pending[0].origin_id(), record.origin_id());
    // A second upload asks for no second refresh (the refresh mock expects one call).
    let again = reporter.upload(result()).await.expect_err("undeliverable");
    assert_eq!(again.failure(), Failure::Undeliverable, "{again}");
    assert_eq!(reporter.pending().await.expect("store").len(), 2);
    assert!(reporter.discard(record.origin_id()).await.expect("store"));
    assert_eq!(reporter.pending().await.expect("store").len(), 1);
}

#[tokio::test]
async fn with_the_platform_down_the_record_waits_in_the_store_for_a_flush() {
    let server = server().await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let token_source = grant(&server, 0)
        .token()
        .await
        .expect("token")
        .to_owned_token();
    // Nothing listens on port 9: every attempt fails to connect.
    let unreachable = IlabClient::builder("http://127.0.0.1:9", APPID, support::SECRET)
        .build()
        .expect("client");
    let cache = TokenCache::builder(IlabProvider::from_exchanged(
        unreachable.clone(),
        token_source,
    ))
    .store(Arc::clone(&store))
    .key("u1")
    .build();
    let down = Reporter::new(&unreachable, Arc::new(cache)).retry(quick());
    let record = result();
    let err = down.upload(record.clone()).await.expect_err("down");
    assert_eq!(err.failure(), Failure::Pending);
    assert!(err.error().is_transient(), "{err}");
    // Another process with the same store, the platform back: one flush delivers it.
    Mock::given(method("POST"))
        .and(path("/open/api/v2/data_upload"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let reports = Reporter::flush_store(&client(&server), Arc::clone(&store), quick())
        .await
        .expect("store readable");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].grant_key, "u1");
    assert_eq!(reports[0].delivered[0].origin_id, record.origin_id());
    assert!(reports[0].failed.is_empty() && reports[0].skipped == 0);
    assert_eq!(origin_ids(&uploads(&server).await), [record.origin_id()]);
    assert!(store.pending_keys().await.expect("store").is_empty());
    // Nothing left: a second flush sends nothing.
    let again = Reporter::flush_store(&client(&server), store, quick())
        .await
        .expect("store");
    assert!(again.is_empty());
}

#[tokio::test]
async fn another_users_record_is_handed_back_unsent_and_unkept() {
    let server = server().await;
    let reporter = reporter(&server, grant(&server, 0));
    for (field, value) in [("username", "someone-else"), ("appid", "another-app")] {
        let mut body = result().to_json();
        body[field] = json!(value);
        let foreign = ExperimentResult::from_value(&body).expect("a valid record");
        let err = reporter
            .upload(foreign)
            .await
            .expect_err("not this grant's");
        assert_eq!(err.failure(), Failure::NotKept, "{err}");
        assert!(err.to_string().contains(value), "{err}");
        assert_eq!(
            err.record().to_json()[field],
            value,
            "handed back as it was"
        );
    }
    assert!(uploads(&server).await.is_empty(), "nothing sent");
    assert!(
        reporter.pending().await.expect("store").is_empty(),
        "nothing kept"
    );
}
