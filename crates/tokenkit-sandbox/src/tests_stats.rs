//! The counters stay bounded whatever paths clients send, over real sockets.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde_json::Value;

use crate::{Common, ConnectionLimits, Faults, Sandbox, SandboxConfig, Stats};

const DISTINCT_PATHS: usize = 10_000;

/// Under every platform's prefixes, the admin prefix and none.
const UNKNOWN_PREFIXES: [&str; 6] = [
    "/ac/openapi/v2/",
    "/open/api/v2/",
    "/oauth/token/",
    "/bo/api/v3/auth/token/",
    "/_sandbox/",
    "/x/",
];

/// The number of keys under `requests` in `snapshot`.
fn request_keys(snapshot: &Value) -> usize {
    snapshot["requests"].as_object().map_or(0, |m| m.len())
}

/// Sends `GET base + path(i)` for every `i` below [`DISTINCT_PATHS`], from a few
/// kept-alive connections at once.
async fn send_distinct_paths(base: &str, path: fn(usize) -> String) {
    let client = reqwest::Client::new();
    let mut senders = tokio::task::JoinSet::new();
    for lane in 0..4 {
        let (client, base) = (client.clone(), base.to_owned());
        senders.spawn(async move {
            for i in (lane..DISTINCT_PATHS).step_by(4) {
                client
                    .get(format!("{base}{}", path(i)))
                    .send()
                    .await
                    .expect("answers");
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("sender finished");
    }
}

#[tokio::test]
async fn a_route_with_a_capture_does_not_add_a_key_per_path() {
    // A platform route of one's own, counted by its last segment as every platform
    // route is: each item id would be a key of its own, for ever.
    let stats = Arc::new(Stats::default());
    let common = Common::new(Arc::clone(&stats), Faults::default(), b"k");
    let app = common.platform_routes(
        "demo",
        Router::new().route("/demo/items/{id}", get(|| async { "{}" })),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let serving = tokio::spawn(crate::server::serve(
        listener,
        app,
        ConnectionLimits::default(),
        std::future::pending(),
    ));
    send_distinct_paths(&base, |i| format!("/demo/items/{i}")).await;
    serving.abort();

    let snapshot = stats.snapshot();
    assert_eq!(request_keys(&snapshot), Stats::MAX_NAMES + 1, "bounded");
    let counted: u64 = snapshot["requests"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    assert_eq!(
        counted, DISTINCT_PATHS as u64,
        "every request still counted"
    );
    assert_eq!(
        stats.get(Stats::OVERFLOW),
        (DISTINCT_PATHS - Stats::MAX_NAMES) as u64
    );
}

#[tokio::test]
async fn unknown_paths_of_the_sandbox_add_no_key() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    send_distinct_paths(&sandbox.base_url(), |i| {
        format!(
            "{}unknown-{i}",
            UNKNOWN_PREFIXES[i % UNKNOWN_PREFIXES.len()]
        )
    })
    .await;
    assert_eq!(request_keys(&sandbox.stats().snapshot()), 0);
}

#[test]
fn a_name_too_long_is_counted_under_the_overflow_key() {
    let stats = Stats::default();
    let long = format!("demo.{}", "x".repeat(Stats::MAX_NAME_LEN));
    stats.hit(&long);
    stats.hit("demo.ping");
    assert_eq!(stats.get(&long), 0);
    assert_eq!(stats.get(Stats::OVERFLOW), 1);
    assert_eq!(stats.get("demo.ping"), 1);
}

#[test]
fn names_seen_before_the_map_filled_keep_counting() {
    let stats = Stats::default();
    for n in 0..Stats::MAX_NAMES * 2 {
        stats.hit(&format!("demo.item{n}"));
        stats.record_outcome(&format!("demo.outcome{n}"));
    }
    stats.hit("demo.item0");
    assert_eq!(stats.get("demo.item0"), 2);
    assert_eq!(stats.get(Stats::OVERFLOW), Stats::MAX_NAMES as u64);
    assert_eq!(stats.outcome(Stats::OVERFLOW), Stats::MAX_NAMES as u64);
    let outcomes = stats.snapshot()["outcomes"]
        .as_object()
        .map_or(0, |m| m.len());
    assert_eq!(outcomes, Stats::MAX_NAMES + 1);
}
