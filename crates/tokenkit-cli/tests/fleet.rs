//! A fleet sharing grants through a real `redis-server`: several OS processes, many
//! tasks each, against the sandbox with short lifetimes → one upstream call per expiry,
//! and every caller gets the same token.
//!
//! Two kinds of process: `tokenkit … token --store redis://…` as scripts run it, and
//! this test binary re-run as a service process with 50 concurrent tasks.

#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit::redis::RedisStore;
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{Error, TokenCache};

const ROLE: &str = "TOKENKIT_FLEET_ROLE";
const SANDBOX: &str = "TOKENKIT_FLEET_SANDBOX";
const REDIS: &str = "TOKENKIT_FLEET_REDIS";
const PROCESSES: usize = 6;
const TASKS: usize = 50;

async fn sandbox(ttl: Duration) -> Sandbox {
    let mut config = SandboxConfig::default();
    config.ilab.ttl = ttl;
    config.ac.ttl = ttl;
    config.bo.ttl = ttl;
    Sandbox::start(config).await.expect("sandbox")
}

/// Not a test of its own: a service process with many tasks sharing one ac grant.
#[test]
fn service_entry() {
    let (Ok(_), Ok(base_url), Ok(redis_url)) = (
        std::env::var(ROLE),
        std::env::var(SANDBOX),
        std::env::var(REDIS),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let tokens = runtime.block_on(async move {
        let store = RedisStore::builder(redis_url)
            .connect()
            .await
            .expect("redis");
        let client = AcClient::builder(base_url)
            .user("demo")
            .password("demo-password")
            .org_id("demo-org")
            .build()
            .expect("client");
        let cache = Arc::new(
            TokenCache::builder(AcProvider::new(client, ClusterSelector::id("11112")))
                .store(Arc::new(store))
                .key("ac:fleet")
                .build(),
        );
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move {
                    cache
                        .token()
                        .await
                        .map(|t| t.access_token().expose_secret().to_owned())
                })
            })
            .collect();
        let mut tokens = BTreeSet::new();
        for task in tasks {
            let token: Result<String, Error> = task.await.expect("task");
            tokens.insert(token.expect("token"));
        }
        tokens
    });
    for token in tokens {
        println!("TOKEN {token}");
    }
}

fn service_round(sandbox: &Sandbox, redis: &support::RedisServer) -> BTreeSet<String> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(std::env::current_exe().expect("test binary"))
                .args([
                    "service_entry",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ROLE, "service")
                .env(SANDBOX, sandbox.base_url())
                .env(REDIS, redis.url())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut all = BTreeSet::new();
    for child in children {
        let output = child.wait_with_output().expect("ran");
        assert!(output.status.success(), "a service process failed");
        let stdout = String::from_utf8(output.stdout).expect("utf8");
        let mine: BTreeSet<_> = stdout
            .lines()
            .filter_map(|l| l.split_once("TOKEN "))
            .map(|(_, t)| t.trim().to_owned())
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "all {TASKS} tasks of a process got one token"
        );
        all.extend(mine);
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn service_processes_make_one_login_then_one_renewal_per_expiry() {
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    // Lifetimes long enough that a round of processes, even on a loaded machine, runs
    // well before the refresh-ahead window of the token it shares.
    let sandbox = sandbox(Duration::from_secs(5)).await;
    let first = service_round(&sandbox, &redis);
    assert_eq!(first.len(), 1, "every process and task uses the same token");
    assert_eq!(
        sandbox.stats().get("ac.tokens"),
        1,
        "one login for {PROCESSES}×{TASKS} callers"
    );
    for round in 1..=2 {
        tokio::time::sleep(Duration::from_millis(5200)).await;
        let tokens = service_round(&sandbox, &redis);
        assert_eq!(tokens.len(), 1, "round {round}: one token for all");
        assert!(tokens.is_disjoint(&first), "round {round}: a renewed token");
        assert_eq!(
            sandbox.stats().get("ac.next"),
            round,
            "one renewal per expiry"
        );
    }
    assert_eq!(sandbox.stats().get("ac.tokens"), 1);
}

fn tokenkit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command.env("TOKENKIT_ILAB_SECRET", "123456");
    command
}

fn ilab_token_round(sandbox: &Sandbox, redis: &support::RedisServer) -> Vec<Output> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            tokenkit()
                .args([
                    "ilab",
                    "token",
                    "--session",
                    "fleet-user",
                    "--appid",
                    "1681600222748241929",
                ])
                .args(["--base-url", &sandbox.base_url(), "--store", &redis.url()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("ran"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn script_processes_never_spend_a_third_ilab_refresh() {
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    let sandbox = sandbox(Duration::from_secs(4)).await;
    let body = reqwest::Client::new()
        .post(format!("{}/_sandbox/ilab/tickets", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(json!({"un": "fleet-user", "dis": "舰队"}).to_string())
        .send()
        .await
        .expect("ticket")
        .text()
        .await
        .expect("body");
    let ticket: serde_json::Value = serde_json::from_str(&body).expect("json");
    let raw = ticket["ticket"].as_str().expect("a ticket").to_owned();
    let exchange = tokenkit()
        .args([
            "ilab",
            "exchange",
            "--appid",
            "1681600222748241929",
            "--ticket",
            &raw.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
        ])
        .args(["--base-url", &sandbox.base_url(), "--store", &redis.url()])
        .output()
        .expect("exchange");
    assert!(
        exchange.status.success(),
        "{}",
        String::from_utf8_lossy(&exchange.stderr)
    );

    for round in 0..=2u64 {
        let outputs = ilab_token_round(&sandbox, &redis);
        let tokens: BTreeSet<_> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .collect();
        assert!(outputs.iter().all(|o| o.status.success()), "round {round}");
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: one token for all processes"
        );
        assert_eq!(
            sandbox.stats().get("ilab.refreshtoken"),
            round,
            "round {round}: one refresh per expiry"
        );
        tokio::time::sleep(Duration::from_millis(4100)).await;
    }
    // Both refreshes are spent: every process is told to relaunch, none refreshes.
    let outputs = ilab_token_round(&sandbox, &redis);
    for output in &outputs {
        assert_eq!(output.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("relaunch"), "{stderr}");
    }
    assert_eq!(
        sandbox.stats().get("ilab.refreshtoken"),
        2,
        "never a third refresh"
    );
    assert_eq!(sandbox.stats().get("ilab.accesstoken"), 1);
}
