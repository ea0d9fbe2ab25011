//! The life of a `tokenkit agent` process: it serves before its first token arrives, a
//! grant that cannot be had does not stop the others, `SIGHUP` reloads the config
//! (keeping unchanged grants' tokens, refusing a broken file), and `SIGTERM`/`SIGINT`
//! drain the requests in progress, remove the socket and exit 0.

mod agent_support;
mod common;

use agent_support::{Agent, DEADLINE, Setup, Via, ac_grant, ac_grant_as, ac_key_grant, eventually};
use common::Sandbox;
use serde_json::Value;

/// A grant's status in `/v1/health`.
async fn status(agent: &Agent, grant: &str) -> Value {
    agent.health().await["grants"][grant].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_before_its_first_token_arrives() {
    // The login takes 1.5 s; the agent is listening (and answering) long before.
    let sandbox = Sandbox::start_with(&["--latency-ms", "1500"]);
    let agent = Agent::start(
        "starting",
        Setup::unix().table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let health = agent.health().await;
    let grant = &health["grants"]["hpc"];
    assert_eq!(grant["platform"], "ac");
    assert!(
        grant["status"] == "starting" || grant["status"] == "ok",
        "health answers while the login is in flight: {grant}"
    );
    let reply = agent.token(Via::Unix, "hpc").await;
    assert_eq!(
        reply.status,
        200,
        "the request waits for the login: {}",
        reply.summary()
    );
    assert_eq!(status(&agent, "hpc").await["status"], "ok");
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_outwaits_wait_ms_gets_503_while_the_login_goes_on() {
    // The login takes 1.5 s, a request waits 300 ms.
    let sandbox = Sandbox::start_with(&["--latency-ms", "1500"]);
    let agent = Agent::start(
        "wait",
        Setup::unix()
            .setting("wait_ms = 300")
            .table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let early = agent.token(Via::Unix, "hpc").await;
    assert_eq!(early.status, 503, "{}", early.summary());
    assert_eq!(early.kind(), "unavailable");
    assert_eq!(
        early.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    // The caller that gave up did not cancel the login: it arrives, once.
    eventually("the token after the login", DEADLINE, || async {
        let reply = agent.token(Via::Unix, "hpc").await;
        (reply.status == 200).then_some(())
    })
    .await;
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "one login however often asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_that_cannot_be_had_does_not_stop_the_others() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    // A platform that is not there: a port nobody listens on any more.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!("http://{}", listener.local_addr().expect("its address"))
    };
    let agent = Agent::start(
        "partial",
        Setup::unix()
            .setting("wait_ms = 3000")
            .table(ac_grant("good", &base, "11112"))
            .table(ac_grant_as(
                "broken",
                &base,
                "demo",
                "TOKENKIT_TEST_NEVER_SET",
            ))
            .table(ac_grant("dead", &dead, "0")),
    );
    let good = agent.token(Via::Unix, "good").await;
    assert_eq!(good.status, 200, "{}", good.summary());

    let broken = status(&agent, "broken").await;
    assert_eq!(broken["status"], "misconfigured", "{broken}");
    let why = broken["last_error"].as_str().expect("a last_error");
    assert!(
        why.contains("TOKENKIT_TEST_NEVER_SET"),
        "it names the variable: {why}"
    );
    let reply = agent.token(Via::Unix, "broken").await;
    assert_eq!(reply.status, 500, "{}", reply.summary());
    assert_eq!(reply.kind(), "misconfigured");

    let dead_health = eventually("the dead platform's grant degraded", DEADLINE, || async {
        let grant = status(&agent, "dead").await;
        (grant["status"] == "degraded").then_some(grant)
    })
    .await;
    assert!(
        dead_health["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "a degraded grant says why: {dead_health}"
    );
    let reply = agent.token(Via::Unix, "dead").await;
    assert!(
        reply.status == 503 || reply.status == 502,
        "a dead platform is unavailable, within wait_ms: {}",
        reply.summary()
    );
    if reply.status == 503 {
        assert_eq!(reply.kind(), "unavailable");
        assert!(
            reply.headers.contains_key("retry-after"),
            "503 says when to retry"
        );
    }

    let health = agent.health().await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["grants"]["good"]["status"], "ok");
    let again = agent.token(Via::Unix, "good").await;
    assert_eq!(
        again.access_token(),
        good.access_token(),
        "the good grant serves on"
    );
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_a_grant_keeps_unchanged_tokens_and_refuses_a_broken_config() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    let one = Setup::unix().table(ac_grant("hpc", &base, "11112"));
    let mut agent = Agent::start("reload", one.clone());
    let before = agent.token(Via::Unix, "hpc").await.access_token();
    assert_eq!(sandbox.count("ac.tokens"), 1);

    agent.rewrite(one.clone().table(ac_key_grant("east", &base, "0")));
    agent.signal("HUP");
    let stderr = agent
        .wait_stderr("tokenkit agent: reloaded (added [\"grants.east\"], changed [], removed [])")
        .await;
    assert!(!stderr.contains("reload refused"), "{stderr}");
    let east = eventually("the new grant serves", DEADLINE, || async {
        let reply = agent.token(Via::Unix, "east").await;
        (reply.status == 200).then(|| reply.access_token())
    })
    .await;
    assert_eq!(sandbox.count("ac.ak_tokens"), 1, "the new grant logged in");
    let after = agent.token(Via::Unix, "hpc").await.access_token();
    assert_eq!(after, before, "the unchanged grant kept its token");
    assert_eq!(sandbox.count("ac.tokens"), 1, "and made no new login");

    // A broken file: refused, and the running config serves on.
    agent.write_raw_config("[listen\nunix = ");
    agent.signal("HUP");
    agent.wait_stderr("tokenkit agent: reload refused:").await;
    assert_eq!(agent.token(Via::Unix, "hpc").await.access_token(), before);
    assert_eq!(agent.token(Via::Unix, "east").await.access_token(), east);

    // A changed grant is rebuilt over the same store: it adopts the stored token.
    let changed = format!("{}auth_url = \"{base}\"\n", ac_grant("hpc", &base, "11112"));
    agent.rewrite(
        Setup::unix()
            .table(changed)
            .table(ac_key_grant("east", &base, "0")),
    );
    agent.signal("HUP");
    agent
        .wait_stderr("reloaded (added [], changed [\"grants.hpc\"], removed [])")
        .await;
    assert_eq!(agent.token(Via::Unix, "hpc").await.access_token(), before);
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "the changed grant adopted the token"
    );

    // A grant removed from the file stops being served.
    agent.rewrite(Setup::unix().table(ac_key_grant("east", &base, "0")));
    agent.signal("HUP");
    agent
        .wait_stderr("reloaded (added [], changed [], removed [\"grants.hpc\"])")
        .await;
    let gone = agent.token(Via::Unix, "hpc").await;
    assert_eq!(gone.status, 404, "{}", gone.summary());
    assert_eq!(agent.token(Via::Unix, "east").await.access_token(), east);
    assert_eq!(sandbox.count("ac.ak_tokens"), 1, "east kept its token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_waiting_request_finish_then_exits_0_without_its_socket() {
    // The first login takes 1.5 s: the request below is still waiting for it when the
    // agent is told to stop.
    let sandbox = Sandbox::start_with(&["--latency-ms", "1500"]);
    let mut agent = Agent::start(
        "drain",
        Setup::unix().table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let socket = agent.socket();
    let api = agent.api();
    let waiting = tokio::spawn(async move { api.token(Via::Unix, "hpc").await });
    eventually("the token request waiting", DEADLINE, || async {
        let metrics = agent.metrics().await;
        (metrics.get("cache_waits_total", "hpc") == 1).then_some(metrics)
    })
    .await;
    assert_eq!(
        status(&agent, "hpc").await["status"],
        "starting",
        "the login is still in flight when SIGTERM comes (the sandbox's latency is 1.5 s)"
    );
    agent.signal("TERM");
    let reply = waiting.await.expect("the request task");
    assert_eq!(
        reply.status,
        200,
        "the waiting request is served: {}",
        reply.summary()
    );
    let exit = agent.wait_exit().await;
    assert_eq!(exit.code(), Some(0), "stderr: {}", agent.stderr());
    assert!(!socket.exists(), "the socket file is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_agent_like_sigterm() {
    let sandbox = Sandbox::start();
    let mut agent = Agent::start(
        "interrupt",
        Setup::unix().table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let socket = agent.socket();
    assert_eq!(agent.token(Via::Unix, "hpc").await.status, 200);
    agent.signal("INT");
    let exit = agent.wait_exit().await;
    assert_eq!(exit.code(), Some(0), "stderr: {}", agent.stderr());
    assert!(!socket.exists(), "the socket file is removed");
    // Nothing listens any more.
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_err());
}

#[test]
fn an_agent_that_cannot_listen_announces_nothing_calls_no_platform_and_leaves_no_socket() {
    let sandbox = Sandbox::start();
    // The TCP port is taken (by this test), the socket is free.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let exited = Agent::run_to_exit(
        "port-taken",
        Setup::unix()
            .tcp(&addr)
            .table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    assert_eq!(exited.status.code(), Some(1), "stderr: {}", exited.stderr);
    assert!(
        exited.stderr.contains(&addr),
        "the error names the address: {}",
        exited.stderr
    );
    assert!(
        !exited.stdout.contains("listening"),
        "no listener is announced by an agent that does not serve: {}",
        exited.stdout
    );
    assert!(!exited.left_socket, "no socket is left behind");
    assert_eq!(sandbox.count("ac.tokens"), 0, "no platform was called");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_socket_is_refused_and_a_stale_one_is_replaced() {
    let sandbox = Sandbox::start();
    let setup = Setup::unix().table(ac_grant("hpc", &sandbox.base_url(), "11112"));
    let mut first = Agent::start("socket", setup.clone());
    let token = first.token(Via::Unix, "hpc").await.access_token();
    assert_eq!(sandbox.count("ac.tokens"), 1);

    let second = Agent::run_to_exit_in(first.dir(), setup.clone());
    assert_eq!(second.status.code(), Some(1), "stderr: {}", second.stderr);
    assert!(
        second.stderr.contains("another agent is listening"),
        "{}",
        second.stderr
    );
    assert!(!second.stdout.contains("listening"), "{}", second.stdout);
    assert_eq!(
        sandbox.count("ac.tokens"),
        1,
        "the refused agent called no platform"
    );
    let still = first.token(Via::Unix, "hpc").await;
    assert_eq!(still.access_token(), token, "the first agent serves on");

    // An agent killed without its drain leaves its socket: the next one replaces it.
    first.signal("KILL");
    first.wait_exit().await;
    assert!(
        first.socket().exists(),
        "a killed agent leaves a stale socket"
    );
    let third = Agent::start_in(first.dir(), setup);
    let reply = third.token(Via::Unix, "hpc").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
}
