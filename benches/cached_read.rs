//! The hot path: reading a cached token, at 1 and 2 threads, beside the designs other
//! token caches use.
//!
//! Run: `cargo bench -p tokenkit --bench cached_read`
//!
//! - `floor`: a plain `&Token` read plus `Instant::now()` and the expiry compare — the
//!   least any cache can do.
//! - `tokenkit_cached`: `TokenCache::cached()`, the fresh path of `token()`.
//! - `tokenkit_cached_and_read`: the same, then reading the token through the guard.
//! - `tokenkit_token_future`: the `token()` future polled once (what `.await` costs).
//! - `mutex_arc`: `Mutex<Option<Arc<Token>>>`, clone the `Arc` (Go x/oauth2, yup-oauth2).
//! - `rwlock_arc`: `RwLock<Arc<Token>>`, clone the `Arc`.
//! - `arc_swap_load`: a bare `ArcSwap::load` guard.

use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokenkit::{Arrival, Error, Expiry, Token, TokenCache, TokenProvider, async_trait};
use tokio::time::Instant;

fn main() {
    // Fixed, large samples: divan's calibration otherwise picks 100 iterations per
    // sample at 1 thread, where the timer's own cost dominates a 20 ns operation.
    divan::Divan::from_args()
        .sample_count(200)
        .sample_size(5_000)
        .main();
}

#[derive(Debug)]
struct OneHour;

#[async_trait]
impl TokenProvider for OneHour {
    async fn fetch(&self) -> Result<Token, Error> {
        Ok(Token::new(
            "eyJhbGciOiJIUzI1NiJ9.eyJ1biI6ImJlbmNoIn0.c2ln",
            Expiry::after(Arrival::now(), Duration::from_secs(3600)),
        ))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

fn token() -> Token {
    Token::new(
        "eyJhbGciOiJIUzI1NiJ9.eyJ1biI6ImJlbmNoIn0.c2ln",
        Expiry::after(Arrival::now(), Duration::from_secs(3600)),
    )
}

static PLAIN: LazyLock<Token> = LazyLock::new(token);
static MUTEX: LazyLock<Mutex<Option<Arc<Token>>>> =
    LazyLock::new(|| Mutex::new(Some(Arc::new(token()))));
static RWLOCK: LazyLock<RwLock<Arc<Token>>> = LazyLock::new(|| RwLock::new(Arc::new(token())));
static SWAP: LazyLock<ArcSwap<Token>> = LazyLock::new(|| ArcSwap::from_pointee(token()));
static CACHE: LazyLock<TokenCache> = LazyLock::new(|| {
    let cache = TokenCache::new(OneHour);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        cache.token().await.expect("first token");
    });
    cache
});

#[divan::bench(threads = [1, 2])]
fn floor() -> bool {
    let token: &Token = black_box(&PLAIN);
    Instant::now() < token.expiry().deadline()
}

#[divan::bench(threads = [1, 2])]
fn tokenkit_cached(bencher: divan::Bencher<'_, '_>) {
    let cache = &*CACHE;
    // Like the designs beside it: get a valid token (the expiry check is inside).
    bencher.bench(|| black_box(cache.cached()).is_some());
}

#[divan::bench(threads = [1, 2])]
fn tokenkit_cached_and_read(bencher: divan::Bencher<'_, '_>) {
    let cache = &*CACHE;
    // The same, plus reading the access token's bytes through the guard.
    bencher.bench(|| {
        let guard = cache.cached().expect("fresh");
        black_box(guard.access_token().expose_secret().len())
    });
}

#[divan::bench(threads = [1, 2])]
fn tokenkit_token_future(bencher: divan::Bencher<'_, '_>) {
    let cache = &*CACHE;
    bencher.bench(|| {
        let mut cx = Context::from_waker(Waker::noop());
        let future = pin!(cache.token());
        match future.poll(&mut cx) {
            Poll::Ready(Ok(guard)) => black_box(guard.access_token().expose_secret().len()),
            _ => unreachable!("a fresh token is ready at once"),
        }
    });
}

#[divan::bench(threads = [1, 2])]
fn mutex_arc() -> bool {
    let token = MUTEX.lock().expect("lock").clone().expect("token");
    Instant::now() < black_box(token).expiry().deadline()
}

#[divan::bench(threads = [1, 2])]
fn rwlock_arc() -> bool {
    let token = Arc::clone(&RWLOCK.read().expect("lock"));
    Instant::now() < black_box(token).expiry().deadline()
}

#[divan::bench(threads = [1, 2])]
fn arc_swap_load() -> bool {
    let guard = SWAP.load();
    Instant::now() < black_box(&guard).expiry().deadline()
}
