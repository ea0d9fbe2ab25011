//! `tokenkit … token --refused TOKEN` as scripts use it after a platform refused their
//! token: real `tokenkit` processes against a `tokenkit sandbox` process, upstream calls
//! counted by the sandbox (`GET /_sandbox/stats`).

mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use common::Sandbox;

const ILAB_APPID: &str = "1681600222748241929";
const BO_OWNER: &str = "demo-owner";
const STORM: usize = 40;

/// A fresh store directory of this test.
fn store_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("refused-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file_store(dir: &std::path::Path) -> String {
    format!("file:{}", dir.display())
}

fn tokenkit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .env("TOKENKIT_BO_DES_KEY", "12345678")
        .env_remove("TOKENKIT_REFUSED_TOKEN")
        .env_remove("TOKENKIT_LOG");
    command
}

/// `tokenkit ac token` of the sandbox's account, cluster 11112.
fn ac_token(sandbox: &Sandbox, store: &str) -> Command {
    let mut command = tokenkit();
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
        .args(["--store", store]);
    command
}

fn ilab_token(sandbox: &Sandbox, store: &str) -> Command {
    let mut command = tokenkit();
    command
        .args(["ilab", "token", "--base-url", &sandbox.base_url()])
        .args(["--appid", ILAB_APPID, "--session", "u1", "--store", store]);
    command
}

fn bo_token(sandbox: &Sandbox, store: &str) -> Command {
    let mut command = tokenkit();
    command
        .args(["bo", "token", "--base-url", &sandbox.base_url()])
        .args([
            "--owner-id",
            BO_OWNER,
            "--session",
            "alice",
            "--store",
            store,
        ]);
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run tokenkit")
}

