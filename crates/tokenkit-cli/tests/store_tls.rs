//! `tokenkit ac token --store 'rediss://user:password@…?ca=…'` as a script runs it:
//! real `tokenkit` processes against a `tokenkit sandbox` process and a TLS-only
//! `redis-server` (certificates generated at test time) with an ACL user holding
//! exactly the minimal rule. Two runs log in once; the password shows nowhere.

mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;
#[path = "../../tokenkit-redis/tests/support/tls.rs"]
mod tls;

use std::process::Output;

use common::Sandbox;
use tls::{ClientAuth, TlsServer, query_path};

const PW: &str = "SENTINEL-PW-cli-tls-71c3";

fn ac_token(sandbox: &Sandbox, store: &str) -> Output {
    common::ac_token(&sandbox.base_url(), store)
        .env("TOKENKIT_LOG", "trace")
        .output()
        .expect("run tokenkit")
}

fn shows_no_password(output: &Output) {
    for stream in [&output.stdout, &output.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(PW),
            "{}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[tokio::test]
async fn two_runs_over_tls_as_an_acl_user_log_in_once() {
    let Some(server) = TlsServer::start(ClientAuth::No) else {
        return;
    };
    let mut admin = server.admin().await;
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("tokenkit")
        .arg("on")
        .arg(format!(">{PW}"))
        .arg(tokenkit::redis::acl::minimal_rules("tokenkit"))
        .query_async(&mut admin)
        .await
        .expect("ACL SETUSER");
    let sandbox = Sandbox::start();
    let store = format!(
        "rediss://tokenkit:{PW}@127.0.0.1:{}/0?ca={}",
        server.server.port(),
        query_path(&server.pki.ca)
    );
    let mut tokens = Vec::new();
    for run in 1..=2 {
        let output = ac_token(&sandbox, &store);
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        shows_no_password(&output);
        tokens.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    assert!(!tokens[0].is_empty());
    assert_eq!(tokens[0], tokens[1], "the second run used the stored token");
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for both runs");

    // The CA of someone else: a clear error, exit 1, no login attempted.
    let wrong = format!(
        "rediss://tokenkit:{PW}@127.0.0.1:{}/0?ca={}",
        server.server.port(),
        query_path(&server.pki.other_ca)
    );
    let output = ac_token(&sandbox, &wrong);
    assert_eq!(output.status.code(), Some(1));
    shows_no_password(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TLS: the server's certificate is not trusted"),
        "{stderr}"
    );
    assert_eq!(sandbox.count("ac.tokens"), 1);
}

#[tokio::test]
async fn the_store_options_ca_serves_a_url_without_one_and_the_urls_ca_wins() {
    use tokenkit::agent::store_url::{StoreOptions, open_with};
    let Some(server) = TlsServer::start(ClientAuth::No) else {
        return;
    };
    let options = StoreOptions {
        ca_file: Some(server.pki.ca.clone()),
        ..StoreOptions::default()
    };
    let store = open_with(&server.url(), false, &options)
        .await
        .expect("the options' CA");
    store.load("k").await.expect("load over TLS");
    // The URL's own CA (here the wrong one) is used instead of the options'.
    let wrong = format!("{}?ca={}", server.url(), query_path(&server.pki.other_ca));
    let err = open_with(&wrong, false, &options)
        .await
        .expect_err("the URL's CA is not the server's");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    // A plain URL ignores the options' CA (it is for rediss:// only).
    let plain = support::RedisServer::start().expect("redis-server");
    open_with(&plain.url(), false, &options)
        .await
        .expect("plain redis with a CA option");
}
