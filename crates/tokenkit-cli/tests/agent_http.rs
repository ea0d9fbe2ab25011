//! The agent's `[http]` table in real processes: a `tokenkit agent` whose
//! `http.proxy` comes from its environment sends every platform's requests (ac, bo,
//! ilab) through a real local forward proxy with the proxy's credentials, which never
//! reach its stderr; a wrong proxy password is a clear error; `proxy = false` ignores
//! the environment's proxies; `http.ca_file` (relative to the config file) makes a TLS
//! front end with a CA generated at test time trusted; a `SIGHUP` that changes the
//! proxy rebuilds the clients, and one that breaks it is refused; `--check` and the
//! start validate the table.

mod agent_support;
mod common;
#[path = "../../tokenkit-core/tests/support/proxy.rs"]
mod proxy;
#[path = "../../tokenkit-core/tests/support/tls_front.rs"]
mod tls_front;

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_support::{
    Agent, DEADLINE, Setup, Via, ac_accepts, ac_grant, assert_no_secret, bo_grant, bo_session,
    eventually, ilab_app, ilab_ticket,
};
use common::Sandbox;
use proxy::{TestProxy, basic};
use tls_front::TlsFront;

/// The proxy's password: it must appear in no output of the agent.
const PASSWORD: &str = "SENTINEL-PW-agent-proxy-c4e9";
/// The agent's variable holding the proxy URL (an `{ env = … }` source).
const PROXY_VAR: &str = "TOKENKIT_AGENT_HTTP_TEST_PROXY";
const BO_REFRESH_VAR: &str = "TOKENKIT_AGENT_HTTP_TEST_BO_REFRESH";

/// An agent on its socket whose environment names no host to bypass a proxy for (as
/// with curl's `-x`, `NO_PROXY` applies to `http.proxy` too, and the test's own
/// environment may have one).
fn without_no_proxy() -> Setup {
    Setup::unix().env("NO_PROXY", "").env("no_proxy", "")
}

/// Every platform request the sandbox has counted.
fn platform_requests(sandbox: &Sandbox) -> u64 {
    let stats = sandbox.call("GET", "/_sandbox/stats", None);
    stats["requests"]
        .as_object()
        .map_or(0, |routes| routes.values().filter_map(|n| n.as_u64()).sum())
}

