//! `tokenkit agent` with `agent.store_key`: two agents with the same key share one
//! sealed grant (one login), the store's files hold no byte window of the token, an
//! agent with another key or none is refused at start by the store's key check and
//! calls no platform, a reload with another key is refused while the agent keeps
//! serving, and a key written in the config is refused. Real agent and sandbox
//! processes.

mod agent_support;
#[path = "../../tokenkit-core/tests/support/at_rest.rs"]
mod at_rest;
mod common;

use std::os::unix::fs::PermissionsExt;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_with_one_store_key_share_a_sealed_grant_and_another_key_spends_nothing() {
    let sandbox = Sandbox::start();
    let store_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "agent-store-key-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&store_dir);
    let setup = |key: Option<&str>| {
        let setup = Setup::unix()
            .setting(&format!("store = \"file:{}\"", store_dir.display()))
            .table(ac_grant("hpc", &sandbox.base_url(), "11112"))
            .log("debug");
        match key {
            Some(key) => setup
                .setting(r#"store_key = { env = "TOKENKIT_STORE_KEY" }"#)
                .env("TOKENKIT_STORE_KEY", key),
            None => setup,
        }
    };
    let (k1, k1_material) = new_key("k1");
    let (k2, k2_material) = new_key("k2");

    let first = Agent::start("key-a", setup(Some(&k1)));
    let reply = first.token(Via::Unix, "hpc").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    let token = reply.access_token();
    let second = Agent::start("key-b", setup(Some(&k1)));
    let reply = second.token(Via::Unix, "hpc").await;
    assert_eq!(reply.access_token(), token, "one grant for both agents");
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for both agents");
    let mut files = 0;
    for entry in std::fs::read_dir(&store_dir).expect("the store directory") {
        let entry = entry.expect("entry");
        let bytes = std::fs::read(entry.path()).expect("read");
        assert!(
            !at_rest::holds_a_window_of(&bytes, &token),
            "{} holds a window of the token",
            entry.file_name().to_string_lossy()
        );
        files += 1;
    }
    assert!(files > 0, "the grant is in the store");

    // Another key, or none: the store's key check refuses it at start, so the agent
    // exits 1 before it listens or starts a grant — no platform call.
    let runs = [
        (
            Some(k2.as_str()),
            "this store is sealed with store key \"k1\", which this process does not have (it \
             has \"k2\")",
        ),
        (
            None,
            "this store is sealed with store key \"k1\"; this process has no store key",
        ),
    ];
    for (key, expected) in runs {
        let exited = Agent::run_to_exit("key-c", setup(key));
        assert_eq!(exited.status.code(), Some(1), "stderr: {}", exited.stderr);
        assert!(exited.stderr.contains(expected), "{}", exited.stderr);
        assert!(!exited.left_socket, "no socket left behind");
        assert!(!exited.stdout.contains("listening on"), "{}", exited.stdout);
        for material in [&k1_material, &k2_material] {
            assert!(
                !exited.stderr.contains(material.as_str()),
                "the key on stderr"
            );
        }
    }
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "no login from an agent with another key"
    );
    assert_eq!(sandbox.count("ac.next"), 0, "no renewal either");

    for agent in [&first, &second] {
        let stderr = agent.stderr();
        for material in [&k1_material, &k2_material] {
            assert!(
                !stderr.contains(material.as_str()),
                "the key on the agent's stderr"
            );
        }
        assert!(!stderr.contains(&token), "the token on the agent's stderr");
    }
    drop((first, second));
    let _ = std::fs::remove_dir_all(&store_dir);
}

/// A reload that brings a key the store was not sealed with is refused, and the agent
/// goes on serving with the key it has: no login, no broken grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_another_store_key_is_refused_and_the_agent_keeps_serving() {
    let sandbox = Sandbox::start();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "agent-store-key-reload-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let key_file = dir.join("store.key");
    let write_key = |entry: &str| {
        std::fs::write(&key_file, format!("{entry}\n")).expect("write the key");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    };
    let (k1, _) = new_key("k1");
    let (k2, k2_material) = new_key("k2");
    write_key(&k1);
    let agent = Agent::start(
        "key-reload",
        Setup::unix()
            .setting(&format!(
                "store = \"file:{}\"",
                dir.join("grants").display()
            ))
            .setting(&format!(
                "store_key = {{ file = \"{}\" }}",
                key_file.display()
            ))
            .table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let token = agent.token(Via::Unix, "hpc").await.access_token();

    write_key(&k2);
    agent.signal("HUP");
    let stderr = agent
        .wait_stderr("tokenkit agent: reload refused: token store: this store is sealed with store key \"k1\", which this process does not have (it has \"k2\")")
        .await;
    assert!(!stderr.contains(&k2_material), "the key on stderr");
    let reply = agent.token(Via::Unix, "hpc").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert_eq!(reply.access_token(), token, "the grant it had");
    assert_eq!(sandbox.count("ac.tokens"), 1, "no second login");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
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
