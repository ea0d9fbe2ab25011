//! `tokenkit … token --store redis+cluster://…`: script processes sharing an ac grant
//! through a real Redis Cluster (three masters started by the harness) log in once,
//! and a bad cluster URL is a usage error that never repeats its password.

// Only its `ac_token`: this file runs the sandbox in process.
#[allow(dead_code)]
mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::cluster::RedisCluster;
use tokenkit::sandbox::{Sandbox, SandboxConfig};

fn ac_token(sandbox: &Sandbox, store: &str) -> Command {
    let mut command = common::ac_token(&sandbox.base_url(), store);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn token_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "tokenkit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .expect("utf8")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn script_processes_on_a_cluster_log_in_once() {
    let Some(cluster) = RedisCluster::start(3, 0, Duration::from_secs(15)) else {
        return;
    };
    let mut config = SandboxConfig::default();
    config.ac.ttl = Duration::from_secs(600);
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let url = cluster.url();
    // Three processes at once, then one more: one login, one token.
    let children: Vec<_> = (0..3)
        .map(|_| ac_token(&sandbox, &url).spawn().expect("spawn"))
        .collect();
    let mut tokens: Vec<String> = children
        .into_iter()
        .map(|c| token_of(&c.wait_with_output().expect("ran")))
        .collect();
    tokens.push(token_of(&ac_token(&sandbox, &url).output().expect("ran")));
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every process printed the same token");
    assert_eq!(sandbox.stats().get("ac.tokens"), 1, "one login");
    // Through one seed only, as well.
    let one_seed = format!("redis+cluster://127.0.0.1:{}/", cluster.ports()[2]);
    assert_eq!(
        token_of(&ac_token(&sandbox, &one_seed).output().expect("ran")),
        tokens[0]
    );
    assert_eq!(sandbox.stats().get("ac.tokens"), 1, "still one login");

    // A cluster has only database 0: a usage error, without the password.
    let bad = format!(
        "redis+cluster://:SENTINEL-PW@127.0.0.1:{}/3",
        cluster.ports()[0]
    );
    let output = ac_token(&sandbox, &bad).output().expect("ran");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only database 0"), "{stderr}");
    assert!(!stderr.contains("SENTINEL"), "{stderr}");
}
