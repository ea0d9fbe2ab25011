//! A model test of the real scripts: random interleavings of lease, spend, commit,
//! crash and lease expiry by several holders. Whatever happens, the budget of 2 is
//! never exceeded, the generation only grows, and no stale commit wins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis::AsyncCommands;
use tokenkit_core::{CasOutcome, Lease, TokenStore};
use tokenkit_redis::{RedisStore, Spend};

use super::{Admin, Backend};
use crate::support::budgeted;

const HOLDERS: usize = 3;
const BUDGET: u32 = 2;

#[derive(Debug, Clone)]
enum Op {
    /// Try to take the lease.
    Acquire(usize),
    /// Read the store (the base of the holder's next write).
    Read(usize),
    /// Count a refresh by compare-and-set (spent + 1) — without checking the budget,
    /// like a buggy or stale holder would.
    Spend(usize),
    /// Count a refresh with the spend script.
    SpendScript(usize),
    /// Commit a refreshed token on the holder's base.
    Commit(usize),
    /// Commit a token of a new grant (spent 0) on the holder's base.
    NewGrant(usize),
    Renew(usize),
    Release(usize),
    /// The holder dies: its lease stays until it expires.
    Crash(usize),
    /// The lease expires.
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    let h = 0..HOLDERS;
    prop_oneof![
        h.clone().prop_map(Op::Acquire),
        h.clone().prop_map(Op::Read),
        h.clone().prop_map(Op::Spend),
        h.clone().prop_map(Op::SpendScript),
        h.clone().prop_map(Op::Commit),
        h.clone().prop_map(Op::NewGrant),
        h.clone().prop_map(Op::Renew),
        h.clone().prop_map(Op::Release),
        h.prop_map(Op::Crash),
        Just(Op::Expire),
    ]
}

#[derive(Default)]
struct Holder {
    lease: Option<Lease>,
    /// (generation, refreshes spent) last read.
    view: Option<(u64, u32)>,
}

/// What the store must hold.
#[derive(Default)]
struct Model {
    generation: u64,
    spent: u32,
    lease_owner: Option<String>,
}

/// 64 random cases of up to 40 steps by three holders, each case on a key of its own
/// (`<stem>-<case>`).
pub fn random_interleavings_never_overspend_nor_let_a_stale_commit_win(
    backend: &impl Backend,
    stem: &str,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (stores, admin) = rt.block_on(async {
        let mut stores = Vec::new();
        for _ in 0..HOLDERS {
            stores.push(backend.store().await);
        }
        (stores, backend.admin().await)
    });
    let case = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            let key = format!("{stem}-{}", case.fetch_add(1, Ordering::SeqCst));
            rt.block_on(run_case(&stores, admin.clone(), &key, ops))
        })
        .expect("the model holds");
}

async fn run_case(
    stores: &[RedisStore],
    mut admin: Admin,
    key: &str,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut holders: Vec<Holder> = (0..HOLDERS).map(|_| Holder::default()).collect();
    let mut model = Model::default();
    let ttl = Duration::from_secs(30);
    for (step, op) in ops.into_iter().enumerate() {
        let at = format!("step {step}: {op:?}");
        match op {
            Op::Acquire(h) => {
                let lease = stores[h].try_lease(key, ttl).await.expect("lease");
                prop_assert_eq!(lease.is_some(), model.lease_owner.is_none(), "{}", at);
                if let Some(lease) = lease {
                    model.lease_owner = Some(lease.fence.clone());
                    holders[h].lease = Some(lease);
                }
            }
            Op::Read(h) => {
                let v = stores[h].load(key).await.expect("load");
                holders[h].view = v.map(|v| (v.generation, v.token.grant().refreshes_spent));
            }
            Op::Spend(h) | Op::Commit(h) | Op::NewGrant(h) => {
                let base = holders[h].view.unwrap_or((0, 0));
                let spent = match op {
                    Op::Spend(_) => base.1 + 1,
                    Op::Commit(_) => base.1,
                    _ => 0,
                };
                let token = budgeted(&at, spent, BUDGET);
                let result = stores[h].compare_and_set(key, base.0, &token).await;
                if base.0 != model.generation {
                    prop_assert!(
                        matches!(result, Ok(CasOutcome::Conflict(_))),
                        "{}: a stale write won: {:?}",
                        at,
                        result
                    );
                } else if spent > BUDGET {
                    prop_assert!(result.is_err(), "{}: over budget accepted", at);
                } else {
                    prop_assert!(
                        matches!(result, Ok(CasOutcome::Written(g)) if g == model.generation + 1),
                        "{}: {:?}",
                        at,
                        result
                    );
                    model.generation += 1;
                    model.spent = spent;
                    holders[h].view = Some((model.generation, spent));
                }
            }
            Op::SpendScript(h) => {
                let result = stores[h].spend(key, BUDGET).await.expect("spend");
                let expected = if model.generation == 0 {
                    Spend::Missing
                } else if model.spent >= BUDGET {
                    Spend::Exhausted {
                        generation: model.generation,
                        refreshes_spent: model.spent,
                    }
                } else {
                    model.generation += 1;
                    model.spent += 1;
                    Spend::Spent {
                        generation: model.generation,
                        refreshes_spent: model.spent,
                    }
                };
                prop_assert_eq!(result, expected, "{}", at);
            }
            Op::Renew(h) => {
                if let Some(lease) = &holders[h].lease {
                    let renewed = stores[h].renew_lease(lease, ttl).await.expect("renew");
                    let owns = model.lease_owner.as_deref() == Some(lease.fence.as_str());
                    prop_assert_eq!(renewed, owns, "{}", at);
                }
            }
            Op::Release(h) => {
                if let Some(lease) = holders[h].lease.take() {
                    if model.lease_owner.as_deref() == Some(lease.fence.as_str()) {
                        model.lease_owner = None;
                    }
                    stores[h].release_lease(lease).await.expect("release");
                }
            }
            Op::Crash(h) => holders[h] = Holder::default(),
            Op::Expire => {
                let lease_key = stores[0].lease_key(key);
                let _: bool = admin.pexpire(&lease_key, 1).await.expect("pexpire");
                tokio::time::sleep(Duration::from_millis(3)).await;
                model.lease_owner = None;
            }
        }
        // The store matches the model: the generation only grows (the model only
        // counts up), and the budget is never exceeded.
        let fields: (Option<u64>, Option<u32>) = redis::cmd("HMGET")
            .arg(stores[0].state_key(key))
            .arg(&["gen", "spent"])
            .query_async(&mut admin)
            .await
            .expect("hmget");
        prop_assert_eq!(fields.0.unwrap_or(0), model.generation, "{}", at);
        prop_assert!(fields.1.unwrap_or(0) <= BUDGET, "{}: overspent", at);
        prop_assert_eq!(fields.1.unwrap_or(0), model.spent, "{}", at);
    }
    Ok(())
}
