//! `tokenkit ac …` with either login (password or access key), one login for every
//! cluster of an account over a shared store, and region discovery (`ac center`):
//! real `tokenkit` processes against a `tokenkit sandbox` process, upstream calls
//! counted by the sandbox (`GET /_sandbox/stats`).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use common::Sandbox;

const ACCESS_KEY: &str = "demo-access-key";
const SECRET_KEY: &str = "demo-secret-key";
/// A secret that must never be printed; it also starts like a flag.
const SENTINEL: &str = "-SENTINEL-secret-key-5b2e81d4";
const HPC: &str = "https://hpc-11112.sandbox.invalid:65443";
const EFILE: &str = "https://efile-11112.sandbox.invalid:65443";
const EFILE_OLD: &str = "https://efile-11112-old.sandbox.invalid:65443";
/// Never reached: the usage errors are found before any call.
const NOWHERE: &str = "http://127.0.0.1:9";

/// How the account logs in.
#[derive(Clone, Copy, Debug)]
enum Login {
    Password,
    AccessKey,
}

/// `tokenkit` with no ac secrets in its environment (each test gives its own).
fn tokenkit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .env_remove("TOKENKIT_AC_PASSWORD")
        .env_remove("TOKENKIT_AC_SECRET_KEY")
        .env_remove("TOKENKIT_REFUSED_TOKEN")
        .env_remove("TOKENKIT_LOG");
    command
}

/// `tokenkit ac <sub> --base-url … --user demo` with the login's flags and secret.
fn ac(sub: &str, base_url: &str, login: Login) -> Command {
    let mut command = tokenkit();
    command
        .args(["ac", sub, "--base-url", base_url, "--user", "demo"])
        .env("TOKENKIT_LOG", "debug");
    match login {
        Login::Password => command
            .args(["--org-id", "demo-org"])
            .env("TOKENKIT_AC_PASSWORD", "demo-password"),
        Login::AccessKey => command
            .args(["--access-key", ACCESS_KEY])
            .env("TOKENKIT_AC_SECRET_KEY", SECRET_KEY),
    };
    command
}

/// A fresh store directory of this test.
fn store_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ac-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file_store(dir: &std::path::Path) -> String {
    format!("file:{}", dir.display())
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run tokenkit")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stdout of a successful run.
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        stderr(output)
    );
    stdout(output)
}

/// The only line of a successful run.
fn line(output: &Output) -> String {
    let out = ok(output);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    out.trim_end().to_owned()
}

/// Logins the platform saw: (password, access key).
fn logins(sandbox: &Sandbox) -> (u64, u64) {
    (sandbox.count("ac.tokens"), sandbox.count("ac.ak_tokens"))
}

fn assert_secrets_not_shown(output: &Output) {
    for secret in [SECRET_KEY, "demo-password", "SENTINEL"] {
        assert!(!stdout(output).contains(secret), "{secret} on stdout");
        assert!(!stderr(output).contains(secret), "{secret} on stderr");
    }
}

#[test]
fn access_key_login_lists_the_regions_and_never_shows_the_secret_key() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();

    let text = run(&mut ac("login", &base, Login::AccessKey));
    let out = ok(&text);
    assert!(
        out.contains("0 (ac): account Normal") && out.contains("11112 (华东一区): account Normal"),
        "{out}"
    );
    assert_secrets_not_shown(&text);
    assert_eq!(logins(&sandbox), (0, 1), "the access-key login");

    // The secret key from --secret-key, the auth host named explicitly, trace logs on.
    let json = run(tokenkit()
        .args(["ac", "login", "--base-url", &base, "--auth-url", &base])
        .args(["--user", "demo", "--access-key", ACCESS_KEY])
        .args(["--secret-key", SECRET_KEY, "--json"])
        .env("TOKENKIT_LOG", "trace"));
    let value: Value = serde_json::from_str(&ok(&json)).expect("one JSON object");
    let ids: Vec<_> = value["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r["cluster_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["0", "11112"]);
    assert!(value["regions"][1]["token"].is_string());
    assert_secrets_not_shown(&json);
    assert_eq!(logins(&sandbox), (0, 2));
}

