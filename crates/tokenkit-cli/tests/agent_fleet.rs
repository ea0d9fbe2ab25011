//! Two `tokenkit agent` processes sharing a real `redis-server` (same config, `store =
//! redis://…`) behave as one cache: one login, one renewal per expiry across both, and
//! both serve the same token.

mod agent_support;
mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use agent_support::{Agent, Setup, Via, ac_grant};
use common::Sandbox;

const GRANT: &str = "hpc";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_over_redis_make_one_login_and_one_renewal_per_expiry() {
    let redis = redis_or_skip!();
    // 10 s tokens: renewed ahead 2 s before expiry (20 % of the lifetime), a window
    // that a loaded machine does not miss (see agent.rs).
    const TTL: u64 = 10;
    let sandbox = Sandbox::start_with(&["--ac-ttl", &TTL.to_string()]);
    let setup = Setup::unix()
        .setting(&format!("store = \"{}\"", redis.url()))
        .table(ac_grant(GRANT, &sandbox.base_url(), "11112"));
    let agents = [
        Agent::start("fleet-a", setup.clone()),
        Agent::start("fleet-b", setup),
    ];
    let first = [
        agents[0].token(Via::Unix, GRANT).await.access_token(),
        agents[1].token(Via::Unix, GRANT).await.access_token(),
    ];
    assert_eq!(first[0], first[1], "both agents serve the same token");
    assert_eq!(sandbox.count("ac.tokens"), 1, "one login for the fleet");

    // Ask both agents through two renewals. Bounded by three lifetimes and then some;
    // ended when each agent has served both renewed tokens.
    let deadline = Instant::now() + Duration::from_secs(3 * TTL + 30);
    let mut seen: [BTreeSet<String>; 2] = Default::default();
    while seen.iter().any(|s| s.len() < 3) {
        assert!(
            Instant::now() < deadline,
            "two renewals were not served by both agents in time (renewals: {}, tokens \
             seen: {} and {})",
            sandbox.count("ac.next"),
            seen[0].len(),
            seen[1].len()
        );
        for (agent, seen) in agents.iter().zip(seen.iter_mut()) {
            let reply = agent.token(Via::Unix, GRANT).await;
            assert_eq!(reply.status, 200, "{}", reply.summary());
            seen.insert(reply.access_token());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen[0], seen[1], "both agents served the same three tokens");
    assert_eq!(
        sandbox.count("ac.next"),
        2,
        "one renewal per expiry across both agents"
    );
    assert_eq!(sandbox.count("ac.tokens"), 1, "still one login");
    let now = [
        agents[0].token(Via::Unix, GRANT).await.access_token(),
        agents[1].token(Via::Unix, GRANT).await.access_token(),
    ];
    assert_eq!(now[0], now[1], "and they serve the same token now");
}
