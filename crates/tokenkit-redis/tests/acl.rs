//! ACL users against a real `redis-server`: the documented minimal rule
//! ([`tokenkit_redis::acl::minimal_rules`]) suffices for every store operation and the
//! fleet flow, it covers its prefix only, and a wrong password or a missing permission
//! is a clear error that never shows the password.

#[path = "support/flow.rs"]
mod flow;
mod support;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokenkit_core::{Error, TokenStore};
use tokenkit_redis::{RedisStore, acl};

use support::{RedisServer, token};

const PW: &str = "SENTINEL-PW-acl-2f8a";

/// Creates (or replaces) `user` with password [`PW`] and exactly `rules`.
async fn set_user(admin: &mut MultiplexedConnection, user: &str, rules: &[String]) {
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(user)
        .arg("reset")
        .arg("on")
        .arg(format!(">{PW}"))
        .arg(rules)
        .query_async(admin)
        .await
        .expect("ACL SETUSER");
}

/// What the server refused since the last `ACL LOG RESET`, one line per entry.
async fn acl_log(admin: &mut MultiplexedConnection) -> Vec<String> {
    let entries: Vec<redis::Value> = redis::cmd("ACL")
        .arg("LOG")
        .query_async(admin)
        .await
        .expect("ACL LOG");
    entries.iter().map(|e| format!("{e:?}")).collect()
}

fn url_as(server: &RedisServer, user: &str, password: &str) -> String {
    format!("redis://{user}:{password}@127.0.0.1:{}/", server.port())
}

fn builder(url: String) -> tokenkit_redis::RedisStoreBuilder {
    RedisStore::builder(url)
        .operation_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(1))
}

/// The error of `result`, checked: for good, and without the password.
fn refused<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    let err = result.expect_err("refused");
    assert!(!err.is_transient(), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PW), "{text}");
    text
}

#[tokio::test]
async fn the_minimal_rule_suffices_for_every_operation_and_the_fleet_flow() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    set_user(&mut admin, "tokenkit", &acl::minimal_rules("fleet")).await;
    let () = redis::cmd("ACL")
        .arg("LOG")
        .arg("RESET")
        .query_async(&mut admin)
        .await
        .expect("reset the log");
    // One store with the password in the URL, one with `credentials`.
    let a = builder(url_as(&server, "tokenkit", PW))
        .prefix("fleet")
        .connect()
        .await
        .expect("connect as the ACL user (URL)");
    let b = builder(server.url())
        .credentials("tokenkit", PW)
        .prefix("fleet")
        .connect()
        .await
        .expect("connect as the ACL user (credentials)");
    flow::every_operation(&a, &b, "acl").await;
    // After a restart of the server's script cache, the scripts are loaded again.
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut admin)
        .await
        .expect("flush scripts");
    a.compare_and_set("after-flush", 0, &token("t", 600))
        .await
        .expect("SCRIPT LOAD is allowed");
    // Nothing was refused, not even a command whose refusal a client ignores.
    assert_eq!(acl_log(&mut admin).await, Vec::<String>::new());
}

#[tokio::test]
async fn every_part_of_the_rule_is_needed() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    let rules = acl::minimal_rules("fleet");
    // The first three only reset the user; every other rule grants something.
    for (i, left_out) in rules.iter().enumerate().skip(3) {
        let fewer: Vec<String> = rules.iter().filter(|r| *r != left_out).cloned().collect();
        let user = format!("without-{i}");
        set_user(&mut admin, &user, &fewer).await;
        let url = url_as(&server, &user, PW);
        let key = format!("needed-{i}");
        // The flow panics at the first refusal; a task keeps that panic in this test.
        let flow = tokio::spawn(async move {
            let connect = || builder(url.clone()).prefix("fleet").connect();
            let (a, b) = (connect().await, connect().await);
            let (a, b) = (a.expect("connect"), b.expect("connect"));
            flow::every_operation(&a, &b, &key).await;
        });
        assert!(
            flow.await.is_err(),
            "the flow works without {left_out}: the rule is not minimal"
        );
    }
}

