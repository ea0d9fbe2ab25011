//! The bo part of the demo: a login session kept alive across access-token lifetimes,
//! each refresh rotating the refresh token, and the spent one refused.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokenkit::bo::{BoClient, BoProvider, BoSession, TokenUser, VerifySigner};
use tokenkit::core::http::{Http, HttpConfig, Spend};
use tokenkit::sandbox::Sandbox;
use tokenkit::{MemoryStore, TokenCache, TokenStore};

use crate::output::{CliResult, rfc3339};

/// What `POST /_sandbox/bo/sessions` answers: what the application's login gives.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    access_token: String,
    refresh_token: String,
}

/// The last characters of a secret, enough to tell two apart on screen.
fn tail(secret: &str) -> String {
    let start = secret.len().saturating_sub(6);
    format!("…{}", secret.get(start..).unwrap_or_default())
}

pub async fn run(sandbox: &Sandbox) -> CliResult {
    println!("\n== bo: refresh with the DES-encrypted XverifyApi header ==");
    let http = Http::new("bo", HttpConfig::default())?;
    let request = http
        .client()
        .post(format!("{}/_sandbox/bo/sessions", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"userId": "ptdev", "pushName": "开发管理员"}"#);
    let login: Login = http.send(request, Spend::No).await?.json()?;
    println!(
        "logged in (the application's own login): refresh token {}",
        tail(&login.refresh_token)
    );

    // DES key 12345678, IV = key, plaintext `{guid}|{timestamp}`: the sandbox defaults.
    let signer = VerifySigner::builder("12345678").build()?;
    let client = BoClient::builder(sandbox.base_url(), "demo-owner", signer).build()?;
    let spent = tokenkit::RefreshToken::new(login.refresh_token.clone());
    let provider = BoProvider::new(
        client.clone(),
        BoSession::new(login.access_token, login.refresh_token),
    );
    let store = Arc::new(MemoryStore::new());
    let cache = TokenCache::builder(provider)
        .store(store.clone())
        .key("bo:ptdev")
        .build();

    for round in 0..3 {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(2100)).await;
        }
        let token = cache.token().await?;
        let refresh = token
            .refresh_token()
            .map(|r| tail(r.expose_secret()))
            .unwrap_or_default();
        let stored = store
            .load("bo:ptdev")
            .await?
            .and_then(|v| v.token.refresh_token().map(|r| tail(r.expose_secret())))
            .unwrap_or_default();
        let user = TokenUser::of(&token).and_then(|u| u.push_name);
        println!(
            "token {round}: lives {:.1?}, expires {}, refresh token {refresh} (stored: {stored}){}",
            token.expiry().lifetime(),
            rfc3339(token.expiry().wall()),
            user.map(|u| format!(", user {u}")).unwrap_or_default(),
        );
    }
    println!(
        "refreshes the sandbox saw: {}",
        sandbox.stats().get("bo.refresh")
    );
    match client.refresh(&spent).await {
        Err(e) => println!("the first refresh token again → refused, as it should be: {e}"),
        Ok(_) => println!("unexpected: a spent refresh token was accepted"),
    }
    Ok(())
}