#[test]
fn a_wrong_secret_key_names_10004_and_never_the_key() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    let account = ["--user", "demo", "--access-key", ACCESS_KEY];
    for (level, output) in [
        (
            "debug",
            run(tokenkit()
                .args(["ac", "login", "--base-url", &base])
                .args(account)
                .env("TOKENKIT_AC_SECRET_KEY", SENTINEL)
                .env("TOKENKIT_LOG", "debug")),
        ),
        (
            "trace",
            run(tokenkit()
                .args(["ac", "token", "--base-url", &base, "--cluster", "11112"])
                .args(account)
                .args(["--secret-key", SENTINEL])
                .env("TOKENKIT_LOG", "trace")),
        ),
    ] {
        let err = stderr(&output);
        // 10004 needs a new login (with the right key): the CLI's exit 3.
        assert_eq!(output.status.code(), Some(3), "{level}: {err}");
        assert!(output.stdout.is_empty(), "{level}: nothing on stdout");
        assert!(err.contains("10004"), "{level}: {err}");
        assert!(!err.contains("SENTINEL"), "{level}: {err}");
        let errors: Vec<_> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{level}: one error line: {err}");
        assert!(errors[0].contains("10004"), "{level}: {}", errors[0]);
    }
    assert_eq!(logins(&sandbox), (0, 2), "both refused logins reached it");

    // --help names the environment variable, never its value.
    for sub in ["login", "token", "center"] {
        let help = run(tokenkit()
            .args(["ac", sub, "--help"])
            .env("TOKENKIT_AC_SECRET_KEY", SENTINEL));
        let text = ok(&help);
        assert!(
            text.contains("--access-key <AK>")
                && text.contains("--auth-url <URL>")
                && text.contains("[env: TOKENKIT_AC_SECRET_KEY]"),
            "{text}"
        );
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}

