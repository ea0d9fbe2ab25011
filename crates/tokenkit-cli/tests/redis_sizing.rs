//! What a grant costs in Redis, measured rather than guessed, on one server and on a
//! Redis Cluster (three masters): the memory of each name of a grant (`MEMORY USAGE`)
//! for each platform's token as the sandbox issues it, stored by the `tokenkit` CLI,
//! and the Redis commands one token expiry costs a fleet (`INFO commandstats` around
//! one renewal), for one cache and for ten sharing the grant. The figures of
//! `docs/redis.md` are this test's output:
//! `cargo test -p tokenkit-cli --test redis_sizing -- --nocapture`.
//! It asserts bounds loose enough for any machine, only to notice a regression.

#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::RedisServer;
use support::cluster::RedisCluster;
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit::ilab::{ExperimentResult, Step};
use tokenkit::redis::RedisStore;
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{TokenCache, TokenStore};

const APPID: &str = "1681600222748241929";

/// The nodes holding the data: one server, or a cluster's masters.
struct Nodes {
    url: String,
    ports: Vec<u16>,
}

impl Nodes {
    fn each(&self) -> impl Iterator<Item = redis::Connection> + '_ {
        self.ports.iter().map(|port| {
            redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .expect("url")
                .get_connection()
                .expect("a node")
        })
    }

    /// Every name under `tokenkit:` with its type and `MEMORY USAGE` (exact: every
    /// element is counted).
    fn names(&self) -> BTreeMap<String, (String, u64)> {
        let mut names = BTreeMap::new();
        for mut c in self.each() {
            let found: Vec<String> = redis::cmd("KEYS")
                .arg("tokenkit:*")
                .query(&mut c)
                .expect("KEYS");
            for name in found {
                let kind: String = redis::cmd("TYPE").arg(&name).query(&mut c).expect("TYPE");
                let bytes: u64 = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(&name)
                    .arg("SAMPLES")
                    .arg(0)
                    .query(&mut c)
                    .expect("MEMORY USAGE");
                names.insert(name, (kind, bytes));
            }
        }
        names
    }

    fn reset_stats(&self) {
        for mut c in self.each() {
            let () = redis::cmd("CONFIG")
                .arg("RESETSTAT")
                .query(&mut c)
                .expect("RESETSTAT");
        }
    }

    /// Calls per command since the last reset, over every node (not counting the
    /// measurement's own `CONFIG` and `INFO`).
    fn commands(&self) -> BTreeMap<String, u64> {
        let mut calls = BTreeMap::new();
        for mut c in self.each() {
            let info: String = redis::cmd("INFO")
                .arg("commandstats")
                .query(&mut c)
                .expect("INFO");
            for line in info.lines() {
                let Some((name, stats)) = line
                    .strip_prefix("cmdstat_")
                    .and_then(|l| l.split_once(':'))
                else {
                    continue;
                };
                if name.starts_with("config") || name == "info" {
                    continue;
                }
                let n: u64 = stats
                    .split(',')
                    .find_map(|f| f.strip_prefix("calls="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                *calls.entry(name.to_owned()).or_default() += n;
            }
        }
        calls
    }
}

fn tokenkit(sandbox: &Sandbox, args: &[&str], store: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .args(args)
        .args(["--base-url", &sandbox.base_url(), "--store", store])
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .env("TOKENKIT_BO_DES_KEY", "12345678")
        .env_remove("TOKENKIT_LOG");
    command
}

fn run(command: &mut Command) {
    let output = command.output().expect("run tokenkit");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn sandbox_post(
    sandbox: &Sandbox,
    route: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let text = reqwest::Client::new()
        .post(format!("{}{route}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sandbox")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).expect("json")
}

/// The names each platform's grant adds, with their memory.
async fn memory_per_grant(sandbox: &Sandbox, nodes: &Nodes) -> Vec<(String, String, String, u64)> {
    let mut rows = Vec::new();
    let mut before = nodes.names();
    let mut note = |platform: &str, rows: &mut Vec<_>| {
        let now = nodes.names();
        for (name, (kind, bytes)) in &now {
            if before.get(name).is_none_or(|(_, b)| b != bytes) {
                rows.push((platform.to_owned(), name.clone(), kind.clone(), *bytes));
            }
        }
        before = now;
    };
    let ticket = sandbox_post(
        sandbox,
        "/_sandbox/ilab/tickets",
        json!({"un": "sizing", "dis": "测量"}),
    )
    .await;
    let ticket = ticket["ticket"].as_str().expect("a ticket");
    let escaped = ticket
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    run(&mut tokenkit(
        sandbox,
        &["ilab", "exchange", "--appid", APPID, "--ticket", &escaped],
        &nodes.url,
    ));
    note("ilab", &mut rows);
    run(&mut tokenkit(
        sandbox,
        &[
            "ac",
            "token",
            "--user",
            "demo",
            "--org-id",
            "demo-org",
            "--cluster",
            "11112",
        ],
        &nodes.url,
    ));
    note("ac", &mut rows);
    let login = sandbox_post(sandbox, "/_sandbox/bo/sessions", json!({"userId": "alice"})).await;
    run(tokenkit(
        sandbox,
        &["bo", "refresh", "--owner-id", "demo-owner"],
        &nodes.url,
    )
    .env(
        "TOKENKIT_BO_REFRESH_TOKEN",
        login["refreshToken"].as_str().expect("a refresh token"),
    ));
    note("bo", &mut rows);

    // A lease while a refresh runs, and an ilab result kept pending (a two-step
    // result, as the `Reporter` keeps it).
    let store = RedisStore::builder(&nodes.url)
        .connect()
        .await
        .expect("store");
    let ilab_key = rows
        .iter()
        .find(|r| r.0 == "ilab" && r.1.ends_with(":state"))
        .map(|r| {
            r.1.trim_start_matches("tokenkit:{")
                .trim_end_matches("}:state")
                .to_owned()
        })
        .expect("the ilab grant");
    let lease = store
        .try_lease(&ilab_key, Duration::from_secs(30))
        .await
        .expect("lease")
        .expect("granted");
    note("lease", &mut rows);
    store.release_lease(lease).await.expect("release");
    let ended = std::time::SystemTime::now();
    let started = ended - Duration::from_secs(1000);
    let result = ExperimentResult::builder("单摆测重力加速度")
        .times(started, ended)
        .score(86.0)
        .step(
            Step::new(1, "实验操作")
                .times(started, started + Duration::from_secs(600))
                .score(52.0, 60.0),
        )
        .step(
            Step::new(2, "数据处理")
                .times(started + Duration::from_secs(600), ended)
                .score(34.0, 40.0),
        )
        .build()
        .expect("a result");
    let data = result.to_json().to_string();
    store
        .put_pending(&ilab_key, result.origin_id(), &data)
        .await
        .expect("pending");
    note(&format!("pending ({} B of JSON)", data.len()), &mut rows);
    rows
}

/// The commands of one renewal of an expired ac token shared by `caches` caches (one
/// store each: one process each), asked one after the other or all at once.
async fn commands_per_expiry(
    sandbox: &Sandbox,
    nodes: &Nodes,
    caches: usize,
    at_once: bool,
) -> BTreeMap<String, u64> {
    let key = format!("ac:expiry-{caches}-{at_once}");
    let mut fleet = Vec::new();
    for _ in 0..caches {
        let client = AcClient::builder(sandbox.base_url())
            .user("demo")
            .password("demo-password")
            .org_id("demo-org")
            .build()
            .expect("client");
        let store = RedisStore::builder(&nodes.url)
            .connect()
            .await
            .expect("store");
        fleet.push(Arc::new(
            TokenCache::builder(AcProvider::new(client, ClusterSelector::id("11112")))
                .store(Arc::new(store))
                .key(key.as_str())
                .build(),
        ));
    }
    for cache in &fleet {
        cache.token().await.expect("the first token");
    }
    // Past the token's expiry (the sandbox's ac lifetime is 2 s).
    tokio::time::sleep(Duration::from_millis(2300)).await;
    nodes.reset_stats();
    if at_once {
        let tasks: Vec<_> = fleet
            .iter()
            .map(|cache| {
                let cache = Arc::clone(cache);
                tokio::spawn(async move { cache.token().await.map(drop) })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("a renewed token");
        }
    } else {
        for cache in &fleet {
            cache.token().await.expect("a renewed token");
        }
    }
    nodes.commands()
}

fn print_commands(label: &str, calls: &BTreeMap<String, u64>) -> u64 {
    let total: u64 = calls.values().sum();
    let list: Vec<String> = calls.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!("| {label} | {total} | {} |", list.join(", "));
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_costs_little_memory_and_few_commands_per_expiry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let Some(cluster) = RedisCluster::start(3, 0, Duration::from_secs(15)) else {
        return;
    };
    let mut config = SandboxConfig::default();
    config.ac.ttl = Duration::from_secs(2);
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let single = Nodes {
        url: server.url(),
        ports: vec![
            server
                .url()
                .trim_end_matches('/')
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port"),
        ],
    };
    let clustered = Nodes {
        url: cluster.url(),
        ports: cluster.masters(),
    };
    for (topology, nodes) in [("one server", &single), ("cluster", &clustered)] {
        println!(
            "\n{topology}: memory per grant\n| grant | name | type | MEMORY USAGE (bytes) |\n| --- | --- | --- | ---: |"
        );
        for (platform, name, kind, bytes) in memory_per_grant(&sandbox, nodes).await {
            println!("| {platform} | `{name}` | {kind} | {bytes} |");
            assert!(bytes < 8 * 1024, "{name}: {bytes} bytes");
        }
        println!(
            "\n{topology}: commands per expiry (one ac renewal)\n| caches | total | by command |\n| --- | ---: | --- |"
        );
        let one = print_commands("1", &commands_per_expiry(&sandbox, nodes, 1, false).await);
        let ten = print_commands(
            "10, one after the other",
            &commands_per_expiry(&sandbox, nodes, 10, false).await,
        );
        let storm = print_commands(
            "10 at once",
            &commands_per_expiry(&sandbox, nodes, 10, true).await,
        );
        // Loose bounds, only to notice a regression (commands inside scripts count).
        // Callers at once poll while they wait: a slow renewal on a loaded machine
        // costs them more.
        assert!(one <= 25, "{one} commands for one cache");
        assert!(ten <= one + 9 * 5, "{ten} commands for ten caches in turn");
        assert!(storm <= 1000, "{storm} commands for ten caches at once");
    }
}