/// A directory for an agent whose config names files that must exist before it starts
/// (a CA file, a proxy URL file); removed on drop, after the agent (declare it first).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "agent-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).expect("create the agent's directory");
        Self(dir)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(file), text).expect("write a file of the agent");
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_platforms_requests_go_through_the_proxy_of_http_proxy_with_its_credentials() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    let proxy = TestProxy::with_credentials("alice", PASSWORD);
    let (_, refresh) = bo_session(&sandbox, "u-http-1");
    let (ticket, _) = ilab_ticket(&sandbox, "u-http-2", "Proxy User");
    let before = platform_requests(&sandbox);
    let agent = Agent::start(
        "http-proxy",
        without_no_proxy()
            .log("trace")
            .env(PROXY_VAR, &proxy.url_with("alice", PASSWORD))
            .env(BO_REFRESH_VAR, &refresh)
            .table(format!("[http]\nproxy = {{ env = \"{PROXY_VAR}\" }}\n"))
            .table(ac_grant("ac", &base, "0"))
            .table(bo_grant("bo", &base, BO_REFRESH_VAR))
            .table(ilab_app("lab", &base)),
    );

    let ac = agent.token(Via::Unix, "ac").await;
    assert_eq!(ac.status, 200, "{}", ac.summary());
    assert!(
        ac_accepts(&sandbox, &ac.access_token()),
        "the platform's own token"
    );
    let bo = agent.token(Via::Unix, "bo").await;
    assert_eq!(bo.status, 200, "{}", bo.summary());
    let launched = agent.launch(Via::Unix, "lab", &ticket).await;
    assert_eq!(launched.status, 201, "{}", launched.summary());
    assert_eq!(launched.body["un"], "u-http-2");

    // Every platform request the sandbox got came through the proxy (which records a
    // request before it forwards it), with the proxy's credentials.
    let seen = eventually(
        "the proxy to have seen every platform request",
        DEADLINE,
        || {
            let seen = proxy.seen();
            let arrived = platform_requests(&sandbox) - before;
            let all = u64::try_from(seen.len()).expect("a count") == arrived;
            async move { all.then_some(seen) }
        },
    )
    .await;
    let credentials = basic("alice", PASSWORD);
    for path in [
        "/ac/openapi/v2/tokens",
        "/bo/api/v3/auth/token/refresh",
        "/oauth/token/accesstoken",
    ] {
        assert!(
            seen.iter()
                .any(|s| s.request_line.contains(&format!(" {base}{path}"))),
            "the proxy saw no request of {path}: {:?}",
            // Without the queries (an ilab exchange's holds its ticket).
            seen.iter()
                .map(|s| s.request_line.split('?').next())
                .collect::<Vec<_>>()
        );
    }
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some(credentials.as_str())),
        "every request carried the proxy's credentials"
    );
    assert_no_secret(
        &agent.stderr(),
        &[PASSWORD.to_owned(), credentials.clone()],
        "the agent's stderr (TOKENKIT_LOG=trace)",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_proxy_password_is_a_clear_error_that_shows_no_password() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::with_credentials("alice", PASSWORD);
    let wrong = format!("{PASSWORD}-wrong");
    let agent = Agent::start(
        "http-proxy-407",
        without_no_proxy()
            .log("debug")
            .env(PROXY_VAR, &proxy.url_with("alice", &wrong))
            .table(format!("[http]\nproxy = {{ env = \"{PROXY_VAR}\" }}\n"))
            .table(ac_grant("ac", &sandbox.base_url(), "0")),
    );
    let reply = agent.token(Via::Unix, "ac").await;
    assert_eq!(reply.status, 500, "{}", reply.summary());
    assert_eq!(reply.kind(), "misconfigured");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the proxy refused the request") && message.contains("407"),
        "{}",
        reply.summary()
    );
    assert!(!proxy.seen().is_empty(), "the proxy was asked");
    assert_eq!(
        sandbox.count("ac.tokens"),
        0,
        "the login never passed the proxy"
    );
    let secrets = [wrong.clone(), basic("alice", &wrong)];
    assert_no_secret(&reply.text, &secrets, "the error answer");
    assert_no_secret(&agent.stderr(), &secrets, "the agent's stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_of_proxy_bypass_are_reached_directly_whatever_no_proxy_says() {
    let sandbox = Sandbox::start();
    let proxy = TestProxy::open();
    let http = format!("[http]\nproxy = \"{}\"\n", proxy.url());
    // The list replaces NO_PROXY, which would send 127.0.0.1 through the proxy.
    let bypassing = Agent::start(
        "http-bypass",
        Setup::unix()
            .env("NO_PROXY", "localhost")
            .table(format!("{http}proxy_bypass = [\"127.0.0.1\"]\n"))
            .table(ac_grant("ac", &sandbox.base_url(), "0")),
    );
    // An inline proxy URL works, with a warning naming the key.
    bypassing
        .wait_stderr("warning: http.proxy is written in the config file")
        .await;
    let reply = bypassing.token(Via::Unix, "ac").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    drop(bypassing);

    // `[]` bypasses nothing, whatever NO_PROXY says.
    let proxied = Agent::start(
        "http-bypass-none",
        Setup::unix()
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .table(format!("{http}proxy_bypass = []\n"))
            .table(ac_grant("ac", &sandbox.base_url(), "0")),
    );
    let reply = proxied.token(Via::Unix, "ac").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert_eq!(proxy.seen().len(), 1, "the login went through the proxy");
    assert_eq!(sandbox.count("ac.tokens"), 2, "each agent logged in once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_trusts_a_private_ca_and_proxy_false_ignores_the_environments_proxies() {
    let sandbox = Sandbox::start();
    let front = TlsFront::start(sandbox.base_url().trim_start_matches("http://"));
    // Proxies of the environment that `proxy = false` must not use.
    let ignored = TestProxy::open();
    let grant = ac_grant("ac", &front.base_url(), "0");
    let setup = |http: &str| {
        Setup::unix()
            .env("HTTPS_PROXY", &ignored.url())
            .env("HTTP_PROXY", &ignored.url())
            .env("ALL_PROXY", &ignored.url())
            .table(format!("[http]\nproxy = false\n{http}"))
            .table(grant.clone())
    };

    // Without the CA the platform's certificate is not trusted, and the answer says so.
    let untrusting = Agent::start("http-no-ca", setup(""));
    let refused = untrusting.token(Via::Unix, "ac").await;
    assert_eq!(refused.status, 500, "{}", refused.summary());
    assert!(
        refused
            .text
            .contains("the server's TLS certificate is not trusted"),
        "{}",
        refused.summary()
    );
    drop(untrusting);
    assert_eq!(sandbox.count("ac.tokens"), 0);

    // With it, relative to the config file's directory (the agent runs elsewhere).
    let dir = Dir::new("http-ca");
    dir.write("campus-ca.pem", front.ca_pem());
    let agent = Agent::start_in(dir.path(), setup("ca_file = \"campus-ca.pem\"\n"));
    let reply = agent.token(Via::Unix, "ac").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert!(ac_accepts(&sandbox, &reply.access_token()));
    assert_eq!(sandbox.count("ac.tokens"), 1);
    assert!(ignored.seen().is_empty(), "{:?}", ignored.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_changes_the_proxy_rebuilds_the_clients_and_a_broken_one_is_refused() {
    let sandbox = Sandbox::start();
    let first = TestProxy::open();
    let second = TestProxy::open();
    let dir = Dir::new("http-reload");
    dir.write("proxy-url", &format!("{}\n", first.url()));
    let setup = without_no_proxy()
        .table("[http]\nproxy = { file = \"proxy-url\" }\n".to_owned())
        .table(ac_grant("ac", &sandbox.base_url(), "0"));
    let agent = Agent::start_in(dir.path(), setup);
    let token = agent.token(Via::Unix, "ac").await.access_token();
    assert_eq!(first.seen().len(), 1, "the login: {:?}", first.seen());

    // Unchanged: the grant and its clients are kept.
    agent.signal("HUP");
    let stderr = agent
        .wait_stderr("reloaded (added [], changed [], removed [])")
        .await;
    assert!(!stderr.contains("[http] changed"), "{stderr}");

    // Another proxy URL in the file: every client is rebuilt, the token is kept (the
    // store holds it), and the next platform request goes through the new proxy.
    dir.write("proxy-url", &format!("{}\n", second.url()));
    agent.signal("HUP");
    let stderr = agent.wait_stderr("changed [\"grants.ac\"]").await;
    assert!(stderr.contains("[http] changed"), "{stderr}");
    let kept = agent.token(Via::Unix, "ac").await.access_token();
    assert_eq!(kept, token, "the rebuilt grant adopted the stored token");
    let renewed = agent.refused(Via::Unix, "ac", &token).await;
    assert_eq!(renewed.status, 200, "{}", renewed.summary());
    assert_ne!(renewed.access_token(), token);
    assert!(
        !second.seen().is_empty(),
        "the renewal went through the new proxy"
    );
    assert_eq!(first.seen().len(), 1, "and not through the old one");

    // A proxy URL that cannot be used: the reload is refused without quoting it, and
    // the agent serves on with the previous clients.
    dir.write(
        "proxy-url",
        &format!("socks5://alice:{PASSWORD}@127.0.0.1:1080\n"),
    );
    agent.signal("HUP");
    let stderr = agent.wait_stderr("reload refused").await;
    assert!(
        stderr.contains("http.proxy: the proxy URL must be http:// or https://"),
        "{stderr}"
    );
    assert_no_secret(&stderr, &[PASSWORD.to_owned()], "the agent's stderr");
    let still = agent.token(Via::Unix, "ac").await;
    assert_eq!(still.access_token(), renewed.access_token());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_table_that_cannot_be_used_stops_the_start_and_fails_the_check() {
    let sandbox = Sandbox::start();
    let grant = ac_grant("ac", &sandbox.base_url(), "0");
    let unset = Setup::unix()
        .table("[http]\nproxy = { env = \"TOKENKIT_AGENT_HTTP_TEST_UNSET\" }\n".to_owned())
        .table(grant.clone());
    let exited = Agent::run_to_exit("http-unset", unset.clone());
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stderr);
    assert!(
        exited.stderr.contains(
            "http.proxy: the environment variable TOKENKIT_AGENT_HTTP_TEST_UNSET is not set"
        ),
        "{}",
        exited.stderr
    );
    assert!(!exited.stdout.contains("listening"), "{}", exited.stdout);
    assert!(!exited.left_socket);
    assert_eq!(platform_requests(&sandbox), 0, "no platform was called");

    // `--check` finds the same, and a proxy URL it cannot use, without quoting it.
    let dir = Dir::new("http-check");
    let check = |setup: &Setup| {
        dir.write("agent.toml", &setup.text());
        let output = Command::new(env!("CARGO_BIN_EXE_tokenkit"))
            .args(["agent", "--check", "--config"])
            .arg(dir.path().join("agent.toml"))
            .env_remove("TOKENKIT_AGENT_HTTP_TEST_UNSET")
            .env("TOKENKIT_AC_PASSWORD", "demo-password")
            .output()
            .expect("run tokenkit agent --check");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    let (code, _, stderr) = check(&unset);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("http.proxy") && stderr.contains("TOKENKIT_AGENT_HTTP_TEST_UNSET"));

    let inline = Setup::unix()
        .table(format!(
            "[http]\nproxy = \"socks5://alice:{PASSWORD}@127.0.0.1:1080\"\n"
        ))
        .table(grant.clone());
    let (code, stdout, stderr) = check(&inline);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("http.proxy is written in the config file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("http.proxy: the proxy URL must be http://"),
        "{stderr}"
    );
    assert_no_secret(
        &format!("{stdout}{stderr}"),
        &[PASSWORD.to_owned()],
        "--check",
    );

    let missing_ca = Setup::unix()
        .table("[http]\nca_file = \"no-such-ca.pem\"\n".to_owned())
        .table(grant.clone());
    let (code, _, stderr) = check(&missing_ca);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("http.ca_file: cannot read the CA file"),
        "{stderr}"
    );

    let front = TlsFront::start(sandbox.base_url().trim_start_matches("http://"));
    dir.write("ca.pem", front.ca_pem());
    let good = Setup::unix()
        .table("[http]\nproxy = false\nca_file = \"ca.pem\"\n".to_owned())
        .table(grant);
    let (code, stdout, stderr) = check(&good);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "config ok: ac (ac)");
}