#[tokio::test]
async fn the_rule_covers_its_prefix_only() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    set_user(&mut admin, "tokenkit", &acl::minimal_rules("fleet")).await;
    // `connect` reads the store's key check (`other:keycheck`): refused at once.
    let text = refused(
        builder(url_as(&server, "tokenkit", PW))
            .prefix("other")
            .connect()
            .await,
    );
    assert!(
        text.contains("NOPERM") && text.contains("store's keys"),
        "{text}"
    );
    // Every operation of a lazily built store is refused the same way.
    let other = builder(url_as(&server, "tokenkit", PW))
        .prefix("other")
        .build()
        .expect("builds");
    let text = refused(other.load("k").await);
    assert!(
        text.contains("NOPERM") && text.contains("store's keys"),
        "{text}"
    );
    let text = refused(other.compare_and_set("k", 0, &token("t", 600)).await);
    assert!(
        text.contains("NOPERM") && text.contains("store's keys"),
        "{text}"
    );
    let text = refused(other.try_lease("k", Duration::from_secs(5)).await);
    assert!(text.contains("NOPERM"), "{text}");
    let text = refused(other.subscribe("k").await);
    assert!(
        text.contains("NOPERM") && text.contains("store's channels"),
        "{text}"
    );
    // A prefix that merely starts like the allowed one is another prefix.
    let longer = builder(url_as(&server, "tokenkit", PW)).prefix("fleet2");
    refused(longer.connect().await);
    let longer = builder(url_as(&server, "tokenkit", PW))
        .prefix("fleet2")
        .build()
        .expect("builds");
    refused(longer.load("k").await);
}

#[tokio::test]
async fn a_command_missing_from_the_rule_is_named_even_inside_a_script() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    let without = |command: &str| -> Vec<String> {
        acl::minimal_rules("fleet")
            .into_iter()
            .filter(|r| r != &format!("+{command}"))
            .collect()
    };
    set_user(&mut admin, "no-time", &without("time")).await;
    let store = builder(url_as(&server, "no-time", PW))
        .prefix("fleet")
        .connect()
        .await
        .expect("connect");
    // `TIME` is called inside the compare-and-set script.
    let text = refused(store.compare_and_set("k", 0, &token("t", 600)).await);
    assert!(
        text.contains("inside a store script") && text.contains("NOPERM"),
        "{text}"
    );
    set_user(&mut admin, "no-set", &without("set")).await;
    let store = builder(url_as(&server, "no-set", PW))
        .prefix("fleet")
        .connect()
        .await
        .expect("connect");
    let text = refused(store.try_lease("k", Duration::from_secs(5)).await);
    assert!(text.contains("may not run the command \"set\""), "{text}");
}

#[tokio::test]
async fn a_wrong_password_fails_at_once_and_is_never_shown() {
    let server = redis_or_skip!();
    let mut admin = server.admin().await;
    set_user(&mut admin, "tokenkit", &acl::minimal_rules("tokenkit")).await;
    let wrong = format!("{PW}-wrong");
    for attempt in [
        builder(url_as(&server, "tokenkit", &wrong)),
        builder(server.url()).credentials("tokenkit", wrong.as_str()),
        builder(url_as(&server, "nobody", &wrong)),
    ] {
        assert!(!format!("{attempt:?}").contains(PW));
        let text = refused(attempt.connect().await);
        assert!(
            text.contains("redis connect: authentication failed"),
            "{text}"
        );
    }
    // No password at all, where the default user needs one (this connection stays
    // authenticated).
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("resetpass")
        .arg(">admin-password")
        .query_async(&mut admin)
        .await
        .expect("the default user needs a password");
    let text = refused(builder(server.url()).connect().await);
    assert!(text.contains("authentication required (NOAUTH)"), "{text}");
}