/// `ac token --cluster 0` then `--cluster 11112` (then by name) over one file store:
/// one login in all, the second and third runs adopt what it stored.
fn one_login_for_every_cluster(login: Login) {
    let sandbox = Sandbox::start();
    let dir = store_dir(&format!("{login:?}"));
    let store = file_store(&dir);
    let token = |cluster: &str| {
        let output = run(ac("token", &sandbox.base_url(), login).args([
            "--cluster",
            cluster,
            "--store",
            &store,
        ]));
        assert_secrets_not_shown(&output);
        line(&output)
    };

    let platform = token("0");
    let east = token("11112");
    assert_ne!(platform, east, "{login:?}: each cluster has its own token");
    assert_eq!(
        token("华东一区"),
        east,
        "{login:?}: by name, the same token"
    );
    assert_eq!(token("0"), platform);
    let (password, access_key) = logins(&sandbox);
    assert_eq!(password + access_key, 1, "{login:?}: one login upstream");
    match login {
        Login::Password => assert_eq!(password, 1),
        Login::AccessKey => assert_eq!(access_key, 1),
    }

    // --refused still renews once, and the other clusters keep their tokens.
    let renewed = line(&run(ac("token", &sandbox.base_url(), login).args([
        "--cluster",
        "11112",
        "--store",
        &store,
        "--refused",
        &east,
    ])));
    assert_ne!(renewed, east);
    assert_eq!(sandbox.count("ac.next"), 1, "{login:?}: one renewal");
    assert_eq!(token("11112"), renewed);
    assert_eq!(token("0"), platform);
    assert_eq!(logins(&sandbox), (password, access_key), "no other login");

    // The JSON names the cluster the token is for.
    let json = run(ac("token", &sandbox.base_url(), login).args([
        "--cluster",
        "0",
        "--store",
        &store,
        "--json",
    ]));
    let value: Value = serde_json::from_str(&line(&json)).expect("one JSON object");
    assert_eq!(value["cluster_id"], "0");
    assert_eq!(value["token"], json!(platform));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn password_tokens_of_two_clusters_over_one_store_make_one_login() {
    one_login_for_every_cluster(Login::Password);
}

#[test]
fn access_key_tokens_of_two_clusters_over_one_store_make_one_login() {
    one_login_for_every_cluster(Login::AccessKey);
}

#[test]
fn center_prints_the_regions_urls_and_the_first_enabled_one_of_a_kind() {
    let sandbox = Sandbox::start();
    let dir = store_dir("center");
    let store = file_store(&dir);
    let center = |args: &[&str]| {
        let output = run(ac("center", &sandbox.base_url(), Login::AccessKey)
            .args(["--store", &store])
            .args(args));
        assert_secrets_not_shown(&output);
        output
    };

    assert_eq!(line(&center(&["--cluster", "11112", "--kind", "hpc"])), HPC);
    assert_eq!(
        line(&center(&["--cluster", "11112", "--kind", "efile"])),
        EFILE,
        "the enabled efile URL, not the disabled one listed first"
    );
    assert_eq!(
        line(&center(&["--cluster", "华东一区", "--kind", "efile"])),
        EFILE,
        "the cluster by name"
    );

    let text = ok(&center(&["--cluster", "11112"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "region 华东一区 (11112)", "{text}");
    assert_eq!(lines[1], "  user demo home /public/home/demo", "{text}");
    assert!(
        lines.contains(&format!("  hpc {HPC} enabled version 1.0").as_str()),
        "{text}"
    );
    assert!(
        lines.contains(&format!("  efile {EFILE_OLD} disabled version 1.0").as_str()),
        "{text}"
    );
    assert!(
        lines.contains(&format!("  efile {EFILE} enabled version 1.0").as_str()),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  ai https://ai-11112.")),
        "{text}"
    );

    let json: Value =
        serde_json::from_str(&line(&center(&["--cluster", "11112", "--json"]))).expect("JSON");
    let region = &json["regions"][0];
    assert_eq!(json["regions"].as_array().map(Vec::len), Some(1));
    assert_eq!(region["id"], "11112");
    assert_eq!(region["name"], "华东一区");
    assert_eq!(
        region["cluster_user"],
        json!({"user_name": "demo", "home_path": "/public/home/demo"})
    );
    assert_eq!(
        region["efile"],
        json!([{"url": EFILE_OLD, "enabled": false, "version": "1.0"},
               {"url": EFILE, "enabled": true, "version": "1.0"}])
    );
    assert_eq!(region["hpc"][0]["url"], HPC);
    assert_eq!(region["ai"][0]["enabled"], true);

    let kind: Value = serde_json::from_str(&line(&center(&[
        "--cluster",
        "11112",
        "--kind",
        "hpc",
        "--json",
    ])))
    .expect("JSON");
    assert_eq!(kind, json!({"kind": "hpc", "url": HPC}));

    // The token for center and for `ac token` is one: one login for all these runs.
    let token = line(&run(ac("token", &sandbox.base_url(), Login::AccessKey)
        .args(["--cluster", "11112", "--store", &store])));
    assert!(!token.is_empty());
    assert_eq!(logins(&sandbox), (0, 1), "one login");
    assert_eq!(sandbox.count("ac.center"), 6, "one center call per run");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_without_an_enabled_url_of_the_kind_exits_1_naming_both() {
    use tokenkit::sandbox::ac::{AcCluster, AcUrl, AcUrls};
    use tokenkit::sandbox::{Sandbox as InProcess, SandboxConfig};

    let mut config = SandboxConfig::default();
    config.ac.clusters = vec![
        AcCluster::new("0", "ac"),
        AcCluster::new("11112", "华东一区").with_urls(AcUrls {
            hpc: vec![AcUrl::enabled(HPC)],
            efile: vec![AcUrl::disabled(EFILE_OLD)],
            ai: Vec::new(),
        }),
    ];
    let sandbox = InProcess::start(config).await.expect("sandbox");
    let base = sandbox.base_url();
    let center = |kind: &str| {
        run(ac("center", &base, Login::Password)
            .args(["--cluster", "11112", "--kind", kind])
            .env_remove("TOKENKIT_LOG"))
    };
    let hpc = tokio::task::block_in_place(|| center("hpc"));
    assert_eq!(line(&hpc), HPC);
    for kind in ["efile", "ai"] {
        let output = tokio::task::block_in_place(|| center(kind));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{kind}: {err}");
        assert!(output.stdout.is_empty(), "{kind}: nothing on stdout");
        assert_eq!(err.lines().count(), 1, "{kind}: one line: {err}");
        assert!(
            err.starts_with("error: ")
                && err.contains("region 华东一区 (11112)")
                && err.contains(&format!(" {kind} URL")),
            "{kind}: {err}"
        );
    }
    // The listing still shows what there is.
    let text = tokio::task::block_in_place(|| {
        run(ac("center", &base, Login::Password).args(["--cluster", "11112"]))
    });
    let text = ok(&text);
    assert!(
        text.contains(&format!("  efile {EFILE_OLD} disabled")) && text.contains("  ai none"),
        "{text}"
    );
}

#[test]
fn conflicting_or_missing_logins_and_unknown_kinds_are_usage_errors() {
    let base = ["--base-url", NOWHERE, "--user", "demo"];
    let cases: Vec<(&str, Output)> = vec![
        (
            "--password",
            run(tokenkit()
                .args(["ac", "token"])
                .args(base)
                .args(["--access-key", ACCESS_KEY, "--password", SENTINEL])
                .env("TOKENKIT_AC_SECRET_KEY", SECRET_KEY)),
        ),
        (
            "--org-id",
            run(tokenkit()
                .args(["ac", "login"])
                .args(base)
                .args(["--org-id", "demo-org", "--access-key", ACCESS_KEY])
                .env("TOKENKIT_AC_PASSWORD", SENTINEL)
                .env("TOKENKIT_AC_SECRET_KEY", SENTINEL)),
        ),
        (
            "--access-key",
            run(tokenkit()
                .args(["ac", "token"])
                .args(base)
                .env("TOKENKIT_AC_PASSWORD", SENTINEL)),
        ),
        (
            "--kind",
            run(tokenkit()
                .args(["ac", "center"])
                .args(base)
                .args(["--access-key", ACCESS_KEY, "--cluster", "11112"])
                .args(["--kind", "gpu"])
                .env("TOKENKIT_AC_SECRET_KEY", SENTINEL)),
        ),
        (
            "--cluster",
            run(tokenkit()
                .args(["ac", "center"])
                .args(base)
                .args(["--access-key", ACCESS_KEY])
                .env("TOKENKIT_AC_SECRET_KEY", SENTINEL)),
        ),
        (
            "platform token",
            run(tokenkit()
                .args(["ac", "center"])
                .args(base)
                .args(["--access-key", ACCESS_KEY, "--cluster", "0"])
                .env("TOKENKIT_AC_SECRET_KEY", SENTINEL)),
        ),
    ];
    for (says, output) in &cases {
        let err = stderr(output);
        assert_eq!(output.status.code(), Some(2), "{says}: {err}");
        assert!(output.stdout.is_empty(), "{says}");
        assert!(err.contains(says), "{says}: {err}");
        assert!(!err.contains("SENTINEL"), "{says}: {err}");
    }
    let both = stderr(&cases[0].1);
    assert!(both.contains("cannot be used with"), "{both}");
    let neither = stderr(&cases[2].1);
    assert!(
        neither.contains("--org-id") && neither.contains("--access-key"),
        "{neither}"
    );
    let gpu = stderr(&cases[3].1);
    assert!(gpu.contains("hpc, efile, ai"), "{gpu}");

    // An exported password does not stand in the way of --access-key, and an access
    // key without its secret key is one clear line (exit 1, as a missing password).
    let missing = run(tokenkit()
        .args(["ac", "token"])
        .args(base)
        .args(["--access-key", ACCESS_KEY])
        .env("TOKENKIT_AC_PASSWORD", SENTINEL));
    let err = stderr(&missing);
    assert_eq!(missing.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("TOKENKIT_AC_SECRET_KEY"), "{err}");
}

#[test]
fn processes_of_three_clusters_started_at_once_make_one_login() {
    for login in [Login::Password, Login::AccessKey] {
        let sandbox = Sandbox::start();
        let base = sandbox.base_url();
        let dir = store_dir(&format!("at-once-{login:?}"));
        let store = file_store(&dir);
        // Each cluster twice: six processes racing for one account's login.
        let children: Vec<_> = ["0", "11112", "华东一区", "0", "11112", "华东一区"]
            .iter()
            .map(|cluster| {
                ac("token", &base, login)
                    .args(["--cluster", cluster, "--store", &store])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn tokenkit")
            })
            .collect();
        let tokens: Vec<String> = children
            .into_iter()
            .map(|child| line(&child.wait_with_output().expect("wait")))
            .collect();
        let (password, access_key) = logins(&sandbox);
        assert_eq!(
            password + access_key,
            1,
            "{login:?}: one login for every process"
        );
        assert_eq!(tokens[0], tokens[3], "one token per cluster");
        assert_eq!(tokens[1], tokens[2], "11112 is 华东一区");
        assert_ne!(tokens[0], tokens[1]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