/// The token a successful run printed (its only line).
fn printed(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf8");
    assert_eq!(stdout.lines().count(), 1, "the token alone: {stdout}");
    stdout.trim_end().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Upstream calls that give an ac token: renewals and logins.
fn ac_upstream(sandbox: &Sandbox) -> (u64, u64) {
    (sandbox.count("ac.next"), sandbox.count("ac.tokens"))
}

#[test]
fn ac_refused_token_is_renewed_once_and_a_replaced_one_is_not() {
    let sandbox = Sandbox::start();
    let dir = store_dir("ac");
    let store = file_store(&dir);

    let t1 = printed(&run(&mut ac_token(&sandbox, &store)));
    assert_eq!(ac_upstream(&sandbox), (0, 1), "one login");
    assert_eq!(printed(&run(&mut ac_token(&sandbox, &store))), t1, "kept");
    assert_eq!(ac_upstream(&sandbox), (0, 1));

    let t2 = printed(&run(ac_token(&sandbox, &store).args(["--refused", &t1])));
    assert_ne!(t2, t1, "the refused token is renewed");
    assert_eq!(ac_upstream(&sandbox), (1, 1), "one renewal (tokens/next)");

    // Reported again (another script, later): already replaced, nothing upstream.
    let again = run(ac_token(&sandbox, &store).args(["--refused", &t1]));
    assert_eq!(printed(&again), t2);
    assert_eq!(ac_upstream(&sandbox), (1, 1), "no second renewal");
    assert!(!stderr(&again).contains(&t1));

    // A token that never was current: the current one, nothing upstream.
    let stranger = run(ac_token(&sandbox, &store).args(["--refused", "not-the-current-token"]));
    assert_eq!(printed(&stranger), t2);
    assert_eq!(ac_upstream(&sandbox), (1, 1));

    // From the environment, with --json: the JSON of the new token.
    let json = run(ac_token(&sandbox, &store)
        .arg("--json")
        .env("TOKENKIT_REFUSED_TOKEN", &t2));
    let value: Value = serde_json::from_str(&printed(&json)).expect("one JSON object");
    let t3 = value["token"].as_str().expect("the token").to_owned();
    assert!(t3 != t2 && t3 != t1, "renewed again");
    assert_eq!(value["access_token"], json!(t3));
    assert_eq!(value["cluster_id"], "11112");
    assert_eq!(
        ac_upstream(&sandbox),
        (2, 1),
        "one renewal for the env report"
    );
    assert_eq!(printed(&run(&mut ac_token(&sandbox, &store))), t3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 40 processes report the same refused token at once over `store`; all print the same
/// new token and the platform sees one renewal.
fn storm(sandbox: &Sandbox, store: &str) {
    let t1 = printed(&run(&mut ac_token(sandbox, store)));
    let before = ac_upstream(sandbox);
    let started = Instant::now();
    let children: Vec<_> = (0..STORM)
        .map(|_| {
            ac_token(sandbox, store)
                .env("TOKENKIT_REFUSED_TOKEN", &t1)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("ran"))
        .collect();
    let tokens: BTreeSet<_> = outputs.iter().map(printed).collect();
    eprintln!(
        "{STORM} processes over {}: {:?}",
        store.split(':').next().unwrap_or_default(),
        started.elapsed()
    );
    assert_eq!(tokens.len(), 1, "all {STORM} print the same token");
    assert!(!tokens.contains(&t1), "a new token");
    let (next, logins) = ac_upstream(sandbox);
    assert_eq!(
        (next - before.0) + (logins - before.1),
        1,
        "one upstream renewal for {STORM} reports"
    );
    assert_eq!(next, before.0 + 1, "it is a tokens/next renewal");
    for output in &outputs {
        assert!(!stderr(output).contains(&t1));
    }
    // The storm's token is the one every later run gets.
    assert_eq!(
        printed(&run(&mut ac_token(sandbox, store))),
        tokens.into_iter().next().unwrap_or_default()
    );
}

#[test]
fn forty_processes_reporting_one_refused_token_over_a_file_store_renew_it_once() {
    let sandbox = Sandbox::start();
    let dir = store_dir("storm");
    storm(&sandbox, &file_store(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forty_processes_reporting_one_refused_token_over_redis_renew_it_once() {
    let Some(redis) = support::RedisServer::start() else {
        return;
    };
    let sandbox = Sandbox::start();
    storm(&sandbox, &redis.url());
}

#[test]
fn ilab_refused_tokens_spend_the_two_refreshes_then_exit_3_without_a_third() {
    let sandbox = Sandbox::start();
    let dir = store_dir("ilab");
    let store = file_store(&dir);
    let ticket = sandbox.call(
        "POST",
        "/_sandbox/ilab/tickets",
        Some(&json!({"un": "u1", "dis": "张三"})),
    );
    let ticket = ticket["ticket_url_encoded"].as_str().expect("a ticket");
    let exchange = run(tokenkit()
        .args(["ilab", "exchange", "--base-url", &sandbox.base_url()])
        .args(["--appid", ILAB_APPID, "--ticket", ticket, "--store", &store]));
    assert!(exchange.status.success(), "{}", stderr(&exchange));

    let mut current = printed(&run(&mut ilab_token(&sandbox, &store)));
    assert_eq!(sandbox.count("ilab.refreshtoken"), 0);
    for spent in 1..=2 {
        let renewed = printed(&run(
            ilab_token(&sandbox, &store).args(["--refused", &current])
        ));
        assert_ne!(renewed, current, "refresh {spent} gives a new token");
        assert_eq!(sandbox.count("ilab.refreshtoken"), spent);
        // The replaced token reported again: the current one, no refresh.
        let late = printed(&run(
            ilab_token(&sandbox, &store).args(["--refused", &current])
        ));
        assert_eq!(late, renewed);
        assert_eq!(sandbox.count("ilab.refreshtoken"), spent);
        current = renewed;
    }

    // The budget is spent: relaunch, exit 3, no third refresh, the token never shown.
    let spent = run(ilab_token(&sandbox, &store)
        .env("TOKENKIT_REFUSED_TOKEN", &current)
        .env("TOKENKIT_LOG", "debug"));
    let err = stderr(&spent);
    assert_eq!(spent.status.code(), Some(3), "{err}");
    assert!(err.contains("relaunch"), "{err}");
    assert!(
        !err.contains(&current),
        "the refused token is not on stderr"
    );
    assert!(spent.stdout.is_empty(), "nothing on stdout");
    assert_eq!(
        sandbox.count("ilab.refreshtoken"),
        2,
        "never a third refresh"
    );
    assert_eq!(sandbox.count("ilab.accesstoken"), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bo_refused_token_is_refreshed_once() {
    let sandbox = Sandbox::start();
    let dir = store_dir("bo");
    let store = file_store(&dir);
    let login = sandbox.call(
        "POST",
        "/_sandbox/bo/sessions",
        Some(&json!({"userId": "alice"})),
    );
    let refresh = run(tokenkit()
        .args(["bo", "refresh", "--base-url", &sandbox.base_url()])
        .args(["--owner-id", BO_OWNER, "--store", &store])
        .env(
            "TOKENKIT_BO_REFRESH_TOKEN",
            login["refreshToken"].as_str().expect("a refresh token"),
        ));
    assert!(refresh.status.success(), "{}", stderr(&refresh));
    assert_eq!(sandbox.count("bo.refresh"), 1);

    let t1 = printed(&run(&mut bo_token(&sandbox, &store)));
    assert_eq!(sandbox.count("bo.refresh"), 1, "the stored token is fresh");
    let t2 = printed(&run(bo_token(&sandbox, &store).args(["--refused", &t1])));
    assert_ne!(t2, t1);
    assert_eq!(sandbox.count("bo.refresh"), 2, "one refresh");
    let t2_again = printed(&run(bo_token(&sandbox, &store).args(["--refused", &t1])));
    assert_eq!(t2_again, t2);
    assert_eq!(sandbox.count("bo.refresh"), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_token_is_never_printed_to_stderr_or_in_help() {
    let sandbox = Sandbox::start();
    let dir = store_dir("secrets");
    let store = file_store(&dir);
    const SENTINEL: &str = "SENTINEL-refused-7f3a9c1e";

    let current = printed(&run(&mut ac_token(&sandbox, &store)));
    let before = ac_upstream(&sandbox);
    for output in [
        run(ac_token(&sandbox, &store)
            .args(["--refused", SENTINEL])
            .env("TOKENKIT_LOG", "debug")),
        run(ac_token(&sandbox, &store)
            .env("TOKENKIT_REFUSED_TOKEN", SENTINEL)
            .env("TOKENKIT_LOG", "debug")),
        // A token that starts like a flag is a value, not an error that echoes it.
        run(ac_token(&sandbox, &store).args(["--refused", "-SENTINEL-refused-7f3a9c1e"])),
    ] {
        assert_eq!(printed(&output), current, "the current token");
        assert!(!stderr(&output).contains("SENTINEL"), "{}", stderr(&output));
    }
    assert_eq!(ac_upstream(&sandbox), before, "nothing upstream");

    // Failing commands do not echo it either (here: the platform is unreachable).
    let down = run(tokenkit()
        .args(["ac", "token", "--base-url", "http://127.0.0.1:9"])
        .args([
            "--user",
            "demo",
            "--org-id",
            "demo-org",
            "--refused",
            SENTINEL,
        ]));
    assert_eq!(down.status.code(), Some(1));
    assert!(!stderr(&down).contains("SENTINEL"), "{}", stderr(&down));

    // --help names the environment variable, never its value.
    for platform in ["ilab", "ac", "bo"] {
        let help = run(tokenkit()
            .args([platform, "token", "--help"])
            .env("TOKENKIT_REFUSED_TOKEN", SENTINEL));
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(help.status.success());
        assert!(
            text.contains("--refused <TOKEN>") && text.contains("[env: TOKENKIT_REFUSED_TOKEN]"),
            "{text}"
        );
        assert!(!text.contains("SENTINEL"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_refused_token_is_a_usage_error() {
    let base = ["ac", "token", "--base-url", "http://127.0.0.1:9"];
    let account = ["--user", "demo", "--org-id", "demo-org"];
    for output in [
        run(tokenkit().args(base).args(account).args(["--refused", ""])),
        run(tokenkit().args(base).args(account).arg("--refused=")),
        run(tokenkit()
            .args(base)
            .args(account)
            .env("TOKENKIT_REFUSED_TOKEN", "")),
        run(tokenkit()
            .args(["ilab", "token", "--base-url", "http://127.0.0.1:9"])
            .args(["--appid", ILAB_APPID, "--session", "u1", "--refused", ""])),
        run(tokenkit()
            .args(["bo", "token", "--base-url", "http://127.0.0.1:9"])
            .args([
                "--owner-id",
                BO_OWNER,
                "--session",
                "alice",
                "--refused",
                "",
            ])),
    ] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
        assert!(stderr(&output).contains("--refused"), "{}", stderr(&output));
    }
}
