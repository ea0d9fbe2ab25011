//! Counting a refresh against the grant's budget in one atomic step.
//!
//! The [`TokenCache`](tokenkit_core::TokenCache) counts refreshes with a
//! compare-and-set (which the store also checks against the budget); this is for
//! applications that drive refreshes themselves and want the same guarantee: a spend
//! is counted in Redis *before* the refresh request is sent, so however many processes
//! race, at most `budget` refreshes of one grant are ever sent.

use redis::Value;
use tokenkit_core::Error;

use crate::RedisStore;
use crate::codec;
use crate::error::unexpected;
use crate::scripts;

/// The result of [`RedisStore::spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spend {
    /// Counted: the caller may send one refresh. The state is now at `generation` and
    /// marked "outcome unknown" until the caller commits the refreshed token.
    Spent {
        /// The generation after counting.
        generation: u64,
        /// Refreshes spent, including this one.
        refreshes_spent: u32,
    },
    /// The budget is spent: only a new grant (ilab: a new ticket) helps.
    Exhausted {
        /// The current generation.
        generation: u64,
        /// Refreshes spent.
        refreshes_spent: u32,
    },
    /// No token is stored under the key.
    Missing,
}

impl RedisStore {
    /// Atomically counts one refresh of `key`'s grant if fewer than `budget` (or the
    /// stored budget, if stricter) were spent. Bumps the generation, so a writer that
    /// read before the spend loses its compare-and-set.
    ///
    /// A re-authentication error if it counted on a state older than this store had
    /// read or written for the key: Redis lost writes (a failover, a restart without
    /// persistence) and the refreshes they counted are unknown; do not send the
    /// refresh.
    ///
    /// ```no_run
    /// # async fn f(store: tokenkit_redis::RedisStore) -> Result<(), tokenkit_core::Error> {
    /// use tokenkit_redis::Spend;
    /// match store.spend("ilab:alice", 2).await? {
    ///     Spend::Spent { .. } => { /* send the refresh, then compare_and_set the new token */ }
    ///     Spend::Exhausted { .. } => { /* ask the user to relaunch */ }
    ///     Spend::Missing => { /* fetch a first token */ }
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn spend(&self, key: &str, budget: u32) -> Result<Spend, Error> {
        const OP: &str = "spend";
        let names = self.names(key);
        let mut c = self.connection();
        let reply: Vec<Value> = self
            .run(OP, async {
                scripts::SPEND
                    .key(&names.state)
                    .arg(budget)
                    .arg(&names.channel)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let count = |v: &Value| -> Result<u32, Error> {
            u32::try_from(codec::integer(OP, v)?).map_err(|_| unexpected(OP, "bad count"))
        };
        match reply.as_slice() {
            [status] if codec::integer(OP, status)? == 0 => Ok(Spend::Missing),
            [status, generation, spent] => {
                let generation = codec::generation(OP, generation)?;
                let refreshes_spent = count(spent)?;
                match codec::integer(OP, status)? {
                    1 => {
                        // Counted on a state older than this store saw: Redis went
                        // back, and the refresh must not be sent.
                        self.check_spend(key, generation)?;
                        Ok(Spend::Spent {
                            generation,
                            refreshes_spent,
                        })
                    }
                    -1 => Ok(Spend::Exhausted {
                        generation,
                        refreshes_spent,
                    }),
                    _ => Err(unexpected(OP, "unknown status")),
                }
            }
            _ => Err(unexpected(OP, "unknown status")),
        }
    }
}
