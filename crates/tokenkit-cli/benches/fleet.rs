//! Fleet figures with a real `redis-server` (started here, on its own port):
//!
//! 1. a cached read through a Redis-backed `TokenCache` beside one over `MemoryStore`
//!    (the in-process cache stays in front: both should cost the same);
//! 2. a cold read: a new process's first `token()` that adopts the grant from Redis,
//!    and the bare `RedisStore::load` round trip;
//! 3. 40 `tokenkit ac token --store redis://…` processes started at once against the
//!    sandbox: upstream calls counted, wall time measured.
//!
//! Run: `cargo bench -p tokenkit-cli --bench fleet`

#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenkit::redis::RedisStore;
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{
    Arrival, Error, Expiry, MemoryStore, Token, TokenCache, TokenProvider, TokenStore, async_trait,
};

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

/// Median and minimum ns per call of `f` over `batches` batches of `n` calls.
fn per_call(batches: usize, n: u32, mut f: impl FnMut()) -> (f64, f64) {
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples[0])
}

fn main() {
    let Some(redis) = support::RedisServer::start() else {
        eprintln!("redis-server is needed for this benchmark");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let redis_store: Arc<dyn TokenStore> = Arc::new(
        runtime
            .block_on(RedisStore::builder(redis.url()).connect())
            .expect("redis"),
    );

    // 1. Cached reads.
    let memory_cache = TokenCache::builder(OneHour)
        .store(Arc::new(MemoryStore::new()))
        .key("bench")
        .build();
    let redis_cache = TokenCache::builder(OneHour)
        .store(Arc::clone(&redis_store))
        .key("bench")
        .build();
    runtime.block_on(async {
        memory_cache.token().await.expect("memory");
        redis_cache.token().await.expect("redis");
    });
    println!("cached read (token present and fresh), 31 batches × 2,000,000 calls:");
    for (name, cache) in [
        ("MemoryStore", &memory_cache),
        ("RedisStore ", &redis_cache),
    ] {
        let (median, min) = per_call(31, 2_000_000, || {
            black_box(black_box(cache).cached().is_some());
        });
        println!(
            "  {name}: median {median:6.1} ns/op, min {min:6.1} ns/op ({:.1} Mops/s)",
            1000.0 / median
        );
    }

    // 2. Cold reads.
    let (load_median, load_min) = per_call(201, 1, || {
        runtime
            .block_on(redis_store.load("bench"))
            .expect("load")
            .expect("stored");
    });
    let (cold_median, cold_min) = per_call(201, 1, || {
        let cache = TokenCache::builder(OneHour)
            .store(Arc::clone(&redis_store))
            .key("bench")
            .build();
        runtime.block_on(cache.token()).expect("adopted");
    });
    println!("cold read from Redis, 201 samples:");
    println!(
        "  RedisStore::load:               median {:7.1} µs, min {:7.1} µs",
        load_median / 1000.0,
        load_min / 1000.0
    );
    println!(
        "  new TokenCache, first token():  median {:7.1} µs, min {:7.1} µs",
        cold_median / 1000.0,
        cold_min / 1000.0
    );

    // 3. 40 processes at once.
    let mut config = SandboxConfig::default();
    config.ac.ttl = Duration::from_secs(3600);
    let sandbox: Sandbox = runtime.block_on(Sandbox::start(config)).expect("sandbox");
    let start = Instant::now();
    let children: Vec<_> = (0..40)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_tokenkit"))
                .args([
                    "ac",
                    "token",
                    "--user",
                    "demo",
                    "--org-id",
                    "demo-org",
                    "--cluster",
                    "11112",
                ])
                .args(["--base-url", &sandbox.base_url(), "--store", &redis.url()])
                .env("TOKENKIT_AC_PASSWORD", "demo-password")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("ran"))
        .collect();
    let elapsed = start.elapsed();
    let ok = outputs.iter().filter(|o| o.status.success()).count();
    let distinct: std::collections::BTreeSet<_> =
        outputs.iter().map(|o| o.stdout.clone()).collect();
    println!("40 `tokenkit ac token --store redis://…` processes started at once:");
    println!(
        "  {ok}/40 succeeded, {} distinct token(s), upstream logins {}, renewals {}, wall time {:.0} ms",
        distinct.len(),
        sandbox.stats().get("ac.tokens"),
        sandbox.stats().get("ac.next"),
        elapsed.as_secs_f64() * 1000.0
    );
}
