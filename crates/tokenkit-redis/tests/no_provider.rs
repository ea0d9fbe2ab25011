//! Built without the `rustls` feature and without a crypto provider installed
//! (`cargo test -p tokenkit-redis --no-default-features --features rustls-no-provider
//! --test no_provider`): a `rediss://` store is a clear configuration error instead of
//! rustls's panic, and works once the application has installed a provider.

#![cfg(not(feature = "rustls"))]

use tokenkit_core::Error;
use tokenkit_redis::RedisStore;

#[tokio::test]
async fn rediss_needs_the_applications_crypto_provider() {
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "nothing in this test binary installs a provider before this"
    );
    // A plain URL needs none.
    RedisStore::builder("redis://127.0.0.1:1/")
        .build()
        .expect("plain redis needs no provider");
    let err = RedisStore::builder("rediss://127.0.0.1:1/")
        .build()
        .expect_err("no provider");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("rediss:// needs a rustls crypto provider: install one with rustls::crypto::CryptoProvider::install_default"),
        "{err}"
    );
    // The application installs one (here aws-lc-rs; ring would do as well).
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .expect("first install");
    RedisStore::builder("rediss://127.0.0.1:1/")
        .build()
        .expect("with the application's provider");
}
