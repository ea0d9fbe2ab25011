//! A Redis that went back: after a failover that lost the last writes of a master
//! (replication is asynchronous), or a restart without persistence, a grant's state
//! is older than what a process has already seen — or gone. For a budget-limited grant
//! the refreshes counted in the lost writes are unknown: counting the next one on the
//! older state could spend the budget twice. So a store refuses, with a
//! re-authentication error, to count a refresh on a state older than it has seen.
//!
//! Each store remembers, per budgeted key, the highest generation it read or wrote and
//! the expiry of that state's token. A count (a budgeted compare-and-set that marks
//! its refresh's outcome unknown, or [`RedisStore::spend`]) whose base is below that
//! generation is either a stale writer's (Redis is further on: the compare-and-set
//! conflicts, as always) or builds on a state that went back (Redis is at that base):
//! one `HGET` of the generation tells, and the second is refused before anything is
//! written.
//!
//! A state older than the remembered one but holding a token that expires later is a
//! grant written after the loss (a relaunch with a new ticket, or another process that
//! never saw the lost state): it is the grant now, and counting on it is allowed. The
//! writes of a new grant (nothing spent, no unknown outcome) are never refused. What
//! is not caught: a lost count that no other process had read — a process that only
//! saw the older state counts on it as if nothing happened (see `docs/redis.md`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use tokenkit_core::{CasOutcome, Error, Token};

use crate::RedisStore;

/// The latest state of each budgeted key this store has seen.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    marks: Mutex<HashMap<String, Mark>>,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    generation: u64,
    expires: SystemTime,
}

impl Seen {
    fn marks(&self) -> MutexGuard<'_, HashMap<String, Mark>> {
        // Every update is one insert or removal: a poisoned map is still consistent.
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes that `key` was read or written at `generation` holding `token`.
    pub(crate) fn note(&self, key: &str, generation: u64, token: &Token) {
        if token.grant().refresh_budget.is_none() {
            return;
        }
        let seen = Mark {
            generation,
            expires: token.expiry().wall(),
        };
        let mut marks = self.marks();
        match marks.get_mut(key) {
            Some(mark) if generation < mark.generation && seen.expires <= mark.expires => {}
            Some(mark) => *mark = seen,
            None => {
                marks.insert(key.to_owned(), seen);
            }
        }
    }

    /// Forgets `key` (this store removed its grant).
    pub(crate) fn forget(&self, key: &str) {
        self.marks().remove(key);
    }

    /// The generation below which a count on `key` needs a check.
    fn generation(&self, key: &str) -> Option<u64> {
        self.marks().get(key).map(|m| m.generation)
    }
}

/// Whether writing `token` counts a refresh that is about to be sent.
pub(crate) fn is_count(token: &Token) -> bool {
    let grant = token.grant();
    grant.refresh_budget.is_some() && grant.outcome_unknown
}

impl RedisStore {
    /// The compare-and-set in Redis, refused if it counts a refresh on a state that
    /// went back; what it wrote or met is noted.
    pub(crate) async fn redis_compare_and_set_seen(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error> {
        if is_count(token) {
            self.refuse_count_on_older_state(key, expected).await?;
        }
        let outcome = self.redis_compare_and_set(key, expected, token).await?;
        match &outcome {
            CasOutcome::Written(generation) => self.inner.seen.note(key, *generation, token),
            CasOutcome::Conflict(Some(v)) => self.inner.seen.note(key, v.generation, &v.token),
            CasOutcome::Conflict(None) => {}
        }
        Ok(outcome)
    }

    /// A refresh counted by [`RedisStore::spend`] at `generation`: an error if it was
    /// counted on a state older than this store saw (the count stays, the refresh
    /// must not be sent).
    pub(crate) fn check_spend(&self, key: &str, generation: u64) -> Result<(), Error> {
        match self.inner.seen.generation(key) {
            Some(seen) if generation <= seen => {
                Err(went_back(key, generation.saturating_sub(1), seen))
            }
            _ => Ok(()),
        }
    }

    /// Refuses to count a refresh of `key` on `base` if Redis went back to it.
    async fn refuse_count_on_older_state(&self, key: &str, base: u64) -> Result<(), Error> {
        let Some(seen) = self.inner.seen.generation(key) else {
            return Ok(());
        };
        if base >= seen {
            return Ok(());
        }
        let state = self.names(key).state;
        let mut c = self.connection();
        let current: Option<u64> = self
            .run("count check", async move {
                redis::cmd("HGET")
                    .arg(&state)
                    .arg("gen")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if current.unwrap_or(0) == base {
            return Err(went_back(key, base, seen));
        }
        Ok(())
    }
}

/// The refusal: only a new grant helps.
pub(crate) fn went_back(key: &str, now: u64, seen: u64) -> Error {
    Error::reauth(
        "redis",
        format!(
            "the stored state of the budget-limited grant {key:?} went back (generation {now}, \
             this process saw {seen}: a failover lost writes, or Redis restarted without \
             persistence); the refreshes spent on it are unknown, so none is counted: \
             authenticate again (ilab: launch again)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit_core::{Arrival, Expiry, Grant};

    use super::*;

    fn budgeted(secs: u64, spent: u32, unknown: bool) -> Token {
        Token::new(
            "t",
            Expiry::after(Arrival::now(), Duration::from_secs(secs)),
        )
        .with_grant(Grant {
            refreshes_spent: spent,
            refresh_budget: Some(2),
            outcome_unknown: unknown,
            ..Grant::default()
        })
    }

    #[test]
    fn the_mark_only_moves_forward_or_to_a_newer_grant() {
        let seen = Seen::default();
        let unlimited = Token::new("t", Expiry::after(Arrival::now(), Duration::from_secs(60)));
        seen.note("free", 5, &unlimited);
        assert_eq!(seen.generation("free"), None, "no budget, nothing to guard");
        let old = budgeted(600, 0, false);
        seen.note("k", 3, &old);
        seen.note("k", 5, &old);
        assert_eq!(seen.generation("k"), Some(5));
        // Went back to an older state of the same grant: the mark stays.
        seen.note("k", 2, &old);
        assert_eq!(seen.generation("k"), Some(5));
        // A grant issued later, at a lower generation: it is the grant now.
        seen.note("k", 1, &budgeted(3600, 0, false));
        assert_eq!(seen.generation("k"), Some(1));
        seen.forget("k");
        assert_eq!(seen.generation("k"), None);
        assert!(is_count(&budgeted(60, 1, true)));
        assert!(!is_count(&budgeted(60, 1, false)));
        assert!(!is_count(&unlimited));
    }
}
