//! One refresh at a time: the single-flight, the store protocol (lease, spend
//! accounting, compare-and-set commit) and the background task.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::{CachedToken, Shared};
use crate::store::{CasOutcome, Lease, Versioned};
use crate::{Error, Token};

/// State guarded by the flight mutex: the last failure, shared with every caller that
/// arrives before its retry time.
#[derive(Default)]
pub(crate) struct Flight {
    pub(super) failure: Option<Failure>,
    pub(super) failures_in_a_row: u32,
}

pub(super) struct Failure {
    pub(super) error: Error,
    pub(super) retry_at: Instant,
    pub(super) generation: u64,
}

/// What one attempt came to.
pub(super) enum Attempt {
    /// A new token is installed.
    Done,
    /// Another holder has the lease (another process is refreshing).
    Busy,
    /// The store moved under us; look again at once.
    Raced,
}

impl Shared {
    /// Waits until the current token no longer needs a refresh (or the refresh failed).
    /// `force` names a generation the caller declared bad (see `invalidate`).
    pub(crate) async fn acquire(&self, force: Option<u64>) -> Result<(), Error> {
        let mut flight = self.flight.lock().await;
        let wait_deadline = Instant::now() + self.config.lease_wait;
        loop {
            let now = Instant::now();
            let current = self.current.load_full();
            let valid = |e: &CachedToken| e.is_valid_at(now) && Some(e.generation()) != force;
            if let Some(entry) = &current {
                let settled = match force {
                    Some(bad) => entry.generation() != bad && entry.is_valid_at(now),
                    None => now < entry.mandatory_at(),
                };
                if settled {
                    return Ok(());
                }
            }
            let generation = current.as_ref().map_or(0, |e| e.generation());
            if let Some(failure) = &flight.failure
                && failure.generation == generation
                && now < failure.retry_at
            {
                return match &current {
                    Some(e) if valid(e) => Ok(()),
                    _ => Err(failure.error.clone()),
                };
            }
            match self.attempt(current.as_deref(), force).await {
                Ok(Attempt::Done) => {
                    flight.failure = None;
                    flight.failures_in_a_row = 0;
                    return Ok(());
                }
                Ok(Attempt::Raced) => continue,
                Ok(Attempt::Busy) => {
                    // Never block while a valid token exists; otherwise poll the store
                    // (jittered) until the other holder commits, for a bounded time.
                    if current.as_deref().is_some_and(valid) {
                        return Ok(());
                    }
                    if Instant::now() >= wait_deadline {
                        return Err(Error::LeaseWaitTimeout {
                            waited: self.config.lease_wait,
                        });
                    }
                    let jittered = self.config.poll_interval.mul_f64(0.5 + fastrand::f64());
                    self.store.wait_for_change(&self.config.key, jittered).await;
                }
                Err(error) => {
                    let retry_at =
                        self.record_failure(&mut flight, &error, current.as_deref(), generation);
                    tracing::warn!(key = %self.config.key, %error, retry_in_ms = retry_at.saturating_duration_since(Instant::now()).as_millis() as u64, "token refresh failed");
                    return match &current {
                        Some(e) if valid(e) => Ok(()),
                        _ => Err(error),
                    };
                }
            }
        }
    }

    pub(super) fn record_failure(
        &self,
        flight: &mut Flight,
        error: &Error,
        current: Option<&CachedToken>,
        generation: u64,
    ) -> Instant {
        flight.failures_in_a_row += 1;
        // The entry now installed: after an unknown outcome it carries the pending
        // grant or the suspicion (a new generation); the failure belongs to that one.
        let installed = self.current.load_full();
        let latest = installed.as_deref().or(current);
        // Bounded by the token's lifetime: short-lived tokens are retried sooner.
        let lifetime = latest.map(|e| e.expiry().lifetime());
        let mut retry_at = Instant::now()
            + self
                .config
                .backoff
                .delay_for_lifetime(flight.failures_in_a_row, lifetime);
        // An unknown outcome, a demand to log in again or an implausible answer is not
        // retried while the old token still works: the first may have spent a refresh,
        // the second cannot succeed by repetition, the third would likely repeat. A
        // suspect token does not work: it is retried at once (bounded backoff).
        let suspect = latest.is_some_and(|e| e.grant().suspect);
        if !suspect
            && (error.is_outcome_unknown() || error.is_reauth_required() || error.is_implausible())
            && let Some(entry) = current
        {
            retry_at = retry_at.max(entry.expiry().deadline());
        }
        // The first failure that made the token suspect says nothing about the
        // platform's health (its answer was lost): the next caller renews at once.
        if suspect && flight.failures_in_a_row == 1 {
            retry_at = Instant::now();
        }
        let generation = installed.as_ref().map_or(generation, |e| e.generation());
        flight.failure = Some(Failure {
            error: error.clone(),
            retry_at,
            generation,
        });
        retry_at
    }

