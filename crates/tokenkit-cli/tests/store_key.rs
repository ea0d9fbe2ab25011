//! `tokenkit ac token --store …` with the store sealed by `TOKENKIT_STORE_KEY` or
//! `--store-key-file`: real `tokenkit` processes against a `tokenkit sandbox` process
//! (which counts logins and renewals), over a file store and a real `redis-server`.
//!
//! Runs with the same key share one login; the store holds no byte window of the
//! printed token; a run with another key (or none) exits non-zero naming the key id,
//! and the platform saw no login or renewal from it; the key is never printed. The
//! commands that spend something single-use before they read a grant (`ilab exchange`:
//! the launch ticket; `bo refresh`: the rotating refresh token) spend nothing with a
//! wrong key either: the store's key check refuses it first.

#[path = "../../tokenkit-core/tests/support/at_rest.rs"]
mod at_rest;
mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use redis::AsyncCommands;

use common::Sandbox;

/// A keyring entry `id:<base64 of 32 random bytes>`, and its Base64.
fn new_key(id: &str) -> (String, String) {
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    let material = STANDARD.encode(bytes);
    (format!("{id}:{material}"), material)
}

/// `tokenkit ac token` for cluster 11112 over `store`, with no store key in its
/// environment unless `key` gives one, and debug logs on (they must not show it either).
fn ac_token(sandbox: &Sandbox, store: &str, key: Option<&str>) -> Command {
    let mut command = common::ac_token(&sandbox.base_url(), store);
    command.env("TOKENKIT_LOG", "debug");
    if let Some(key) = key {
        command.env("TOKENKIT_STORE_KEY", key);
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The token a successful run printed.
fn printed_token(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        text(&output.stderr)
    );
    text(&output.stdout).trim().to_owned()
}

/// The stderr of a run that failed (exit 1), which must name `expected`.
fn refusal(output: &Output, expected: &str) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing printed: {}",
        text(&output.stdout)
    );
    assert!(stderr.contains(expected), "{stderr}");
    stderr
}

fn assert_not_shown(output: &Output, materials: &[&str]) {
    for material in materials {
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert!(!text(bytes).contains(material), "the key on {stream}");
        }
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "store-key-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn private_file(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The keys a store sealed with a `k1` must refuse — `k2`, `other_k1` (another key
/// named k1), none — and what each refusal says.
fn wrong_keys<'a>(k2: &'a str, other_k1: &'a str) -> [(Option<&'a str>, &'static str); 3] {
    [
        (
            Some(k2),
            "this store is sealed with store key \"k1\", which this process does not have (it \
             has \"k2\")",
        ),
        (
            Some(other_k1),
            "this store is sealed with another key named \"k1\" than this process has",
        ),
        (
            None,
            "this store is sealed with store key \"k1\"; this process has no store key",
        ),
    ]
}

