//! Two `TokenCache`s (two "processes") over one Redis: one upstream call for many
//! callers, the budget held across both, and cached reads that never touch Redis.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokenkit_core::{
    Arrival, Error, Expiry, RefreshPolicy, Token, TokenCache, TokenProvider, TokenStore,
    async_trait,
};

/// Calls seen by every provider instance (the platform's view).
#[derive(Debug, Default)]
struct Upstream {
    fetches: AtomicUsize,
    refreshes: AtomicUsize,
    /// Refresh attempts per grant.
    per_grant: Mutex<HashMap<usize, u32>>,
}

/// A scripted platform: grant `n`'s tokens are `g<n>-<refreshes>`; a grant allows two
/// refreshes, like ilab.
#[derive(Debug)]
struct Scripted {
    upstream: Arc<Upstream>,
    lifetime: Duration,
    budget: Option<u32>,
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

fn cache(store: Arc<dyn TokenStore>, provider: Scripted) -> TokenCache {
    TokenCache::builder(provider)
        .store(store)
        .key("grant")
        .poll_interval(Duration::from_millis(20))
        .build()
}

#[tokio::test]
async fn many_callers_in_two_processes_cause_one_upstream_call() {
    let server = redis_or_skip!();
    let upstream = Arc::new(Upstream::default());
    let provider = || Scripted {
        upstream: Arc::clone(&upstream),
        lifetime: Duration::from_secs(3600),
        budget: None,
    };
    let a = cache(Arc::new(server.store().await), provider());
    let b = cache(Arc::new(server.store().await), provider());
    let calls = (0..50).flat_map(|_| [a.token(), b.token()]);
    let tokens = join_all(calls).await;
    for t in &tokens {
        let t = t.as_ref().expect("a token");
        assert_eq!(t.access_token().expose_secret(), "g0-0");
    }
    assert_eq!(upstream.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(upstream.refreshes.load(Ordering::SeqCst), 0);

    // Cached reads are served from memory: Redis sees no command.
    let mut admin = server.admin().await;
    let before = commands_processed(&mut admin).await;
    for _ in 0..1000 {
        assert!(a.token().await.is_ok() && b.token().await.is_ok());
    }
    let after = commands_processed(&mut admin).await;
    assert_eq!(after - before, 1, "only the first INFO itself was counted");
}

#[tokio::test]
async fn two_processes_never_exceed_the_refresh_budget_of_a_grant() {
    let server = redis_or_skip!();
    let upstream = Arc::new(Upstream::default());
    let provider = || Scripted {
        upstream: Arc::clone(&upstream),
        lifetime: Duration::from_millis(600),
        budget: Some(2),
    };
    let a = cache(Arc::new(server.store().await), provider());
    let b = cache(Arc::new(server.store().await), provider());
    // Both processes keep using the token for 3 s: about five lifetimes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
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

async fn commands_processed(admin: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(admin)
        .await
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed")
}

/// A provider that takes its time, so another process waits behind its lease.
#[derive(Debug)]
struct Slow(Duration);

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

#[tokio::test(flavor = "multi_thread")]
async fn a_waiter_wakes_on_the_change_hint_not_at_its_next_poll() {
    let server = redis_or_skip!();
    let holder = TokenCache::builder(Slow(Duration::from_millis(500)))
        .store(Arc::new(server.store().await))
        .key("hinted")
        .build();
    // The waiter polls only every 10 s: without the pub/sub hint it would wait that long.
    let waiter = TokenCache::builder(Slow(Duration::from_secs(60)))
        .store(Arc::new(server.store().await))
        .key("hinted")
        .poll_interval(Duration::from_secs(10))
        .build();
    let holding = tokio::spawn(async move { holder.token().await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(100)).await; // the holder has the lease
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
