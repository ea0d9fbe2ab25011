//! Who may ask `tokenkit agent` for tokens, tested against the real process: the
//! `Tokenkit-Agent` header on every `/v1` route, the TCP `Host` check (DNS rebinding),
//! the TCP bearer, the socket's mode, the loopback rule at start, and no token or
//! secret on stderr even at debug level.

mod agent_support;
mod common;

use std::os::unix::fs::PermissionsExt;

use agent_support::{
    Agent, Reply, Setup, Via, ac_grant, ac_grant_as, ac_key_grant, bo_grant, ilab_app, ilab_ticket,
    json, send,
};
use common::Sandbox;
use reqwest::Method;
use serde_json::json;

/// Every `/v1` route, with a body its POST would accept.
fn routes(ticket: &str) -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::GET, "/v1/grants/hpc/token", None),
        (
            Method::POST,
            "/v1/grants/hpc/refused",
            Some(json!({"token": "a-token"})),
        ),
        (
            Method::POST,
            "/v1/ilab/demo/sessions",
            Some(json!({"ticket": ticket})),
        ),
        (Method::GET, "/v1/ilab/demo/sessions/u1/token", None),
        (
            Method::POST,
            "/v1/ilab/demo/sessions/u1/refused",
            Some(json!({"token": "a-token"})),
        ),
        (Method::GET, "/v1/health", None),
    ]
}

