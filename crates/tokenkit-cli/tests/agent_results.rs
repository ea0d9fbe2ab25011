//! ilab results through `tokenkit agent` (`POST /v1/ilab/{app}/sessions/{un}/results`):
//! delivered exactly once, kept pending when they cannot be, delivered later by the
//! agent (its flusher, a relaunch, the next agent over the same store), and never lost.

mod agent_support;
mod common;

use std::time::Duration;

use agent_support::{Agent, DEADLINE, Setup, Via, eventually, ilab_app, ilab_ticket};
use common::Sandbox;
use serde_json::{Value, json};

const START: i64 = 1_711_111_313_941;

/// A §1.4 record without `username`, `appid` or `originId`: the agent fills them in.
fn record(score: u32) -> Value {
    json!({"title": "单摆测重力加速度", "status": 1, "score": score,
           "startTime": START, "endTime": START + 1_000_000, "timeUsed": 1000,
           "steps": [{"seq": 1, "title": "实验操作", "startTime": START,
                      "endTime": START + 600_000, "timeUsed": 600, "expectTime": 900,
                      "maxScore": 60, "score": 55, "repeatCount": 1, "evaluation": "优秀",
                      "scoringModel": "按步骤", "remarks": ""}]})
}

/// The records the sandbox's platform holds.
fn records(sandbox: &Sandbox) -> Vec<Value> {
    sandbox.call("GET", "/_sandbox/ilab/records", None)["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// An agent serving the experiment `demo`, over `store`, flushing every 300 ms.
fn setup(sandbox: &Sandbox, store: &str) -> Setup {
    Setup::unix()
        .setting(&format!("store = \"{store}\""))
        .setting("flush_ms = 300")
        .table(ilab_app("demo", &sandbox.base_url()))
}

async fn launch(agent: &Agent, sandbox: &Sandbox, un: &str) {
    let (ticket, _) = ilab_ticket(sandbox, un, "User");
    let launched = agent.launch(Via::Unix, "demo", &ticket).await;
    assert_eq!(launched.status, 201, "{}", launched.summary());
}

async fn upload(agent: &Agent, un: &str, record: &Value) -> agent_support::Reply {
    let path = format!("/v1/ilab/demo/sessions/{un}/results");
    agent.post(Via::Unix, &path, record).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_is_delivered_once_with_the_session_filled_in() {
    let sandbox = Sandbox::start();
    let agent = Agent::start("results-once", setup(&sandbox, "memory:"));
    launch(&agent, &sandbox, "u1").await;
    let answer = upload(&agent, "u1", &record(86)).await;
    assert_eq!(answer.status, 200, "{}", answer.summary());
    assert_eq!(answer.body["code"], 0);
    let origin_id = answer.body["delivered"]
        .as_str()
        .expect("an originId")
        .to_owned();
    let stored = records(&sandbox);
    assert_eq!(stored.len(), 1, "one record on the platform");
    assert_eq!(stored[0]["originId"], origin_id.as_str());
    assert_eq!(stored[0]["username"], "u1");
    assert_eq!(sandbox.count("ilab.data_upload"), 1);
    let metrics = agent.metrics().await;
    assert_eq!(metrics.get("ilab_results_delivered_total", "demo"), 1);
    assert_eq!(metrics.get("ilab_results_kept_total", "demo"), 0);

    // A record the platform would refuse is refused by the agent first, naming the field.
    let bad = upload(&agent, "u1", &json!({"title": "t"})).await;
    assert_eq!(bad.status, 400, "{}", bad.summary());
    assert_eq!(bad.kind(), "bad_request");
    assert_eq!(sandbox.count("ilab.data_upload"), 1, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_of_a_user_without_a_grant_waits_for_the_launch_then_is_delivered_once() {
    let sandbox = Sandbox::start();
    let agent = Agent::start("results-relaunch", setup(&sandbox, "file:grants"));
    // Nobody launched u2 yet: the record is kept, undeliverable until the launch.
    let answer = upload(&agent, "u2", &record(91)).await;
    assert_eq!(answer.status, 409, "{}", answer.summary());
    assert_eq!(answer.kind(), "reauth_required");
    assert_eq!(answer.body["result"]["failure"], "undeliverable");
    let origin_id = answer.body["result"]["origin_id"]
        .as_str()
        .expect("the kept record's originId")
        .to_owned();
    assert_eq!(
        answer.body["result"]["record"]["originId"],
        origin_id.as_str()
    );
    assert_eq!(
        sandbox.count("ilab.data_upload"),
        0,
        "no token, nothing sent"
    );

    // A second record, then taken back by the application: it never reaches the platform.
    let taken = upload(&agent, "u2", &record(12)).await;
    let taken_id = taken.body["result"]["origin_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v1/ilab/demo/sessions/u2/results/{taken_id}");
    let discarded =
        agent_support::send(agent.request(Via::Unix, reqwest::Method::DELETE, &path)).await;
    assert_eq!(discarded.status, 200, "{}", discarded.summary());
    assert_eq!(discarded.body["discarded"], taken_id.as_str());
    let again = agent_support::send(agent.request(Via::Unix, reqwest::Method::DELETE, &path)).await;
    assert_eq!(again.status, 404, "{}", again.summary());

    // The launch's session delivers the kept record: once, with its originId.
    launch(&agent, &sandbox, "u2").await;
    let stored = eventually("the kept record on the platform", DEADLINE, || async {
        let stored = records(&sandbox);
        (!stored.is_empty()).then_some(stored)
    })
    .await;
    assert_eq!(stored.len(), 1, "only the kept record: {stored:?}");
    assert_eq!(stored[0]["originId"], origin_id.as_str());
    assert_eq!(stored[0]["username"], "u2");
    // The flusher runs every 300 ms: a few rounds later it is still one record.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(records(&sandbox).len(), 1, "delivered once");
    assert_eq!(sandbox.count("ilab.data_upload"), 1);
    let metrics = agent.metrics().await;
    assert_eq!(metrics.get("ilab_results_kept_total", "demo"), 2);
    assert_eq!(metrics.get("ilab_results_delivered_total", "demo"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_killed_agent_left_pending_the_next_one_delivers_once() {
    let sandbox = Sandbox::start();
    let mut first = Agent::start("results-killed", setup(&sandbox, "file:grants"));
    launch(&first, &sandbox, "u3").await;
    // The platform stores the next upload, then answers only after a minute.
    let armed = sandbox.call(
        "POST",
        "/_sandbox/ilab/stall",
        Some(&json!({"uploads": 1, "ms": 60_000})),
    );
    assert_eq!(armed["armed"], 1);
    let api = first.api();
    let hanging = tokio::spawn(async move {
        api.post(Via::Unix, "/v1/ilab/demo/sessions/u3/results", &record(77))
            .await
    });
    let stored = eventually("the stalled upload on the platform", DEADLINE, || async {
        let stored = records(&sandbox);
        (!stored.is_empty()).then_some(stored)
    })
    .await;
    let origin_id = stored[0]["originId"].clone();
    // The agent is killed while the upload hangs: the record stays pending in the store
    // (the directory, the first agent's, stays until the end of the test).
    first.signal("KILL");
    first.wait_exit().await;
    let _ = hanging.await;
    let dir = first.dir().to_path_buf();

    // The next agent over the same store delivers it (its flusher, at start): the same
    // record, so the platform still holds one.
    let next = Agent::start_in(&dir, setup(&sandbox, "file:grants"));
    eventually(
        "the second send of the pending record",
        DEADLINE,
        || async { (sandbox.count("ilab.data_upload") >= 2).then_some(()) },
    )
    .await;
    let stored = records(&sandbox);
    assert_eq!(stored.len(), 1, "sent twice, kept once");
    assert_eq!(stored[0]["originId"], origin_id);
    // Acknowledged: gone from the store, so no later flush sends it again.
    let health = next.health().await;
    assert_eq!(health["ilab"]["demo"]["status"], "ok", "{health}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(records(&sandbox).len(), 1);
    assert_eq!(
        sandbox.count("ilab.data_upload"),
        2,
        "delivered, so never sent again"
    );
}
