//! `tokenkit agent` with `agent.store_key`: two agents with the same key share one
//! sealed grant (one login), the store's files hold no byte window of the token, an
//! agent with another key answers `misconfigured` and calls no platform, and a key
//! written in the config is refused. Real agent and sandbox processes.

mod agent_support;
mod common;

use std::path::PathBuf;

use agent_support::{Agent, Setup, Via, ac_grant};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::Sandbox;

/// A keyring entry `id:<base64 of 32 random bytes>`, and its Base64.
fn new_key(id: &str) -> (String, String) {
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    let material = STANDARD.encode(bytes);
    (format!("{id}:{material}"), material)
}

/// Whether `haystack` holds any 8-byte window of `secret`.
fn holds_a_window_of(haystack: &[u8], secret: &str) -> bool {
    secret
        .as_bytes()
        .windows(8)
        .any(|w| haystack.windows(8).any(|h| h == w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_with_one_store_key_share_a_sealed_grant_and_another_key_spends_nothing() {
    let sandbox = Sandbox::start();
    let store_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "agent-store-key-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&store_dir);
    let setup = |key: &str| {
        Setup::unix()
            .setting(&format!("store = \"file:{}\"", store_dir.display()))
            .setting(r#"store_key = { env = "TOKENKIT_STORE_KEY" }"#)
            .table(ac_grant("hpc", &sandbox.base_url(), "11112"))
            .env("TOKENKIT_STORE_KEY", key)
            .log("debug")
    };
    let (k1, k1_material) = new_key("k1");
    let (k2, k2_material) = new_key("k2");

    let first = Agent::start("key-a", setup(&k1));
    let reply = first.token(Via::Unix, "hpc").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    let token = reply.access_token();
    let second = Agent::start("key-b", setup(&k1));
    let reply = second.token(Via::Unix, "hpc").await;
    assert_eq!(reply.access_token(), token, "one grant for both agents");
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for both agents");
    let mut files = 0;
    for entry in std::fs::read_dir(&store_dir).expect("the store directory") {
        let entry = entry.expect("entry");
        let bytes = std::fs::read(entry.path()).expect("read");
        assert!(
            !holds_a_window_of(&bytes, &token),
            "{} holds a window of the token",
            entry.file_name().to_string_lossy()
        );
        files += 1;
    }
    assert!(files > 0, "the grant is in the store");

    let wrong = Agent::start("key-c", setup(&k2));
    let reply = wrong.token(Via::Unix, "hpc").await;
    assert_eq!(reply.status, 500, "{}", reply.summary());
    assert_eq!(reply.kind(), "misconfigured", "{}", reply.summary());
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("sealed with store key \"k1\", which this process does not have"),
        "{message}"
    );
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "no login from the agent with another key"
    );
    assert_eq!(sandbox.count("ac.next"), 0, "no renewal either");

    for agent in [&first, &second, &wrong] {
        let stderr = agent.stderr();
        for material in [&k1_material, &k2_material] {
            assert!(
                !stderr.contains(material.as_str()),
                "the key on the agent's stderr"
            );
        }
        assert!(!stderr.contains(&token), "the token on the agent's stderr");
    }
    drop((first, second, wrong));
    let _ = std::fs::remove_dir_all(&store_dir);
}

#[test]
fn a_store_key_written_in_the_config_is_refused() {
    let (k1, material) = new_key("k1");
    let exited = Agent::run_to_exit(
        "inline-key",
        Setup::unix()
            .setting("store = \"file:grants\"")
            .setting(&format!("store_key = \"{k1}\""))
            .table(ac_grant("hpc", "http://127.0.0.1:9", "11112")),
    );
    assert_eq!(exited.status.code(), Some(1), "stderr: {}", exited.stderr);
    assert!(
        exited.stderr.contains("agent.store_key") && exited.stderr.contains("{ env"),
        "{}",
        exited.stderr
    );
    assert!(!exited.stderr.contains(&material), "{}", exited.stderr);
    assert!(!exited.stdout.contains(&material), "{}", exited.stdout);
}
