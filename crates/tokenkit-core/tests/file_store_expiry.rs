//! FileStore with expiries beyond the 64-bit millisecond range: stored saturated, so a
//! token that lives "forever" loads as valid (a wrapped expiry would load as expired,
//! and every run would spend a refresh).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokenkit_core::{
    Arrival, Error, Expiry, FileStore, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};

/// Far beyond `i64::MAX` milliseconds (about 292 million years), yet small enough for
/// `Instant + Duration` not to overflow.
const ABSURD: Duration = Duration::from_secs(u64::MAX / 4);

/// A year, comfortably less than any saturated expiry.
const YEAR: Duration = Duration::from_secs(365 * 86_400);

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tokenkit-filestore-expiry-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ))
}

/// A platform whose tokens claim an absurd lifetime; counts its calls.
#[derive(Debug, Default)]
struct Absurd {
    calls: AtomicUsize,
}

#[async_trait]
impl TokenProvider for Absurd {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Token::new(
            format!("absurd-{n}"),
            Expiry::after(Arrival::now(), ABSURD),
        ))
    }

    async fn refresh(&self, _current: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

#[tokio::test]
async fn an_expiry_beyond_the_millisecond_range_loads_as_valid() {
    let dir = temp_dir("load");
    let store = FileStore::open(&dir).expect("open");
    let token = Token::new("forever", Expiry::after(Arrival::now(), ABSURD));
    store.compare_and_set("k", 0, &token).await.expect("cas");
    let loaded = store.load("k").await.expect("load").expect("present").token;
    assert!(!loaded.expiry().is_expired(), "wrapped into the past");
    assert!(loaded.remaining() > 99 * YEAR, "{:?}", loaded.remaining());
    assert!(loaded.expiry().lifetime() > 99 * YEAR, "lifetime wrapped");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn a_second_cache_over_the_store_does_not_call_the_platform_again() {
    let dir = temp_dir("cache");
    let provider = Arc::new(Absurd::default());
    for run in 0..2 {
        // Each run is a new "process": a new cache and a new handle on the directory.
        let store = Arc::new(FileStore::open(&dir).expect("open"));
        let cache = TokenCache::builder(Arc::clone(&provider))
            .store(store)
            .key("k")
            .build();
        let token = cache.token().await.expect("token");
        assert_eq!(
            token.access_token().expose_secret(),
            "absurd-0",
            "run {run}"
        );
    }
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    std::fs::remove_dir_all(dir).expect("cleanup");
}