    /// One attempt: adopt a newer stored token, or take the lease and call upstream.
    pub(super) async fn attempt(
        &self,
        current: Option<&CachedToken>,
        force: Option<u64>,
    ) -> Result<Attempt, Error> {
        let key = &self.config.key;
        let forced_token = force.and(current.map(|e| e.token()));
        if self.adopt_newer(current, forced_token).await? {
            return Ok(Attempt::Done);
        }
        let Some(lease) = self.store.try_lease(key, self.config.lease_ttl).await? else {
            return Ok(Attempt::Busy);
        };
        // Someone may have committed between our look and our lease.
        let result = match self.adopt_newer(current, forced_token).await {
            Ok(true) => Ok(Attempt::Done),
            Ok(false) => self.call_upstream(current, &lease).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.store.release_lease(lease).await {
            tracing::warn!(key = %key, error = %e, "could not release the refresh lease");
        }
        result
    }

    /// Installs the stored token if it is newer than ours and usable.
    async fn adopt_newer(
        &self,
        current: Option<&CachedToken>,
        rejected: Option<&Token>,
    ) -> Result<bool, Error> {
        let Some(stored) = self.store.load(&self.config.key).await? else {
            // The record was removed under us (another holder evicted or replaced the
            // grant): what we hold is the base of a new record, so the next
            // compare-and-set creates it instead of conflicting for ever.
            if let Some(entry) = current.filter(|e| e.generation() > 0) {
                self.install_quietly(CachedToken::new(entry.token().clone(), 0, &self.policy));
            }
            return Ok(false);
        };
        let ours = current.map_or(0, |e| e.generation());
        // Generations only grow, except when the key was removed and written anew: a
        // stored generation below ours is such a new record, and it is the grant now.
        if stored.generation == ours && current.is_some() {
            return Ok(false);
        }
        let entry = CachedToken::new(stored.token, stored.generation, &self.policy);
        let usable = Instant::now() < entry.mandatory_at()
            && !rejected.is_some_and(|r| r.same_access_token(&entry));
        if usable {
            self.install(entry);
            return Ok(true);
        }
        // Not usable, but newer: it is the base of the next refresh (latest refresh
        // token and grant accounting).
        if stored.generation != ours {
            self.install_quietly(entry);
        }
        Ok(false)
    }

    /// Calls the provider while holding the lease, renewing the lease meanwhile.
    async fn call_upstream(
        &self,
        current: Option<&CachedToken>,
        lease: &Lease,
    ) -> Result<Attempt, Error> {
        let key = &self.config.key;
        // The base is what the store holds now (install_quietly may have replaced ours).
        let base = self.current.load_full();
        let base = base.as_deref().or(current);
        let now = Instant::now();
        let budgeted = self.policy.refresh_budget.is_some();
        if budgeted && let Some(base) = base.filter(|e| e.grant().implausible) {
            // Neither a refresh nor a fetch: the grant's answers cannot be trusted, and
            // each try would spend what cannot be given back.
            if base.is_valid_at(now) {
                return Ok(Attempt::Done);
            }
            return Err(Error::Implausible {
                platform: self.provider.platform(),
                reason: "an earlier refresh of this grant was answered with a token that was \
                         already expired; no further refresh is spent on it automatically: \
                         authenticate again (a new ticket)"
                    .to_owned(),
            });
        }
        let refreshable = base.filter(|e| {
            let grant = e.grant();
            let budget_left = self
                .policy
                .refresh_budget
                .is_none_or(|b| grant.refreshes_spent < b);
            let window_open = self
                .policy
                .renewal_grace
                .is_none_or(|grace| now < e.expiry().deadline() + grace);
            budget_left && window_open
        });
        // `None` from a refresh: refused in a way only a new login fixes; fetch.
        if let Some(base) = refreshable
            && let Some(attempt) = self.refresh_with_accounting(base, lease).await?
        {
            return Ok(attempt);
        }
        tracing::info!(key = %key, "token fetch started");
        let mut token = self
            .with_lease_renewal(lease, self.provider.fetch())
            .await
            .and_then(|token| self.usable(token))
            .inspect_err(|e| {
                tracing::warn!(key = %key, error = %e, "token fetch failed");
            })?;
        *token.grant_mut() = crate::Grant {
            refresh_budget: self.policy.refresh_budget,
            ..Default::default()
        };
        let expected = self.current.load().as_ref().map_or(0, |e| e.generation());
        self.commit(expected, token).await
    }

    /// A refresh, with the spend counted in the store before the request is sent.
    /// `Ok(None)` means the platform refused in a way only a new login can fix.
    async fn refresh_with_accounting(
        &self,
        base: &CachedToken,
        lease: &Lease,
    ) -> Result<Option<Attempt>, Error> {
        let key = &self.config.key;
        let mut generation = base.generation();
        let budgeted = self.policy.refresh_budget.is_some();
        if budgeted {
            let mut pending = base.token().clone();
            pending.grant_mut().refreshes_spent += 1;
            pending.grant_mut().outcome_unknown = true;
            pending.grant_mut().refresh_budget = self.policy.refresh_budget;
            match self
                .store
                .compare_and_set(key, generation, &pending)
                .await?
            {
                CasOutcome::Written(g) => generation = g,
                CasOutcome::Conflict(_) => return Ok(Some(Attempt::Raced)),
            }
            // Local decisions must see the spend too, whatever happens next.
            self.install_quietly(CachedToken::new(pending, generation, &self.policy));
        }
        let spent = base.grant().refreshes_spent;
        tracing::info!(key = %key, refreshes_spent = spent, "token refresh started");
        match self
            .with_lease_renewal(lease, self.provider.refresh(base.token()))
            .await
            .and_then(|token| self.usable(token))
        {
            Ok(mut token) => {
                let grant = token.grant_mut();
                grant.refreshes_spent = if budgeted { spent + 1 } else { 0 };
                grant.refresh_budget = self.policy.refresh_budget;
                grant.outcome_unknown = false;
                tracing::info!(key = %key, refreshes_spent = grant.refreshes_spent, "token refresh succeeded");
                self.commit(generation, token).await.map(Some)
            }
            Err(error) if error.is_outcome_unknown() => {
                // The spend stays counted and marked unknown in the store.
                tracing::warn!(key = %key, %error, "token refresh outcome unknown; it will not be repeated");
                if !budgeted && self.policy.renewal_revokes {
                    self.mark(base, generation, |grant| grant.suspect = true)
                        .await;
                }
                Err(error)
            }
            Err(error) if error.is_implausible() => {
                tracing::warn!(key = %key, %error, "token refresh answered with an implausible token");
                if budgeted {
                    // Spent (the platform answered), and never spent again automatically.
                    let spent = spent + 1;
                    let budget = self.policy.refresh_budget;
                    self.mark(base, generation, |grant| {
                        grant.refreshes_spent = spent;
                        grant.refresh_budget = budget;
                        grant.outcome_unknown = false;
                        grant.implausible = true;
                    })
                    .await;
                }
                Err(error)
            }
            Err(error) => {
                tracing::warn!(key = %key, %error, "token refresh refused or failed");
                if budgeted && !error.is_reauth_required() {
                    // The platform answered without spending: give the refresh back.
                    let mut restored = base.token().clone();
                    restored.grant_mut().refresh_budget = self.policy.refresh_budget;
                    if let CasOutcome::Written(g) = self
                        .store
                        .compare_and_set(key, generation, &restored)
                        .await?
                    {
                        self.install_quietly(CachedToken::new(restored, g, &self.policy));
                    }
                }
                if error.is_reauth_required() {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// The provider's token, unless it is already expired: then [`Error::Implausible`],
    /// never a token that would send the next caller to another refresh at once.
    fn usable(&self, token: Token) -> Result<Token, Error> {
        if !token.expiry().is_expired() {
            return Ok(token);
        }
        Err(Error::Implausible {
            platform: self.provider.platform(),
            reason: format!(
                "the token handed over had already expired (its lifetime was {:.1}s)",
                token.expiry().lifetime().as_secs_f64()
            ),
        })
    }

    /// Stores `base` with its grant changed by `change` (a suspicion, an implausible
    /// answer), so every holder of the grant sees it, and installs it here. A store that
    /// cannot take it still gets it installed locally.
    async fn mark(
        &self,
        base: &CachedToken,
        generation: u64,
        change: impl FnOnce(&mut crate::Grant),
    ) {
        let mut marked = base.token().clone();
        change(marked.grant_mut());
        let generation = match self
            .store
            .compare_and_set(&self.config.key, generation, &marked)
            .await
        {
            Ok(CasOutcome::Written(g)) => g,
            Ok(CasOutcome::Conflict(_)) => generation,
            Err(e) => {
                tracing::warn!(key = %self.config.key, error = %e, "could not store the grant's new state");
                generation
            }
        };
        self.install_quietly(CachedToken::new(marked, generation, &self.policy));
    }

    /// Stores the new token, then shows it to callers.
    async fn commit(&self, expected: u64, token: Token) -> Result<Attempt, Error> {
        match self
            .store
            .compare_and_set(&self.config.key, expected, &token)
            .await?
        {
            CasOutcome::Written(generation) => {
                self.install(CachedToken::new(token, generation, &self.policy));
                Ok(Attempt::Done)
            }
            CasOutcome::Conflict(theirs) => {
                // Another holder committed meanwhile (our lease lapsed). Prefer theirs
                // if usable; otherwise put ours on top of it.
                match theirs {
                    Some(Versioned {
                        generation,
                        token: stored,
                    }) => {
                        let entry = CachedToken::new(stored, generation, &self.policy);
                        if Instant::now() < entry.mandatory_at() {
                            self.install(entry);
                            return Ok(Attempt::Done);
                        }
                        match self
                            .store
                            .compare_and_set(&self.config.key, generation, &token)
                            .await?
                        {
                            CasOutcome::Written(g) => {
                                self.install(CachedToken::new(token, g, &self.policy));
                                Ok(Attempt::Done)
                            }
                            CasOutcome::Conflict(_) => Ok(Attempt::Raced),
                        }
                    }
                    None => match self
                        .store
                        .compare_and_set(&self.config.key, 0, &token)
                        .await?
                    {
                        CasOutcome::Written(g) => {
                            self.install(CachedToken::new(token, g, &self.policy));
                            Ok(Attempt::Done)
                        }
                        CasOutcome::Conflict(_) => Ok(Attempt::Raced),
                    },
                }
            }
        }
    }

    /// Runs `call`, renewing the lease every third of its lifetime meanwhile.
    async fn with_lease_renewal<T>(&self, lease: &Lease, call: impl Future<Output = T>) -> T {
        let period = self.config.lease_ttl / 3;
        tokio::pin!(call);
        loop {
            tokio::select! {
                out = &mut call => return out,
                () = sleep(period.max(Duration::from_millis(10))) => {
                    match self.store.renew_lease(lease, self.config.lease_ttl).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(key = %self.config.key, "refresh lease lost during the upstream call"),
                        Err(e) => tracing::warn!(key = %self.config.key, error = %e, "could not renew the refresh lease"),
                    }
                }
            }
        }
    }

    fn install(&self, entry: CachedToken) {
        let entry = Arc::new(entry);
        self.current.store(Some(Arc::clone(&entry)));
        self.changes.send_replace(Some(entry));
    }

    /// Installs without telling subscribers: same access token, new bookkeeping.
    fn install_quietly(&self, entry: CachedToken) {
        self.current.store(Some(Arc::new(entry)));
    }
}
