//! A model test of the real scripts against a real redis-server: random interleavings
//! of lease, spend, commit, crash and lease expiry by several holders (the scenario,
//! shared with the cluster tests, is in `scenarios/model.rs`).

mod scenarios;
mod support;

#[test]
fn random_interleavings_never_overspend_nor_let_a_stale_commit_win() {
    let Some(server) = support::RedisServer::start() else {
        return;
    };
    scenarios::model::random_interleavings_never_overspend_nor_let_a_stale_commit_win(
        &server, "model",
    );
}
