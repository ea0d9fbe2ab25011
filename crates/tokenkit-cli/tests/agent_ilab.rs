//! ilab sessions through `tokenkit agent`: a launch ticket becomes a session, its token
//! is refreshed only when used, the grant's two refreshes are spent once each, and then
//! the agent tells the caller the user must relaunch — never a third refresh.

mod agent_support;
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use agent_support::{Agent, Setup, Via, ilab_app, ilab_ticket};
use common::Sandbox;
use serde_json::json;

/// Seconds an ilab token lives in this test's sandbox: three lifetimes are the test's
/// length.
const TTL: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_spends_its_two_refreshes_then_asks_for_a_relaunch() {
    let sandbox = Sandbox::start_with(&["--ilab-ttl", &TTL.to_string()]);
    let agent = Agent::start(
        "ilab",
        Setup::unix().table(ilab_app("demo", &sandbox.base_url())),
    );
    let (ticket, _) = ilab_ticket(&sandbox, "u1", "User One");
    let launched = agent.launch(Via::Unix, "demo", &ticket).await;
    assert_eq!(launched.status, 201, "{}", launched.summary());
    assert_eq!(launched.body["un"], "u1");
    assert_eq!(launched.body["dis"], "User One");
    assert_eq!(launched.body["platform"], "ilab");
    assert_eq!(sandbox.count("ilab.accesstoken"), 1, "one ticket exchange");
    let first = launched.access_token();

    let path = "/v1/ilab/demo/sessions/u1/token";
    let fresh = agent.get(Via::Unix, path).await;
    assert_eq!(fresh.status, 200, "{}", fresh.summary());
    assert_eq!(fresh.access_token(), first, "a fresh token is served as is");
    assert_eq!(
        sandbox.count("ilab.refreshtoken"),
        0,
        "nothing refreshed ahead"
    );

    // Ask, as the experiment's backend does, through expiries until the agent says the
    // user must relaunch. Bounded by many lifetimes; ended by the answer.
    let deadline = Instant::now() + Duration::from_secs(6 * TTL + 30);
    let mut tokens = BTreeSet::from([first]);
    let refusal = loop {
        assert!(
            Instant::now() < deadline,
            "no reauth_required answer in time (refreshes: {})",
            sandbox.count("ilab.refreshtoken")
        );
        let reply = agent.get(Via::Unix, path).await;
        match reply.status {
            200 => {
                tokens.insert(reply.access_token());
            }
            409 => break reply,
            _ => panic!("a session's token: {}", reply.summary()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(refusal.kind(), "reauth_required");
    let message = refusal.body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_lowercase();
    assert!(
        message.contains("relaunch"),
        "the message tells the user to relaunch: {message}"
    );
    assert_eq!(
        sandbox.count("ilab.refreshtoken"),
        2,
        "both refreshes spent, once each"
    );
    assert_eq!(
        tokens.len(),
        3,
        "the exchange's token and the two refreshes'"
    );

    let metrics = agent.metrics().await;
    assert_eq!(metrics.get("ilab_exchanges_total", "demo"), 1);
    assert_eq!(metrics.get("ilab_sessions", "demo"), 1);
    assert_eq!(
        metrics.get("ilab_refreshes_spent", "demo"),
        2,
        "the budget is spent"
    );
    assert_eq!(metrics.get("request_errors_total", "demo"), 1, "the 409");
    // Asking again spends nothing: never a third refresh.
    for _ in 0..3 {
        let again = agent.get(Via::Unix, path).await;
        assert_eq!(again.status, 409, "{}", again.summary());
        assert_eq!(again.kind(), "reauth_required");
    }
    let refused = agent
        .post(
            Via::Unix,
            "/v1/ilab/demo/sessions/u1/refused",
            &json!({"token": tokens.iter().next().expect("a token")}),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.summary());
    assert_eq!(
        sandbox.count("ilab.refreshtoken"),
        2,
        "never a third refresh"
    );
    assert_eq!(sandbox.count("ilab.accesstoken"), 1);

    // A relaunch gives the user a new session.
    let (_, encoded) = ilab_ticket(&sandbox, "u1", "User One");
    let launch_url = format!("https://lab.example/exp?ticket={encoded}&appid=x");
    let relaunched = agent
        .post(
            Via::Unix,
            "/v1/ilab/demo/sessions",
            &json!({"launch_url": launch_url}),
        )
        .await;
    assert_eq!(relaunched.status, 201, "{}", relaunched.summary());
    let token = agent.get(Via::Unix, path).await;
    assert_eq!(token.status, 200, "{}", token.summary());
    assert!(
        !tokens.contains(&token.access_token()),
        "a new grant's token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_need_a_launch_and_unknown_apps_are_not_found() {
    let sandbox = Sandbox::start();
    let agent = Agent::start(
        "ilab-unknown",
        Setup::unix().table(ilab_app("demo", &sandbox.base_url())),
    );
    let unknown = agent
        .get(Via::Unix, "/v1/ilab/demo/sessions/nobody/token")
        .await;
    assert_eq!(unknown.status, 409, "{}", unknown.summary());
    assert_eq!(unknown.kind(), "reauth_required");

    let (ticket, _) = ilab_ticket(&sandbox, "u1", "User One");
    for (method, path) in [
        ("GET", "/v1/ilab/nope/sessions/u1/token"),
        ("POST", "/v1/ilab/nope/sessions"),
    ] {
        let reply = match method {
            "GET" => agent.get(Via::Unix, path).await,
            _ => {
                agent
                    .post(Via::Unix, path, &json!({"ticket": ticket}))
                    .await
            }
        };
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.summary());
        assert_eq!(reply.kind(), "not_found");
    }
    let grant = agent.token(Via::Unix, "nope").await;
    assert_eq!(grant.status, 404, "an unknown grant: {}", grant.summary());
    assert_eq!(
        sandbox.count("ilab.accesstoken"),
        0,
        "the ticket was not spent"
    );

    let bad = agent
        .post(Via::Unix, "/v1/ilab/demo/sessions", &json!({"ticket": ""}))
        .await;
    assert_eq!(bad.status, 400, "an empty ticket: {}", bad.summary());
    assert_eq!(bad.kind(), "bad_request");

    let health = agent.health().await;
    assert_eq!(health["ilab"]["demo"]["platform"], "ilab");
    assert_eq!(health["ilab"]["demo"]["sessions"], 0);
}