fn assert_forbidden(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.summary());
    assert_eq!(reply.kind(), "forbidden", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v1_route_needs_the_agent_header_and_tcp_needs_the_agents_host() {
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    let agent = Agent::start(
        "header",
        Setup::unix()
            .tcp("127.0.0.1:0")
            .table(ac_grant("hpc", &base, "11112"))
            .table(ilab_app("demo", &base)),
    );
    let mode = std::fs::metadata(agent.socket())
        .expect("the socket exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is the owner's only");

    // A real ticket: a refused launch must not spend it.
    let (ticket, _) = ilab_ticket(&sandbox, "u1", "User One");
    let port = agent.tcp_addr().port();
    for via in [Via::Unix, Via::Tcp] {
        for (method, path, body) in routes(&ticket) {
            let what = format!("{method} {path} over {via:?}");
            let with_body = |request: reqwest::RequestBuilder| match &body {
                Some(body) => json(request, body),
                None => request,
            };
            let bare = with_body(agent.bare(via, method.clone(), path));
            assert_forbidden(&send(bare).await, &format!("{what} without the header"));
            for wrong in ["0", "true", "11", ""] {
                let request = agent
                    .bare(via, method.clone(), path)
                    .header("Tokenkit-Agent", wrong);
                let reply = send(with_body(request)).await;
                assert_forbidden(&reply, &format!("{what} with Tokenkit-Agent: {wrong:?}"));
            }
            if via == Via::Tcp {
                // A DNS-rebinding page: same origin to the browser, so it could set the
                // header; its Host gives it away.
                for host in [format!("evil.example:{port}"), "evil.example".into()] {
                    let request = agent
                        .request(via, method.clone(), path)
                        .header("Host", host.as_str());
                    let reply = send(with_body(request)).await;
                    assert_forbidden(&reply, &format!("{what} with Host: {host}"));
                }
            }
        }
    }
    assert_eq!(
        sandbox.count("ilab.accesstoken"),
        0,
        "no refused request reached the platform"
    );

    // The same requests with the header are served, over both listeners and under
    // each of the agent's own host names.
    let launched = agent
        .post(
            Via::Unix,
            "/v1/ilab/demo/sessions",
            &json!({"ticket": ticket}),
        )
        .await;
    assert_eq!(launched.status, 201, "{}", launched.summary());
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let request = agent
            .request(Via::Tcp, Method::GET, "/v1/grants/hpc/token")
            .header("Host", host.as_str());
        let reply = send(request).await;
        assert_eq!(reply.status, 200, "Host: {host}: {}", reply.summary());
    }
    assert_eq!(agent.token(Via::Unix, "hpc").await.status, 200);
    assert_eq!(agent.get(Via::Tcp, "/v1/health").await.status, 200);

    // /metrics holds no secret: plain scrapers need no header.
    for via in [Via::Unix, Via::Tcp] {
        let reply = send(agent.bare(via, Method::GET, "/metrics")).await;
        assert_eq!(reply.status, 200, "/metrics over {via:?}");
        assert!(
            reply
                .text
                .contains("tokenkit_agent_cache_hits_total{grant=\"hpc\"")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_with_a_bearer_file_needs_the_bearer_and_the_socket_does_not() {
    const BEARER: &str = "bearer-sentinel-5b1f0c9e";
    let sandbox = Sandbox::start();
    let agent = Agent::start(
        "bearer",
        Setup::unix()
            .tcp("127.0.0.1:0")
            .bearer(BEARER)
            .table(ac_grant("hpc", &sandbox.base_url(), "11112")),
    );
    let path = "/v1/grants/hpc/token";
    let unauthorized = |reply: &Reply, what: &str| {
        assert_eq!(reply.status, 401, "{what}: {}", reply.summary());
        assert_eq!(reply.kind(), "unauthorized", "{what}");
        assert!(
            reply.headers.contains_key("www-authenticate"),
            "{what}: a 401 says which scheme"
        );
    };
    let header_only = agent
        .bare(Via::Tcp, Method::GET, path)
        .header("Tokenkit-Agent", "1");
    unauthorized(&send(header_only).await, "no bearer");
    let wrong = agent
        .bare(Via::Tcp, Method::GET, path)
        .header("Tokenkit-Agent", "1")
        .bearer_auth("bearer-sentinel-wrong");
    unauthorized(&send(wrong).await, "a wrong bearer");
    let metrics = send(agent.bare(Via::Tcp, Method::GET, "/metrics")).await;
    unauthorized(&metrics, "/metrics over TCP without the bearer");

    let right = agent.token(Via::Tcp, "hpc").await;
    assert_eq!(right.status, 200, "the right bearer: {}", right.summary());
    let metrics = send(
        agent
            .bare(Via::Tcp, Method::GET, "/metrics")
            .bearer_auth(BEARER),
    )
    .await;
    assert_eq!(
        metrics.status, 200,
        "/metrics with the bearer, no agent header"
    );
    let socket = agent.token(Via::Unix, "hpc").await;
    assert_eq!(
        socket.status, 200,
        "the socket's mode is its access control"
    );
    assert_eq!(socket.access_token(), right.access_token());
    agent_support::assert_no_secret(&agent.stderr(), &[BEARER.to_owned()], "stderr");
}

#[test]
fn a_non_loopback_tcp_address_is_refused_at_start() {
    let sandbox = Sandbox::start();
    let exited = Agent::run_to_exit(
        "open",
        Setup::tcp_only("0.0.0.0:0").table(ac_grant("hpc", &sandbox.base_url(), "0")),
    );
    assert_eq!(exited.status.code(), Some(1), "stderr: {}", exited.stderr);
    assert!(
        exited.stderr.contains("loopback"),
        "the error names the rule: {}",
        exited.stderr
    );
    assert!(
        !exited.stdout.contains("listening"),
        "nothing listens: {}",
        exited.stdout
    );
    assert_eq!(sandbox.count("ac.tokens"), 0, "nothing is fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_non_loopback_lets_a_non_loopback_address_start() {
    // `::ffff:127.0.0.1` is not a loopback address to the agent's rule (only `::1` and
    // 127/8 are), yet it reaches this host only: the test binds no public address.
    const MAPPED: &str = "[::ffff:127.0.0.1]:0";
    if std::net::TcpListener::bind(MAPPED).is_err() {
        eprintln!("NOTICE: this host cannot bind {MAPPED} (no IPv6); skipping this test");
        return;
    }
    let sandbox = Sandbox::start();
    let setup = Setup::tcp_only(MAPPED).table(ac_grant("hpc", &sandbox.base_url(), "0"));
    let refused = Agent::run_to_exit("mapped", setup.clone());
    assert_eq!(
        refused.status.code(),
        Some(1),
        "without the setting it is refused"
    );
    assert!(refused.stderr.contains("loopback"), "{}", refused.stderr);

    let agent = Agent::start("mapped", setup.allow_non_loopback().bearer("bearer-mapped"));
    let reply = agent.token(Via::Tcp, "hpc").await;
    assert_eq!(reply.status, 200, "{}", reply.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_and_no_secret_reaches_stderr_even_at_debug_level() {
    const WRONG_PASSWORD: &str = "sentinel-password-7c41d2";
    const BEARER: &str = "sentinel-bearer-0e9a33";
    let sandbox = Sandbox::start();
    let base = sandbox.base_url();
    let (bo_access, bo_refresh) = agent_support::bo_session(&sandbox, "u-1001");
    let agent = Agent::start(
        "quiet",
        Setup::unix()
            .tcp("127.0.0.1:0")
            .bearer(BEARER)
            .log("debug")
            .env("TOKENKIT_TEST_WRONG_PASSWORD", WRONG_PASSWORD)
            .env("TOKENKIT_TEST_BO_REFRESH", &bo_refresh)
            .table(ac_grant("hpc", &base, "11112"))
            .table(ac_key_grant("east", &base, "0"))
            // Another user: a grant of the same account would share hpc's login.
            .table(ac_grant_as(
                "wrong",
                &base,
                "sentinel-user",
                "TOKENKIT_TEST_WRONG_PASSWORD",
            ))
            .table(bo_grant("bo", &base, "TOKENKIT_TEST_BO_REFRESH"))
            .table(ilab_app("demo", &base)),
    );
    let mut tokens = vec![bo_access, bo_refresh];
    for (via, grant) in [(Via::Unix, "hpc"), (Via::Tcp, "east"), (Via::Unix, "bo")] {
        let reply = agent.token(via, grant).await;
        let token = reply.access_token();
        let renewed = agent.refused(via, grant, &token).await.access_token();
        tokens.extend([token, renewed]);
    }
    // The wrong password is refused by the platform (new credentials are needed): an
    // error path with a sentinel.
    let wrong = agent.token(Via::Unix, "wrong").await;
    assert_eq!(wrong.status, 409, "{}", wrong.summary());
    assert_eq!(wrong.kind(), "reauth_required");
    let (ticket, encoded) = ilab_ticket(&sandbox, "u1", "User One");
    let launched = agent.launch(Via::Tcp, "demo", &ticket).await;
    assert_eq!(launched.status, 201, "{}", launched.summary());
    tokens.push(launched.access_token());
    tokens.push(
        agent
            .get(Via::Unix, "/v1/ilab/demo/sessions/u1/token")
            .await
            .access_token(),
    );
    // A spent ticket is refused: another error path, holding the ticket.
    let again = agent
        .post(
            Via::Unix,
            "/v1/ilab/demo/sessions",
            &json!({"ticket": ticket}),
        )
        .await;
    assert!(again.status >= 400, "a spent ticket: {}", again.summary());
    tokens.extend([ticket, encoded]);

    let stderr = agent.stderr();
    assert!(
        stderr.contains("DEBUG"),
        "TOKENKIT_LOG=debug logs at debug level"
    );
    let mut secrets: Vec<String> = ["demo-password", "demo-secret-key", WRONG_PASSWORD, BEARER]
        .map(String::from)
        .to_vec();
    secrets.extend(tokens);
    agent_support::assert_no_secret(&stderr, &secrets, "the agent's stderr");
}
