//! What the ac tests against the sandbox share: a sandbox with an ac configuration,
//! clients of the demo account with either login, and waiting past a token's expiry.

#![allow(clippy::expect_used, dead_code)]

use std::time::Duration;

use tokenkit::Token;
use tokenkit::ac::AcClient;
use tokenkit::core::http::HttpConfig;
use tokenkit::sandbox::ac::AcConfig;
use tokenkit::sandbox::{Sandbox, SandboxConfig};

pub async fn sandbox(ac: AcConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ac,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// The demo account's password login, with `password`.
pub fn password_client(sandbox: &Sandbox, password: &str) -> AcClient {
    AcClient::builder(sandbox.base_url())
        .user("demo")
        .password(password)
        .org_id("demo-org")
        .http(HttpConfig::default().timeout(Duration::from_secs(5)))
        .build()
        .expect("client")
}

/// The demo account's access-key login, with `secret` as the secret key.
pub fn access_key_client(sandbox: &Sandbox, secret: &str) -> AcClient {
    AcClient::builder(sandbox.base_url())
        .user("demo")
        .access_key("demo-access-key", secret)
        .auth_url(sandbox.base_url())
        .http(HttpConfig::default().timeout(Duration::from_secs(5)))
        .build()
        .expect("client")
}

/// Sleeps until `extra` after the token's (client-side) expiry.
pub async fn sleep_past_expiry(token: &Token, extra: Duration) {
    tokio::time::sleep_until(token.expiry().deadline() + extra).await;
}
