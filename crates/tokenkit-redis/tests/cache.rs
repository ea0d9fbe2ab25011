//! Two `TokenCache`s (two "processes") over one Redis: one upstream call for many
//! callers, the budget held across both, and cached reads that never touch Redis (the
//! scenarios, shared with the cluster tests, are in `scenarios/cache.rs`).

mod scenarios;
mod support;

use std::time::Duration;

use scenarios::cache;

#[tokio::test]
async fn many_callers_in_two_processes_cause_one_upstream_call() {
    let server = redis_or_skip!();
    cache::many_callers_in_two_processes_cause_one_upstream_call(&server, "grant").await;
}

#[tokio::test]
async fn two_processes_never_exceed_the_refresh_budget_of_a_grant() {
    let server = redis_or_skip!();
    cache::two_processes_never_exceed_the_refresh_budget_of_a_grant(
        &server,
        "grant",
        Duration::from_millis(600),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiter_wakes_on_the_change_hint_not_at_its_next_poll() {
    let server = redis_or_skip!();
    let (holder, waiter) = (server.store().await, server.store().await);
    cache::a_waiter_wakes_on_the_change_hint_not_at_its_next_poll(
        &server, holder, waiter, "hinted",
    )
    .await;
}