/// The runs every store kind must pass; `inspect` returns every byte the store holds.
fn shared_by_one_key_refused_by_any_other(
    sandbox: &Sandbox,
    store: &str,
    key_dir: &Path,
    inspect: &dyn Fn() -> Vec<(String, Vec<u8>)>,
) {
    let (k1, k1_material) = new_key("k1");
    let (other_k1, other_material) = new_key("k1");
    let (k2, k2_material) = new_key("k2");
    let materials = [k1_material.as_str(), &other_material, &k2_material];

    let first = ac_token(sandbox, store, Some(&k1)).output().expect("run");
    let token = printed_token(&first);
    assert_not_shown(&first, &materials);
    // The same keyring from a private file: the same grant, no second login.
    let key_file = key_dir.join("store.key");
    private_file(&key_file, &format!("# the store key\n{k1}\n"), 0o600);
    let second = ac_token(sandbox, store, None)
        .args(["--store-key-file", &key_file.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(printed_token(&second), token, "one grant for both runs");
    assert_not_shown(&second, &materials);
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for both runs");

    for (name, bytes) in inspect() {
        assert!(
            !at_rest::holds_a_window_of(&bytes, &token),
            "{name} holds a window of the token"
        );
    }

    // Another key, the same id with other bytes, no key at all: each refused clearly, by
    // the store's key check, when the store is opened.
    for (key, expected) in wrong_keys(&k2, &other_k1) {
        let output = ac_token(sandbox, store, key).output().expect("run");
        let stderr = refusal(&output, expected);
        assert!(!stderr.contains(&token), "{stderr}");
        assert_not_shown(&output, &materials);
    }
    // A key file others can read, or a key given twice, is refused before any call.
    private_file(&key_file, &format!("{k1}\n"), 0o644);
    let output = ac_token(sandbox, store, None)
        .args(["--store-key-file", &key_file.to_string_lossy()])
        .output()
        .expect("run");
    refusal(&output, "chmod 600");
    assert_not_shown(&output, &materials);
    let output = ac_token(sandbox, store, Some(&k1))
        .args(["--store-key-file", &key_file.to_string_lossy()])
        .output()
        .expect("run");
    refusal(&output, "given twice");
    let output = ac_token(sandbox, store, Some("k1:not-a-key"))
        .output()
        .expect("run");
    refusal(&output, "TOKENKIT_STORE_KEY: entry 1 (key \"k1\")");

    assert_eq!(sandbox.count("ac.tokens"), 1, "no login from a refused run");
    assert_eq!(sandbox.count("ac.next"), 0, "no renewal from a refused run");
    // The right key still reads the grant, untouched.
    let again = ac_token(sandbox, store, Some(&k1)).output().expect("run");
    assert_eq!(printed_token(&again), token);
}

#[test]
fn a_sealed_file_store_is_shared_by_one_key_and_refused_by_any_other() {
    let sandbox = Sandbox::start();
    let dir = fresh_dir("file");
    let store_dir = dir.join("grants");
    let store = format!("file:{}", store_dir.display());
    let inspect = || {
        let held: Vec<(String, Vec<u8>)> = std::fs::read_dir(&store_dir)
            .expect("list")
            .map(|e| {
                let e = e.expect("entry");
                let bytes = std::fs::read(e.path()).expect("read");
                (e.file_name().to_string_lossy().into_owned(), bytes)
            })
            .collect();
        assert!(
            held.iter().any(|(name, _)| name.ends_with("11112.json")),
            "the grant is on disk"
        );
        held
    };
    shared_by_one_key_refused_by_any_other(&sandbox, &store, &dir, &inspect);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sealed_redis_store_is_shared_by_one_key_and_refused_by_any_other() {
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    let sandbox = Sandbox::start();
    let dir = fresh_dir("redis");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let inspect = || {
        runtime.block_on(async {
            let mut admin = redis.admin().await;
            let names: Vec<String> = redis::cmd("KEYS")
                .arg("*")
                .query_async(&mut admin)
                .await
                .expect("keys");
            assert!(!names.is_empty(), "the grant is in redis");
            let mut held = Vec::new();
            for name in names {
                let dump: Vec<u8> = redis::cmd("DUMP")
                    .arg(&name)
                    .query_async(&mut admin)
                    .await
                    .expect("dump");
                held.push((format!("DUMP {name}"), dump));
                if name.ends_with(":state") {
                    let fields: Vec<Vec<u8>> = admin.hgetall(&name).await.expect("hgetall");
                    held.push((format!("HGETALL {name}"), fields.concat()));
                }
            }
            held
        })
    };
    shared_by_one_key_refused_by_any_other(&sandbox, &redis.url(), &dir, &inspect);
    let _ = std::fs::remove_dir_all(&dir);
}

const ILAB_APPID: &str = "1681600222748241929";

/// A `tokenkit` command over `store` with the store key `key` (none if `None`) and the
/// sandbox's ilab and bo secrets.
fn tokenkit(store: &str, key: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .args(args)
        .args(["--store", store])
        .env_remove("TOKENKIT_STORE_KEY")
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .env("TOKENKIT_BO_DES_KEY", "12345678")
        .env("TOKENKIT_LOG", "debug");
    if let Some(key) = key {
        command.env("TOKENKIT_STORE_KEY", key);
    }
    command
}

/// A launch ticket of user `un`, as it stands in the launch URL.
fn ticket(sandbox: &Sandbox, un: &str) -> String {
    let answer = sandbox.call(
        "POST",
        "/_sandbox/ilab/tickets",
        Some(&serde_json::json!({"un": un, "dis": "张三"})),
    );
    answer["ticket_url_encoded"]
        .as_str()
        .expect("a ticket")
        .to_owned()
}

fn ilab_exchange(sandbox: &Sandbox, store: &str, ticket: &str, key: Option<&str>) -> Output {
    let base_url = sandbox.base_url();
    let args = ["ilab", "exchange", "--base-url", &base_url];
    tokenkit(store, key, &args)
        .args(["--appid", ILAB_APPID, "--ticket", ticket, "--json"])
        .output()
        .expect("run")
}

fn bo_refresh(sandbox: &Sandbox, store: &str, refresh_token: &str, key: Option<&str>) -> Output {
    let base_url = sandbox.base_url();
    let args = ["bo", "refresh", "--base-url", &base_url];
    tokenkit(store, key, &args)
        .args(["--owner-id", "demo-owner"])
        .env("TOKENKIT_BO_REFRESH_TOKEN", refresh_token)
        .output()
        .expect("run")
}

/// What a store sealed with `k1` must do for the commands that spend something single-use
/// before they can read a grant: an ilab launch ticket, a bo refresh token (rotated).
/// A run with a wrong key, or none, exits 1 naming the key, and the platform saw no
/// exchange and no refresh: the ticket and the refresh token still work with the key.
fn a_wrong_key_spends_no_ticket_and_no_refresh_token(sandbox: &Sandbox, store: &str) {
    let (k1, k1_material) = new_key("k1");
    let (other_k1, other_material) = new_key("k1");
    let (k2, k2_material) = new_key("k2");
    let materials = [k1_material.as_str(), &other_material, &k2_material];
    // A first launch seals the store with k1.
    let first = ilab_exchange(sandbox, store, &ticket(sandbox, "u0"), Some(&k1));
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(sandbox.count("ilab.accesstoken"), 1);

    let launch = ticket(sandbox, "u1");
    let login = sandbox.call(
        "POST",
        "/_sandbox/bo/sessions",
        Some(&serde_json::json!({"userId": "alice"})),
    );
    let refresh_token = login["refreshToken"].as_str().expect("a refresh token");
    for (key, expected) in wrong_keys(&k2, &other_k1) {
        let output = ilab_exchange(sandbox, store, &launch, key);
        refusal(&output, expected);
        assert_not_shown(&output, &materials);
        let output = bo_refresh(sandbox, store, refresh_token, key);
        refusal(&output, expected);
        assert_not_shown(&output, &materials);
    }
    assert_eq!(
        sandbox.count("ilab.accesstoken"),
        1,
        "no ticket exchanged by a refused run"
    );
    assert_eq!(
        sandbox.count("bo.refresh"),
        0,
        "no refresh by a refused run"
    );

    // The ticket is unspent: with the right key it is exchanged, and its grant kept.
    let launched = ilab_exchange(sandbox, store, &launch, Some(&k1));
    assert!(launched.status.success(), "{}", text(&launched.stderr));
    let answer: serde_json::Value =
        serde_json::from_slice(&launched.stdout).expect("one JSON object");
    assert_eq!(answer["un"], "u1");
    assert_eq!(sandbox.count("ilab.accesstoken"), 2);
    let base_url = sandbox.base_url();
    let token_args = ["ilab", "token", "--base-url", &base_url];
    let stored = tokenkit(store, Some(&k1), &token_args)
        .args(["--appid", ILAB_APPID, "--session", "u1"])
        .output()
        .expect("run");
    assert_eq!(
        Some(printed_token(&stored).as_str()),
        answer["access_token"].as_str(),
        "the grant kept is the launch's"
    );
    // So is the refresh token.
    let refreshed = bo_refresh(sandbox, store, refresh_token, Some(&k1));
    assert!(refreshed.status.success(), "{}", text(&refreshed.stderr));
    assert_eq!(sandbox.count("bo.refresh"), 1);
}

#[test]
fn a_wrong_key_for_a_sealed_file_store_spends_no_ticket_and_no_refresh_token() {
    let sandbox = Sandbox::start();
    let dir = fresh_dir("spend-file");
    let store = format!("file:{}", dir.join("grants").display());
    a_wrong_key_spends_no_ticket_and_no_refresh_token(&sandbox, &store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_key_for_a_sealed_redis_store_spends_no_ticket_and_no_refresh_token() {
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    let sandbox = Sandbox::start();
    a_wrong_key_spends_no_ticket_and_no_refresh_token(&sandbox, &redis.url());
}
