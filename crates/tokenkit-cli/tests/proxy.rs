//! Proxies as `tokenkit` processes meet them: the environment's `HTTP_PROXY`,
//! `HTTPS_PROXY` and `NO_PROXY` (process-wide, so tried in child processes), and
//! `--proxy` / `TOKENKIT_PROXY`, which win over the environment — through real local
//! forward proxies to a `tokenkit sandbox` process.

mod common;
#[path = "../../tokenkit-core/tests/support/proxy.rs"]
mod proxy;
#[path = "../../tokenkit-core/tests/support/tls_front.rs"]
mod tls_front;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::Sandbox;
use proxy::{TestProxy, basic};
use tls_front::TlsFront;

const SENTINEL: &str = "SENTINEL-PW-cli-proxy-2b8e44";
const LOGIN: &str = "/ac/openapi/v2/tokens";

/// Every variable that could route a request elsewhere.
const PROXY_VARIABLES: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
    "TOKENKIT_PROXY",
];

/// `tokenkit ac token` (a password login) against `base_url`, with no proxy variable
/// of the test's own environment.
fn ac_token(base_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    for variable in PROXY_VARIABLES {
        command.env_remove(variable);
    }
    command
        .env_remove("TOKENKIT_AC_SECRET_KEY")
        .env_remove("TOKENKIT_REFUSED_TOKEN")
        .env("TOKENKIT_AC_PASSWORD", "demo-password")
        .env("TOKENKIT_LOG", "trace")
        .args(["ac", "token", "--base-url", base_url])
        .args(["--user", "demo", "--org-id", "demo-org"]);
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run tokenkit")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        stderr(output)
    );
    assert!(!output.stdout.is_empty(), "a token was printed");
}

/// The request line of the login through a proxy, in absolute form.
fn login_line(sandbox: &Sandbox) -> String {
    format!("POST {}{LOGIN} HTTP/1.1", sandbox.base_url())
}

#[test]
fn http_proxy_of_the_environment_carries_the_requests() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::open();
    succeeded(&run(
        ac_token(&sandbox.base_url()).env("HTTP_PROXY", proxy.url())
    ));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].request_line, login_line(&sandbox));
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[test]
fn no_proxy_bypasses_the_proxy_of_the_environment() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::open();
    succeeded(&run(ac_token(&sandbox.base_url())
        .env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", "127.0.0.1")));
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[test]
fn the_proxy_flag_and_variable_win_over_the_environments_proxy() {
    let sandbox = Sandbox::start();
    let ignored = TestProxy::open();
    let chosen = TestProxy::open();
    succeeded(&run(ac_token(&sandbox.base_url())
        .env("HTTP_PROXY", ignored.url())
        .args(["--proxy", &chosen.url()])));
    succeeded(&run(ac_token(&sandbox.base_url())
        .env("HTTP_PROXY", ignored.url())
        .env("TOKENKIT_PROXY", chosen.url())));
    assert!(ignored.seen().is_empty(), "{:?}", ignored.seen());
    let seen = chosen.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|s| s.request_line == login_line(&sandbox)));
}

/// As with curl's `-x`, NO_PROXY still names the hosts reached directly.
#[test]
fn no_proxy_applies_to_the_proxy_flag_too() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::open();
    succeeded(&run(ac_token(&sandbox.base_url())
        .env("NO_PROXY", "localhost,127.0.0.1")
        .args(["--proxy", &proxy.url()])));
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[test]
fn the_proxys_credentials_are_sent_and_a_wrong_password_is_a_clear_error() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::with_credentials("alice", SENTINEL);
    succeeded(&run(
        ac_token(&sandbox.base_url()).env("TOKENKIT_PROXY", proxy.url_with("alice", SENTINEL))
    ));
    assert_eq!(
        proxy.seen()[0].authorization.as_deref(),
        Some(basic("alice", SENTINEL).as_str())
    );
    assert_eq!(sandbox.count("ac.tokens"), 1);

    let wrong = format!("{SENTINEL}-wrong");
    let output =
        run(ac_token(&sandbox.base_url()).args(["--proxy", &proxy.url_with("alice", &wrong)]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("the proxy refused the request"), "{err}");
    assert!(err.contains("407"), "{err}");
    for text in [&err, &String::from_utf8_lossy(&output.stdout).into_owned()] {
        assert!(!text.contains(SENTINEL), "{text}");
    }
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "the refused login never arrived"
    );
}

#[test]
fn https_proxy_of_the_environment_tunnels_https_requests() {
    let sandbox = Sandbox::start();
    let front = TlsFront::start(sandbox.base_url().trim_start_matches("http://"));
    let ca = ca_file("https-proxy", front.ca_pem());
    let proxy = TestProxy::open();
    succeeded(&run(ac_token(&front.base_url())
        .env("HTTPS_PROXY", proxy.url())
        .arg("--ca-file")
        .arg(&ca)));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].request_line,
        format!("CONNECT {} HTTP/1.1", front.addr())
    );
}

#[test]
fn a_bad_proxy_url_is_a_clear_error_that_does_not_quote_it() {
    let output = run(ac_token("http://127.0.0.1:9").args([
        "--proxy",
        &format!("socks5://alice:{SENTINEL}@127.0.0.1:1080"),
    ]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("the proxy URL must be http:// or https://"),
        "{err}"
    );
    assert!(!err.contains(SENTINEL), "{err}");
}

fn ca_file(name: &str, pem: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("proxy-{name}-{}.pem", std::process::id()));
    std::fs::write(&path, pem).expect("write the CA file");
    path
}
