//! A lease holder killed with SIGKILL — before it spent a refresh, and after — never
//! makes the fleet exceed the ilab budget, and never blocks it for longer than the
//! lease. The test binary re-runs itself as the holder process: a test binary using
//! these scenarios has a test named `holder_entry` that calls [`holder_entry`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokenkit_core::{
    Arrival, Error, Expiry, Grant, RefreshPolicy, Token, TokenCache, TokenProvider, TokenStore,
    async_trait,
};

use super::Backend;

const ROLE: &str = "TOKENKIT_TEST_HOLDER";
const URL: &str = "TOKENKIT_TEST_REDIS_URL";
const DIR: &str = "TOKENKIT_TEST_DIR";
const PREFIX: &str = "TOKENKIT_TEST_PREFIX";
const KEY: &str = "TOKENKIT_TEST_KEY";
const LEASE: Duration = Duration::from_secs(1);

fn ilab_like() -> RefreshPolicy {
    RefreshPolicy::default()
        .with_refresh_budget(2)
        .with_background_refresh(false)
}

/// The holder: announces each upstream call in a file, then hangs until killed.
#[derive(Debug)]
struct Hanging {
    dir: PathBuf,
}

#[async_trait]
impl TokenProvider for Hanging {
    async fn fetch(&self) -> Result<Token, Error> {
        std::fs::write(self.dir.join("in-fetch"), b"1").expect("marker");
        tokio::time::sleep(Duration::from_secs(600)).await;
        Err(Error::config("unreachable"))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        std::fs::write(self.dir.join("in-refresh"), b"1").expect("marker");
        tokio::time::sleep(Duration::from_secs(600)).await;
        Err(Error::config("unreachable"))
    }
    fn policy(&self) -> RefreshPolicy {
        ilab_like()
    }
}

/// The survivor: answers at once and counts. It holds a launch ticket only if
/// `has_ticket`; a fetch without one is refused like a used ilab ticket.
#[derive(Debug, Default)]
struct Counting {
    has_ticket: bool,
    fetches: AtomicU32,
    refreshes: AtomicU32,
}

#[async_trait]
impl TokenProvider for Counting {
    async fn fetch(&self) -> Result<Token, Error> {
        if self.fetches.fetch_add(1, Ordering::SeqCst) > 0 || !self.has_ticket {
            return Err(Error::reauth("test", "the ticket was used: relaunch"));
        }
        Ok(short("fetched"))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(short(&format!("refreshed-{n}")))
    }
    fn policy(&self) -> RefreshPolicy {
        ilab_like()
    }
}

fn short(access: &str) -> Token {
    Token::new(
        access,
        Expiry::after(Arrival::now(), Duration::from_millis(600)),
    )
}

/// The body of the holder process (a test of its own does nothing).
pub fn holder_entry() {
    let (Ok(url), Ok(dir), Ok(prefix), Ok(key)) = (
        std::env::var(URL),
        std::env::var(DIR),
        std::env::var(PREFIX),
        std::env::var(KEY),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let store = tokenkit_redis::RedisStore::builder(url)
            .prefix(prefix)
            .connect()
            .await
            .expect("connect");
        let cache = TokenCache::builder(Hanging { dir: dir.into() })
            .store(Arc::new(store))
            .key(key)
            .lease(LEASE, Duration::from_secs(600))
            .build();
        let _ = cache.token().await;
    });
}

fn spawn_holder(backend: &impl Backend, key: &str, dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["holder_entry", "--exact", "--test-threads=1"])
        .env(ROLE, "holder")
        .env(URL, backend.url())
        .env(PREFIX, backend.prefix())
        .env(KEY, key)
        .env(DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn holder")
}

fn wait_for(path: &Path) {
    for _ in 0..500 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the holder never reached {}", path.display());
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-killed-holder-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Killed while fetching: the survivor fetches once the lease lapsed; nothing spent.
pub async fn a_holder_killed_before_spending_only_delays_the_fleet_by_its_lease(
    backend: &impl Backend,
    key: &str,
) {
    let dir = temp_dir();
    let mut holder = spawn_holder(backend, key, &dir);
    wait_for(&dir.join("in-fetch"));
    holder.kill().expect("SIGKILL");
    holder.wait().expect("reaped");

    let store = Arc::new(backend.store().await);
    let survivor = Arc::new(Counting {
        has_ticket: true,
        ..Counting::default()
    });
    let cache = TokenCache::builder_arc(survivor.clone())
        .store(store.clone())
        .key(key)
        .lease(LEASE, Duration::from_secs(5))
        .build();
    let started = std::time::Instant::now();
    let token = cache.token().await.expect("fetched once the lease lapsed");
    assert_eq!(token.access_token().expose_secret(), "fetched");
    assert!(started.elapsed() < LEASE + Duration::from_secs(2));
    let stored = store.load(key).await.expect("load").expect("stored");
    assert_eq!(stored.token.grant().refreshes_spent, 0, "nothing was spent");
    std::fs::remove_dir_all(dir).ok();
}

/// Killed while refreshing (its spend counted): the survivor spends only the one
/// refresh left.
pub async fn a_holder_killed_after_spending_never_lets_the_fleet_exceed_the_budget(
    backend: &impl Backend,
    key: &str,
) {
    let store = Arc::new(backend.store().await);
    // A grant whose access token has just expired, no refresh spent yet.
    let seeded = short("exchanged").with_grant(Grant {
        refreshes_spent: 0,
        refresh_budget: Some(2),
        outcome_unknown: false,
        ..Default::default()
    });
    store.compare_and_set(key, 0, &seeded).await.expect("seed");
    tokio::time::sleep(Duration::from_millis(700)).await;

    let dir = temp_dir();
    let mut holder = spawn_holder(backend, key, &dir);
    wait_for(&dir.join("in-refresh"));
    holder.kill().expect("SIGKILL mid-refresh");
    holder.wait().expect("reaped");

    let stored = store.load(key).await.expect("load").expect("stored");
    assert_eq!(
        stored.token.grant().refreshes_spent,
        1,
        "counted before sending"
    );
    assert!(
        stored.token.grant().outcome_unknown,
        "its outcome is unknown"
    );

    let survivor = Arc::new(Counting::default());
    let cache = TokenCache::builder_arc(survivor.clone())
        .store(store.clone())
        .key(key)
        .lease(LEASE, Duration::from_secs(5))
        .build();
    // The survivor may spend only what is left: one refresh.
    let token = cache.token().await.expect("the one refresh left");
    assert_eq!(token.access_token().expose_secret(), "refreshed-1");
    assert_eq!(token.grant().refreshes_spent, 2);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let err = cache.token().await.expect_err("budget spent");
    assert!(err.is_reauth_required(), "{err}");
    assert_eq!(
        survivor.refreshes.load(Ordering::SeqCst),
        1,
        "1 (killed holder) + 1 (survivor) = the budget of 2"
    );
    std::fs::remove_dir_all(dir).ok();
}
