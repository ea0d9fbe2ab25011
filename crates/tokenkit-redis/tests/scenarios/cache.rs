//! Two `TokenCache`s (two "processes") sharing one grant: one upstream call for many
//! callers, the budget held across both, cached reads that never touch Redis, and a
//! waiter woken by the change hint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokenkit_core::{
    Arrival, Error, Expiry, RefreshPolicy, Token, TokenCache, TokenProvider, TokenStore,
    async_trait,
};
use tokenkit_redis::RedisStore;

use super::Backend;

/// Calls seen by every provider instance (the platform's view).
#[derive(Debug, Default)]
pub struct Upstream {
    /// Fetches (new grants).
    pub fetches: AtomicUsize,
    /// Refresh attempts, of every grant.
    pub refreshes: AtomicUsize,
    /// Refresh attempts per grant.
    pub per_grant: Mutex<HashMap<usize, u32>>,
}

/// A scripted platform: grant `n`'s tokens are `g<n>-<refreshes>`; with a budget, a
/// grant allows that many refreshes, like ilab (2).
#[derive(Debug)]
pub struct Scripted {
    /// The platform's counters.
    pub upstream: Arc<Upstream>,
    /// Each token's lifetime.
    pub lifetime: Duration,
    /// Refreshes a grant allows.
    pub budget: Option<u32>,
}

#[async_trait]
impl TokenProvider for Scripted {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.upstream.fetches.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(Token::new(
            format!("g{n}-0"),
            Expiry::after(Arrival::now(), self.lifetime),
        ))
    }

    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        self.upstream.refreshes.fetch_add(1, Ordering::SeqCst);
        let access = current.access_token().expose_secret().to_owned();
        let grant: usize = access[1..access.find('-').unwrap_or(1)]
            .parse()
            .unwrap_or(usize::MAX);
        let spent = {
            let mut per_grant = self.upstream.per_grant.lock().expect("lock");
            let spent = per_grant.entry(grant).or_default();
            *spent += 1;
            *spent
        };
        if self.budget.is_some_and(|b| spent > b) {
            return Err(Error::rejected(
                "scripted",
                "5",
                "refresh limit reached",
                "refresh limit reached (more than 2)",
                true,
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(Token::new(
            format!("g{grant}-{spent}"),
            Expiry::after(Arrival::now(), self.lifetime),
        ))
    }

    fn policy(&self) -> RefreshPolicy {
        match self.budget {
            Some(b) => RefreshPolicy::default()
                .with_refresh_budget(b)
                .with_background_refresh(false),
            None => RefreshPolicy::default(),
        }
    }
}

/// A cache of `key` over `store`, polling the store every 20 ms while it waits.
pub fn cache(store: Arc<dyn TokenStore>, key: &str, provider: Scripted) -> TokenCache {
    TokenCache::builder(provider)
        .store(store)
        .key(key)
        .poll_interval(Duration::from_millis(20))
        .build()
}

/// 100 callers in two processes: one fetch; then cached reads send Redis nothing.
pub async fn many_callers_in_two_processes_cause_one_upstream_call(
    backend: &impl Backend,
    key: &str,
) {
    let upstream = Arc::new(Upstream::default());
    let provider = || Scripted {
        upstream: Arc::clone(&upstream),
        lifetime: Duration::from_secs(3600),
        budget: None,
    };
    let a = cache(Arc::new(backend.store().await), key, provider());
    let b = cache(Arc::new(backend.store().await), key, provider());
    let calls = (0..50).flat_map(|_| [a.token(), b.token()]);
    let tokens = join_all(calls).await;
    for t in &tokens {
        let t = t.as_ref().expect("a token");
        assert_eq!(t.access_token().expose_secret(), "g0-0");
    }
    assert_eq!(upstream.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(upstream.refreshes.load(Ordering::SeqCst), 0);

    // Cached reads are served from memory: Redis sees no command.
    let before = backend.commands_processed().await;
    for _ in 0..1000 {
        assert!(a.token().await.is_ok() && b.token().await.is_ok());
    }
    let after = backend.commands_processed().await;
    assert_eq!(
        after - before,
        backend.nodes(),
        "only the first reading's INFO was counted"
    );
}

/// Two processes using a grant of tokens living `lifetime` for five lifetimes: no
/// grant is refreshed more than twice, and its refreshes are used before a new grant is
/// fetched. (Each token must reach its callers within its lifetime: give a loaded
/// machine room.)
pub async fn two_processes_never_exceed_the_refresh_budget_of_a_grant(
    backend: &impl Backend,
    key: &str,
    lifetime: Duration,
) {
    let upstream = Arc::new(Upstream::default());
    let provider = || Scripted {
        upstream: Arc::clone(&upstream),
        lifetime,
        budget: Some(2),
    };
    let a = cache(Arc::new(backend.store().await), key, provider());
    let b = cache(Arc::new(backend.store().await), key, provider());
    // Both processes keep using the token for about five lifetimes.
    let deadline = tokio::time::Instant::now() + lifetime * 5;
    while tokio::time::Instant::now() < deadline {
        let (x, y) = tokio::join!(a.token(), b.token());
        x.expect("a token in process a");
        y.expect("a token in process b");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let per_grant = upstream.per_grant.lock().expect("lock").clone();
    assert!(
        per_grant.values().all(|&n| n <= 2),
        "a grant was refreshed more than twice: {per_grant:?}"
    );
    assert!(
        upstream.refreshes.load(Ordering::SeqCst) >= 2,
        "the budget was used"
    );
    // Refreshes were used before new grants were fetched.
    let fetches = upstream.fetches.load(Ordering::SeqCst);
    assert!((2..=4).contains(&fetches), "{fetches} fetches");
}

/// A provider that takes its time, so another process waits behind its lease.
#[derive(Debug)]
pub struct Slow(pub Duration);

#[async_trait]
impl TokenProvider for Slow {
    async fn fetch(&self) -> Result<Token, Error> {
        tokio::time::sleep(self.0).await;
        Ok(Token::new(
            "slow-token",
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        ))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

/// A waiter behind another process's lease wakes on the change hint, not at its next
/// poll (10 s away). `waiter` is the waiting process's store: on a cluster, one that
/// subscribes on a node which does not serve `key`.
pub async fn a_waiter_wakes_on_the_change_hint_not_at_its_next_poll(
    backend: &impl Backend,
    holder: RedisStore,
    waiter: RedisStore,
    key: &str,
) {
    let lease = holder.lease_key(key);
    let holder = TokenCache::builder(Slow(Duration::from_millis(500)))
        .store(Arc::new(holder))
        .key(key)
        .build();
    // The waiter polls only every 10 s: without the pub/sub hint it would wait that long.
    let waiter = TokenCache::builder(Slow(Duration::from_secs(60)))
        .store(Arc::new(waiter))
        .key(key)
        .poll_interval(Duration::from_secs(10))
        .build();
    let holding = tokio::spawn(async move { holder.token().await.map(|_| ()) });
    let mut admin = backend.admin().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !redis::AsyncCommands::exists::<_, bool>(&mut admin, &lease)
        .await
        .expect("exists")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the holder took no lease"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    let token = waiter.token().await.expect("the holder's token");
    assert_eq!(token.access_token().expose_secret(), "slow-token");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "woke on the hint after {:?}",
        started.elapsed()
    );
    holding.await.expect("task").expect("holder");
}
