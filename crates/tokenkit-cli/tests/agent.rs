//! `tokenkit agent`'s token API as programs use it: a real agent process in front of a
//! real `tokenkit sandbox` process, upstream calls counted by the sandbox.
//!
//! - a cold agent under a burst of concurrent requests makes one login;
//! - refresh ahead: one renewal per token lifetime and no client ever waits for it;
//! - `POST …/refused` from many clients at once renews once.

mod agent_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agent_support::{Agent, Reply, Setup, Via, ac_accepts, ac_grant, ac_key_grant};
use common::Sandbox;
use tokio::task::JoinSet;

const GRANT: &str = "hpc";

/// `n` concurrent token requests of `grant` through `via`; every answer's token.
async fn burst(agent: &Agent, via: Via, grant: &'static str, n: usize) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let api = agent.api();
        tasks.spawn(async move {
            let reply = api.token(via, grant).await;
            assert_eq!(reply.status, 200, "a token request: {}", reply.summary());
            reply.access_token()
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_on_a_cold_agent_make_one_login() {
    // The login takes 300 ms: the requests arrive while it is in flight.
    let sandbox = Sandbox::start_with(&["--latency-ms", "300"]);
    let agent = Agent::start(
        "cold",
        Setup::unix().table(ac_grant(GRANT, &sandbox.base_url(), "11112")),
    );
    let tokens = burst(&agent, Via::Unix, GRANT, 1000).await;
    let distinct: BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(tokens.len(), 1000);
    assert_eq!(distinct.len(), 1, "all 1000 requests get the same token");
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for 1000 requests");
    assert_eq!(sandbox.count("ac.next"), 0);
    let metrics = agent.metrics().await;
    let (hits, waits) = (
        metrics.get("cache_hits_total", GRANT),
        metrics.get("cache_waits_total", GRANT),
    );
    eprintln!("1000 requests on a cold agent: {waits} waited for the login, {hits} hits");
    assert_eq!(hits + waits, 1000, "every request is a hit or a wait");
    assert!(
        waits > 0,
        "some requests came while the login was in flight (hits {hits}, waits {waits})"
    );
    assert_eq!(metrics.get("fetches_total", GRANT), 1);
    assert_eq!(metrics.get("request_errors_total", GRANT), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_over_tcp_makes_one_access_key_login() {
    let sandbox = Sandbox::start_with(&["--latency-ms", "300"]);
    let agent = Agent::start(
        "cold-tcp",
        Setup::tcp_only("127.0.0.1:0").table(ac_key_grant(GRANT, &sandbox.base_url(), "0")),
    );
    let tokens = burst(&agent, Via::Tcp, GRANT, 200).await;
    let distinct: BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), 1, "all 200 requests get the same token");
    assert_eq!(
        sandbox.count("ac.ak_tokens"),
        1,
        "one access-key login for 200 requests"
    );
    assert_eq!(sandbox.count("ac.tokens"), 0, "no password login");
    let metrics = agent.metrics().await;
    assert_eq!(
        metrics.get("cache_hits_total", GRANT) + metrics.get("cache_waits_total", GRANT),
        200
    );
}

/// A token as a client saw it.
#[derive(Clone)]
struct Seen {
    expires_at: String,
    token: String,
}

fn seen(reply: &Reply) -> Seen {
    assert_eq!(reply.status, 200, "a token request: {}", reply.summary());
    Seen {
        expires_at: reply.body["expires_at"]
            .as_str()
            .expect("a token answer has expires_at")
            .to_owned(),
        token: reply.access_token(),
    }
}

/// The distinct tokens of `seen`, in the order they expire.
fn distinct(seen: &[Seen]) -> Vec<Seen> {
    let mut by_token = BTreeMap::new();
    for s in seen {
        by_token.entry(&s.token).or_insert(s);
    }
    let mut tokens: Vec<Seen> = by_token.into_values().cloned().collect();
    tokens.sort_by_key(|s| agent_support::rfc3339_seconds(&s.expires_at));
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_ahead_renews_once_per_lifetime_and_no_client_waits() {
    // ac's policy refreshes ahead at min(300 s, 20 % of the lifetime) and makes callers
    // wait from a quarter of that before expiry: with 15 s tokens the keeper renews
    // 3 s before expiry, and only a renewal still missing 2.25 s later (on a loaded
    // machine) would make a caller wait (`RefreshPolicy::margins`).
    const TTL: i64 = 15;
    let sandbox = Sandbox::start_with(&["--ac-ttl", &TTL.to_string()]);
    let agent = Agent::start(
        "ahead",
        Setup::unix().table(ac_grant(GRANT, &sandbox.base_url(), "11112")),
    );
    let first = agent.token(Via::Unix, GRANT).await;
    assert_eq!(first.status, 200, "{}", first.summary());
    let after_first = agent.metrics().await;
    let waits_after_first = after_first.get("cache_waits_total", GRANT);
    let requests_before = after_first.get("cache_hits_total", GRANT) + waits_after_first;

    // Clients keep asking, as a busy service does, until two renewals were served.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = JoinSet::new();
    for _ in 0..4 {
        let (api, stop) = (agent.api(), Arc::clone(&stop));
        clients.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let reply = api.token(Via::Unix, GRANT).await;
                seen.push(self::seen(&reply));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        });
    }
    // This task asks too, until it has been served the second renewal: bounded by
    // three lifetimes and then some, ended by what it sees.
    let deadline = Instant::now() + Duration::from_secs(3 * TTL as u64 + 30);
    let mut mine: Vec<Seen> = Vec::new();
    while distinct(&mine).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "two renewals were not served in time (renewals: {})",
            sandbox.count("ac.next")
        );
        mine.push(seen(&agent.token(Via::Unix, GRANT).await));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Seen> = clients.join_all().await.into_iter().flatten().collect();
    all.extend(mine);

    assert_eq!(
        sandbox.count("ac.next"),
        2,
        "one renewal per lifetime, never more"
    );
    assert_eq!(sandbox.count("ac.tokens"), 1, "no login after the first");
    let tokens = distinct(&all);
    assert_eq!(
        tokens.len(),
        3,
        "the clients saw the first token and its two renewals"
    );
    assert_eq!(tokens[0].token, first.access_token());
    // Renewed near the end of each lifetime, not early: each token expires at least
    // half a lifetime after the one it replaced (renewing at the advisory point makes
    // it 80 % of a lifetime; a renewal storm would make it ~0).
    for pair in tokens.windows(2) {
        let gap = agent_support::rfc3339_seconds(&pair[1].expires_at)
            - agent_support::rfc3339_seconds(&pair[0].expires_at);
        assert!(
            gap >= TTL / 2,
            "a renewed token expires only {gap} s after the one it replaced: it was renewed \
             before half of that one's lifetime"
        );
    }
    let metrics = agent.metrics().await;
    assert_eq!(
        metrics.get("cache_waits_total", GRANT),
        waits_after_first,
        "no client waited after the first token: every request was a cache hit"
    );
    assert_eq!(
        metrics.get("cache_hits_total", GRANT) + waits_after_first,
        requests_before + all.len() as u64
    );
    assert_eq!(metrics.get("refreshes_total", GRANT), 2);
    assert_eq!(metrics.get("refresh_failures_total", GRANT), 0);
    assert_eq!(metrics.get("fetches_total", GRANT), 1);
}

/// `n` concurrent refusals of `token`; every answer's token.
async fn refusals(agent: &Agent, token: &str, n: usize) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let (api, token) = (agent.api(), token.to_owned());
        tasks.spawn(async move {
            let reply = api.refused(Via::Unix, GRANT, &token).await;
            assert_eq!(reply.status, 200, "a refusal: {}", reply.summary());
            reply.access_token()
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_refusals_at_once_renew_once_and_an_old_token_renews_nothing() {
    let sandbox = Sandbox::start();
    let agent = Agent::start(
        "refused",
        Setup::unix().table(ac_grant(GRANT, &sandbox.base_url(), "11112")),
    );
    let old = agent.token(Via::Unix, GRANT).await.access_token();
    assert_eq!(sandbox.count("ac.tokens"), 1);

    let renewed = refusals(&agent, &old, 50).await;
    let distinct: BTreeSet<&String> = renewed.iter().collect();
    assert_eq!(distinct.len(), 1, "all 50 clients get the same new token");
    let new = renewed[0].clone();
    assert_ne!(new, old, "the refused token was replaced");
    assert_eq!(sandbox.count("ac.next"), 1, "one renewal for 50 refusals");
    assert_eq!(sandbox.count("ac.tokens"), 1, "no login");

    // A late client still holding the old token: the current one, no upstream call.
    let late = agent.refused(Via::Unix, GRANT, &old).await;
    assert_eq!(late.status, 200, "{}", late.summary());
    assert_eq!(late.access_token(), new);
    assert_eq!(sandbox.count("ac.next"), 1, "an old token renews nothing");
    assert_eq!(agent.token(Via::Unix, GRANT).await.access_token(), new);

    // The platform revokes the current token (a logout elsewhere): its renewal is
    // refused, so the one recovery is a login; every client gets its token.
    assert!(
        agent_support::revoke_ac(&sandbox, &new),
        "the token was live"
    );
    let recovered = refusals(&agent, &new, 50).await;
    let distinct: BTreeSet<&String> = recovered.iter().collect();
    assert_eq!(distinct.len(), 1, "all 50 clients get the same token");
    let third = recovered[0].clone();
    assert!(third != new && third != old);
    assert_eq!(
        (sandbox.count("ac.next"), sandbox.count("ac.tokens")),
        (2, 2),
        "one refused renewal and one login for 50 refusals of a revoked token"
    );
    assert!(
        ac_accepts(&sandbox, &third),
        "the platform takes the new token"
    );

    let metrics = agent.metrics().await;
    assert_eq!(metrics.get("refused_total", GRANT), 101);
    assert_eq!(metrics.get("request_errors_total", GRANT), 0);
}
