//! Keeps a bo user's session alive across several access-token lifetimes (60 s, like
//! the platform's sample token), storing each rotated refresh token before the new
//! access token is used: losing it would log the user out.
//!
//! Runs against the in-process sandbox. The first argument sets the lifetime in seconds
//! (default 60), e.g. `cargo run --example bo_session --features bo,sandbox -- 2`.

use std::sync::Arc;
use std::time::Duration;

use tokenkit::bo::{BoClient, BoProvider, BoSession, TokenUser, VerifySigner};
use tokenkit::sandbox::{Sandbox, SandboxConfig};
use tokenkit::{Error, FileStore, TokenCache, TokenStore};

const LIFETIMES: u32 = 3;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let ttl: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let mut config = SandboxConfig::default();
    config.bo.ttl = Duration::from_secs(ttl);
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| Error::config(format!("sandbox: {}", e.kind())))?;

    // 1. The application's own login gives an access token and a refresh token.
    let session = login(&sandbox, "ptdev").await?;

    // 2. The bo client: DES key and project id as the platform issued them.
    let signer = VerifySigner::builder("12345678").build()?;
    let client = BoClient::builder(sandbox.base_url(), "demo-owner", signer).build()?;

    // 3. A cache over a file store: each new token (and its refresh token) is written
    //    to disk before anyone uses it, so a restart resumes the session.
    let dir = std::env::temp_dir().join(format!("tokenkit-bo-example-{}", std::process::id()));
    let store = Arc::new(FileStore::open(&dir)?);
    let cache = TokenCache::builder(BoProvider::new(client, session))
        .store(store.clone())
        .key("bo:ptdev")
        .build();

    let started = tokio::time::Instant::now();
    let mut rotations = 0;
    let mut last_refresh = None;
    while started.elapsed() < Duration::from_secs(ttl * u64::from(LIFETIMES)) {
        let token = cache.token().await?;
        let refresh = token.refresh_token().cloned();
        if refresh != last_refresh {
            rotations += 1;
            let stored = store
                .load("bo:ptdev")
                .await?
                .and_then(|v| v.token.refresh_token().cloned());
            assert_eq!(stored, refresh, "stored before it was handed out");
            let user = TokenUser::of(&token)
                .and_then(|u| u.push_name)
                .unwrap_or_default();
            println!(
                "[{:>5.1}s] new access token for {user:?}, {:.1?} left; refresh token rotated and stored",
                started.elapsed().as_secs_f64(),
                token.remaining(),
            );
            last_refresh = refresh;
        }
        // An application would call its API here with `token.access_token()`.
        tokio::time::sleep(Duration::from_millis(250).min(Duration::from_secs(ttl) / 4)).await;
    }
    println!(
        "{rotations} tokens over {LIFETIMES} lifetimes; the platform saw {} refreshes",
        sandbox.stats().get("bo.refresh")
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Stands in for the application's login: `POST /_sandbox/bo/sessions`.
async fn login(sandbox: &Sandbox, user_id: &str) -> Result<BoSession, Error> {
    let reply = reqwest::Client::new()
        .post(format!("{}/_sandbox/bo/sessions", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({"userId": user_id, "pushName": "开发管理员"}).to_string())
        .send()
        .await
        .map_err(|_| Error::config("the sandbox login failed"))?
        .bytes()
        .await
        .map_err(|_| Error::config("the sandbox login failed"))?;
    let reply: serde_json::Value = serde_json::from_slice(&reply)
        .map_err(|_| Error::config("the sandbox login answered no JSON"))?;
    let field = |name: &str| {
        reply[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::config(format!("the sandbox login gave no {name}")))
    };
    Ok(BoSession::new(
        field("accessToken")?,
        field("refreshToken")?,
    ))
}
