//! The cost of one authenticated call through tokenkit's layer beside the same call
//! made with bare `reqwest`, against the same in-process sandbox, on one client (one
//! connection pool), interleaved pair by pair in one run so machine drift hits both
//! alike; the order inside each pair alternates. Median and p99 per platform.
//!
//! A harness of its own rather than divan: divan measures one function after the
//! other and reports no p99, while the comparison asked for is interleaved calls with
//! their tail.
//!
//! Run: `cargo bench -p tokenkit --features full --bench authenticated_call`

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokenkit::TokenCache;
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit::bo::{BoClient, BoProvider, BoSession, VerifySigner};
use tokenkit::core::auth::AuthClient;
use tokenkit::ilab::{IlabClient, IlabProvider, Ticket};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokenkit::sandbox::{Sandbox, SandboxConfig};

const WARM_UP: usize = 500;
const PAIRS: usize = 5_000;

/// Builds the bare call: the token put on by hand.
type BareCall = Box<dyn Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder>;
/// Builds the same call for the layer, which puts the token on itself.
type LayeredCall = Box<dyn Fn(&AuthClient) -> reqwest::RequestBuilder>;

/// One platform's protected call, made bare or through the layer.
struct Case {
    name: &'static str,
    calls: AuthClient,
    bare: BareCall,
    layered: LayeredCall,
}

async fn admin(base: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let bytes = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("admin route")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON")
}

async fn cases(base: &str, http: &reqwest::Client) -> Vec<Case> {
    let ac = AcClient::builder(base)
        .user("demo")
        .password("demo-password")
        .org_id("demo-org")
        .build()
        .expect("ac client");
    let ac_cache = Arc::new(TokenCache::new(AcProvider::new(
        ac,
        ClusterSelector::id("11112"),
    )));

    let launch = admin(
        base,
        "/_sandbox/ilab/tickets",
        json!({"un": "u1", "dis": "张三"}),
    )
    .await;
    let ticket = Ticket::from_url_value(launch["ticket_url_encoded"].as_str().expect("ticket"))
        .expect("ticket");
    let ilab = IlabClient::builder(base, DEFAULT_APPID, DEFAULT_SECRET)
        .build()
        .expect("ilab client");
    let ilab_cache = Arc::new(TokenCache::new(IlabProvider::new(ilab, ticket)));

    let login = admin(base, "/_sandbox/bo/sessions", json!({"userId": "alice"})).await;
    let session = BoSession::new(
        login["accessToken"].as_str().expect("access"),
        login["refreshToken"].as_str().expect("refresh"),
    );
    let signer = VerifySigner::builder("12345678").build().expect("signer");
    let bo = BoClient::builder(base, "demo-owner", signer)
        .build()
        .expect("bo client");
    let bo_cache = Arc::new(TokenCache::new(BoProvider::new(bo, session)));

    let center = format!("{base}/ac/openapi/v2/center");
    let upload = format!("{base}/open/api/v2/data_upload");
    let whoami = format!("{base}/_sandbox/bo/whoami");
    // A whole §1.4 record: the sandbox validates the body, and a refused one would time
    // the refusal path instead of the upload.
    let record = json!({
        "username": "u1", "title": "实验", "status": 1, "score": 86,
        "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
        "timeUsed": 1000, "appid": tokenkit::sandbox::ilab::DEFAULT_APPID, "originId": "bench",
        "steps": [{"seq": 1, "title": "实验操作", "startTime": 1_711_111_313_941_i64,
                   "endTime": 1_711_111_913_941_i64, "timeUsed": 600, "maxScore": 100,
                   "score": 86, "repeatCount": 1}],
    })
    .to_string();
    let (c1, c2, u1, u2, r1, r2, w1, w2) = (
        center.clone(),
        center,
        upload.clone(),
        upload,
        record.clone(),
        record,
        whoami.clone(),
        whoami,
    );
    vec![
        Case {
            name: "ac center (token header)",
            calls: AuthClient::new(http.clone(), tokenkit::ac::AcScheme, ac_cache),
            bare: Box::new(move |http, token| http.get(&c1).header("token", token)),
            layered: Box::new(move |calls| calls.get(&c2)),
        },
        Case {
            name: "ilab data_upload (query token, JSON body)",
            calls: AuthClient::new(http.clone(), tokenkit::ilab::IlabScheme, ilab_cache),
            bare: Box::new(move |http, token| {
                http.post(&u1)
                    .query(&[("access_token", token)])
                    .header("content-type", "application/json")
                    .body(r1.clone())
            }),
            layered: Box::new(move |calls| {
                calls
                    .post(&u2)
                    .header("content-type", "application/json")
                    .body(r2.clone())
            }),
        },
        Case {
            name: "bo whoami (Authorization: Bearer)",
            calls: AuthClient::new(http.clone(), tokenkit::bo::BoScheme, bo_cache),
            bare: Box::new(move |http, token| http.get(&w1).bearer_auth(token)),
            layered: Box::new(move |calls| calls.get(&w2)),
        },
    ]
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox");
        let base = sandbox.base_url();
        let http = reqwest::Client::new();
        println!("| call | bare median | layer median | ratio | bare p99 | layer p99 | ratio |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for case in cases(&base, &http).await {
            // The bare call's token: what the layer would put on (fetched once).
            let token = case
                .calls
                .cache()
                .token()
                .await
                .expect("token")
                .access_token()
                .expose_secret()
                .to_owned();
            // What is timed must be the call's success, not a refusal of a bad body.
            let first = case
                .calls
                .send((case.layered)(&case.calls))
                .await
                .expect("layered")
                .bytes()
                .await
                .expect("body");
            let first: serde_json::Value = serde_json::from_slice(&first).unwrap_or_default();
            assert!(
                !matches!(first.get("code"), Some(code) if code != 0 && code != "0"),
                "{}: {first}",
                case.name
            );
            let mut bare = Vec::with_capacity(PAIRS);
            let mut layered = Vec::with_capacity(PAIRS);
            for i in 0..WARM_UP + PAIRS {
                let mut one_bare = Duration::ZERO;
                let mut one_layered = Duration::ZERO;
                for turn in 0..2 {
                    let started = Instant::now();
                    if (turn == 0) == (i % 2 == 0) {
                        let response = (case.bare)(&http, &token).send().await.expect("bare");
                        assert!(response.status().is_success());
                        response.bytes().await.expect("body");
                        one_bare = started.elapsed();
                    } else {
                        let response = case
                            .calls
                            .send((case.layered)(&case.calls))
                            .await
                            .expect("layered");
                        assert!(response.status().is_success());
                        response.bytes().await.expect("body");
                        one_layered = started.elapsed();
                    }
                }
                if i >= WARM_UP {
                    bare.push(one_bare);
                    layered.push(one_layered);
                }
            }
            bare.sort();
            layered.sort();
            let (bm, lm) = (quantile(&bare, 0.5), quantile(&layered, 0.5));
            let (bp, lp) = (quantile(&bare, 0.99), quantile(&layered, 0.99));
            println!(
                "| {} | {:.1} µs | {:.1} µs | {:.3}× | {:.1} µs | {:.1} µs | {:.3}× |",
                case.name,
                micros(bm),
                micros(lm),
                lm.as_secs_f64() / bm.as_secs_f64(),
                micros(bp),
                micros(lp),
                lp.as_secs_f64() / bp.as_secs_f64(),
            );
        }
        println!("({PAIRS} interleaved pairs per platform after {WARM_UP} warm-up pairs)");
    });
}
