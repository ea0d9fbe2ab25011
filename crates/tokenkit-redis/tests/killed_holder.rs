//! A lease holder killed with SIGKILL — before it spent a refresh, and after — never
//! makes the fleet exceed the ilab budget, and never blocks it for longer than the
//! lease (the scenarios, shared with the cluster tests, are in `scenarios/holder.rs`).

mod scenarios;
mod support;

use scenarios::holder;

/// Not a test of its own: the body of the holder process.
#[test]
fn holder_entry() {
    holder::holder_entry();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_before_spending_only_delays_the_fleet_by_its_lease() {
    let server = redis_or_skip!();
    holder::a_holder_killed_before_spending_only_delays_the_fleet_by_its_lease(
        &server,
        "ilab:killed-holder",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_after_spending_never_lets_the_fleet_exceed_the_budget() {
    let server = redis_or_skip!();
    holder::a_holder_killed_after_spending_never_lets_the_fleet_exceed_the_budget(
        &server,
        "ilab:killed-holder",
    )
    .await;
}
