//! A cached read in tokenkit beside one in the AWS SDK's lazy identity cache
//! (`aws-smithy-runtime`), at 1 and 2 threads, each polled to completion once per call
//! as a caller's `.await` would.
//!
//! Run: `cargo bench --manifest-path comparisons/peer-caches/Cargo.toml`

use std::hint::black_box;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime_api::client::identity::{
    Identity, IdentityFuture, ResolveCachedIdentity, ResolveIdentity, SharedIdentityCache,
    SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use tokenkit::{Arrival, Error, Expiry, Token, TokenCache, TokenProvider, async_trait};

fn main() {
    divan::Divan::from_args()
        .sample_count(200)
        .sample_size(2_000)
        .main();
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
});

/// Polls a future that is expected to be ready at once (a cached read).
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a cached read should not wait"),
    }
}

#[derive(Debug)]
struct OneHour;

#[async_trait]
impl TokenProvider for OneHour {
    async fn fetch(&self) -> Result<Token, Error> {
        Ok(Token::new(
            "cached-token",
            Expiry::after(Arrival::now(), Duration::from_secs(3600)),
        ))
    }
    async fn refresh(&self, _: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

static TOKENKIT: LazyLock<TokenCache> = LazyLock::new(|| {
    let cache = TokenCache::new(OneHour);
    RUNTIME.block_on(async { cache.token().await.map(|_| ()).expect("token") });
    cache
});

#[derive(Debug)]
struct OneHourIdentity;

impl ResolveIdentity for OneHourIdentity {
    fn resolve_identity<'a>(
        &'a self,
        _: &'a RuntimeComponents,
        _: &'a ConfigBag,
    ) -> IdentityFuture<'a> {
        IdentityFuture::ready(Ok(Identity::new(
            "cached-token".to_owned(),
            Some(SystemTime::now() + Duration::from_secs(3600)),
        )))
    }
}

struct Aws {
    cache: SharedIdentityCache,
    resolver: SharedIdentityResolver,
    components: RuntimeComponents,
    config: ConfigBag,
}

static AWS: LazyLock<Aws> = LazyLock::new(|| {
    let _enter = RUNTIME.enter();
    let aws = Aws {
        cache: IdentityCache::lazy().build(),
        resolver: SharedIdentityResolver::new(OneHourIdentity),
        components: RuntimeComponentsBuilder::for_tests()
            .with_time_source(Some(SystemTimeSource::new()))
            .with_sleep_impl(Some(TokioSleep::new()))
            .build()
            .expect("components"),
        config: ConfigBag::base(),
    };
    RUNTIME
        .block_on(aws.cache.resolve_cached_identity(
            aws.resolver.clone(),
            &aws.components,
            &aws.config,
        ))
        .expect("identity");
    aws
});

#[divan::bench(threads = [1, 2])]
fn tokenkit_token_await(bencher: divan::Bencher<'_, '_>) {
    let cache = &*TOKENKIT;
    bencher.bench(|| black_box(ready(cache.token()).is_ok()));
}

#[divan::bench(threads = [1, 2])]
fn aws_identity_cache_lazy(bencher: divan::Bencher<'_, '_>) {
    let aws = &*AWS;
    bencher.bench(|| {
        // The lazy cache arms a tokio sleep for its load timeout: enter the runtime.
        let _enter = RUNTIME.enter();
        let identity = ready(aws.cache.resolve_cached_identity(
            aws.resolver.clone(),
            &aws.components,
            &aws.config,
        ));
        black_box(identity.is_ok())
    });
}
