//! `tokenkit ac token --store …` with the store sealed by `TOKENKIT_STORE_KEY` or
//! `--store-key-file`: real `tokenkit` processes against a `tokenkit sandbox` process
//! (which counts logins and renewals), over a file store and a real `redis-server`.
//!
//! Runs with the same key share one login; the store holds no byte window of the
//! printed token; a run with another key (or none) exits non-zero naming the key id,
//! and the platform saw no login or renewal from it; the key is never printed.

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
/// environment unless `key` gives one, and trace logs on (they must not show it either).
fn ac_token(sandbox: &Sandbox, store: &str, key: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .args(["ac", "token", "--base-url", &sandbox.base_url()])
        .args([
            "--user",
            "demo",
            "--org-id",
            "demo-org",
            "--cluster",
            "11112",
        ])
        .args(["--store", store])
        .env_remove("TOKENKIT_AC_SECRET_KEY")
        .env_remove("TOKENKIT_REFUSED_TOKEN")
        .env_remove("TOKENKIT_STORE_KEY")
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .env("TOKENKIT_LOG", "debug");
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

/// Whether `haystack` holds any 8-byte window of `secret`.
fn holds_a_window_of(haystack: &[u8], secret: &str) -> bool {
    secret
        .as_bytes()
        .windows(8)
        .any(|w| haystack.windows(8).any(|h| h == w))
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
            !holds_a_window_of(&bytes, &token),
            "{name} holds a window of the token"
        );
    }

    // Another key, the same id with other bytes, no key at all: each refused clearly.
    let runs = [
        (
            Some(k2.as_str()),
            "sealed with store key \"k1\", which this process does not have (it has \"k2\")",
        ),
        (
            Some(other_k1.as_str()),
            "cannot be opened with store key \"k1\" (a different key with the same id",
        ),
        (
            None,
            "is sealed with store key \"k1\"; this store has no key",
        ),
    ];
    for (key, expected) in runs {
        let output = ac_token(sandbox, store, key).output().expect("run");
        let stderr = refusal(&output, expected);
        assert!(
            stderr.contains("ac:demo:demo-org:11112"),
            "names the grant: {stderr}"
        );
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
