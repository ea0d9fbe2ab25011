//! The bo lifecycle against the sandbox (PROTOCOLS.md §3): the client's `XverifyApi`
//! through the sandbox's independent decryptor, rotation, and every refusal.

#![cfg(all(feature = "bo", feature = "sandbox"))]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenkit::bo::{BoClient, BoProvider, BoSession, NodeJsMode, TokenUser, VerifySigner};
use tokenkit::sandbox::bo::{BoConfig, decrypt_verify_header};
use tokenkit::sandbox::{Faults, Sandbox, SandboxConfig};
use tokenkit::{Error, MemoryStore, RefreshToken, TokenCache, TokenStore};

async fn sandbox(bo: BoConfig, faults: Faults) -> Sandbox {
    Sandbox::start(SandboxConfig {
        bo,
        faults,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// What the application's login gives: `POST /_sandbox/bo/sessions`.
async fn login(sandbox: &Sandbox, user_id: &str) -> BoSession {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_sandbox/bo/sessions", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({"userId": user_id}).to_string())
        .send()
        .await
        .expect("admin route")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("json"))
        .expect("body");
    let access = reply["accessToken"].as_str().expect("accessToken");
    let refresh = reply["refreshToken"].as_str().expect("refreshToken");
    assert_eq!(refresh.len(), 32, "opaque 32-character refresh tokens");
    BoSession::new(access, refresh)
}

fn signer() -> VerifySigner {
    VerifySigner::builder("12345678").build().expect("valid")
}

fn client_with(sandbox: &Sandbox, signer: VerifySigner) -> BoClient {
    BoClient::builder(sandbox.base_url(), "demo-owner", signer)
        .build()
        .expect("valid")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

#[test]
fn the_client_signer_round_trips_through_the_sandbox_decryptor() {
    let guid = "2f1c9a4e-8b3d-4c6e-9f1a-0b2c3d4e5f60";
    for (key, iv) in [("12345678", "12345678"), ("abcdefgh", "01234567")] {
        let signer = VerifySigner::builder(key).iv(iv).build().expect("valid");
        let plain = format!("{guid}|{}", now_ms());
        let header = signer.encrypt(&plain).expect("encrypts");
        assert_eq!(
            decrypt_verify_header(key.as_bytes(), iv.as_bytes(), &header),
            Some(plain.clone())
        );
        // A wrong key or IV does not give the plaintext back.
        assert_ne!(
            decrypt_verify_header(b"87654321", iv.as_bytes(), &header),
            Some(plain.clone())
        );
        assert_ne!(
            decrypt_verify_header(key.as_bytes(), b"xxxxxxxx", &header),
            Some(plain)
        );
    }
}

#[tokio::test]
async fn a_session_lives_on_across_rotations_and_a_used_refresh_token_is_refused() {
    let bo = BoConfig {
        ttl: Duration::from_secs(2),
        ..BoConfig::default()
    };
    let sandbox = sandbox(bo, Faults::default()).await;
    let session = login(&sandbox, "alice").await;
    let first_refresh = session.refresh_token().clone();
    let store = Arc::new(MemoryStore::new());
    let cache = TokenCache::builder(BoProvider::new(client_with(&sandbox, signer()), session))
        .store(store.clone())
        .key("bo:alice")
        .build();

    let t0 = cache.token().await.expect("the login session");
    // exp - iat = 2 s, and the session was issued within the current second.
    assert!(
        t0.expiry().lifetime() <= Duration::from_secs(2),
        "JWT exp - iat"
    );
    assert_eq!(sandbox.stats().get("bo.refresh"), 0);

    let mut seen = vec![first_refresh.clone()];
    for round in 1..=2 {
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let t = cache.token().await.expect("refreshed");
        let refresh = t.refresh_token().expect("a refresh token").clone();
        assert!(!seen.contains(&refresh), "round {round}: rotated");
        seen.push(refresh.clone());
        // Stored before it was handed out.
        let stored = store
            .load("bo:alice")
            .await
            .expect("store")
            .expect("a token");
        assert_eq!(stored.token.refresh_token(), Some(&refresh));
        let user = TokenUser::of(&t).expect("tokenUser");
        assert_eq!(user.user_id.as_deref(), Some("alice"));
        let claims = &t.metadata().claims;
        assert_eq!(
            claims["exp"]
                .as_i64()
                .zip(claims["iat"].as_i64())
                .map(|(e, i)| e - i),
            Some(2)
        );
        assert!(claims.contains_key("nbf"));
    }
    assert_eq!(sandbox.stats().get("bo.refresh"), 2);

    // The first refresh token was spent: the platform refuses it, and only a login helps.
    let err = client_with(&sandbox, signer())
        .refresh(&first_refresh)
        .await
        .unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
    assert_eq!(err.platform_code(), Some("401"));
    assert!(err.to_string().contains("already used"), "{err}");
}

#[tokio::test]
async fn snake_case_answers_parse_the_same() {
    let sandbox = sandbox(BoConfig::default(), Faults::default()).await;
    let session = login(&sandbox, "bob").await;
    let client = BoClient::builder(sandbox.base_url(), "demo-owner", signer())
        .nodejs_mode(NodeJsMode::CommonDataUnder)
        .sys_id("portal")
        .build()
        .expect("valid");
    let token = client
        .refresh(session.refresh_token())
        .await
        .expect("refreshed");
    assert_eq!(
        TokenUser::of(&token).and_then(|u| u.user_id),
        Some("bob".into())
    );
    assert_eq!(token.expiry().lifetime(), Duration::from_secs(60));
}

#[tokio::test]
async fn the_verify_header_is_checked() {
    let sandbox = sandbox(BoConfig::default(), Faults::default()).await;
    let refresh = login(&sandbox, "carol").await.refresh_token().clone();
    let refused = |err: Error, error_code: &str| {
        assert_eq!(err.platform_code(), Some("403"), "{err}");
        assert!(
            err.to_string().contains(error_code),
            "{error_code} not in {err}"
        );
        assert!(!err.is_reauth_required());
    };

    // A wrong key.
    let wrong = VerifySigner::builder("87654321").build().expect("valid");
    refused(
        client_with(&sandbox, wrong)
            .refresh(&refresh)
            .await
            .unwrap_err(),
        "VERIFY_DECRYPT",
    );
    // (A wrong IV is not reliably detectable: in CBC it only garbles the first block,
    // the first 8 hex digits of the guid, which often stay hex digits.)
    // A stale timestamp (10 minutes ago) and one from the future.
    for offset in [-600_000, 600_000] {
        let stale = VerifySigner::builder("12345678")
            .plaintext_fn(move |c| format!("{}|{}", c.guid, c.timestamp_ms + offset))
            .build()
            .expect("valid");
        refused(
            client_with(&sandbox, stale)
                .refresh(&refresh)
                .await
                .unwrap_err(),
            "VERIFY_STALE",
        );
    }
    // Another shape than the template.
    let shape = VerifySigner::builder("12345678")
        .template("{timestamp}|{guid}")
        .build()
        .expect("valid");
    refused(
        client_with(&sandbox, shape)
            .refresh(&refresh)
            .await
            .unwrap_err(),
        "VERIFY_SHAPE",
    );
    // A replayed guid: the first use passes, the second is refused.
    let fixed = VerifySigner::builder("12345678")
        .plaintext_fn(|c| format!("6b1e2f1a-3c4d-4e5f-8a9b-0c1d2e3f4a5b|{}", c.timestamp_ms))
        .build()
        .expect("valid");
    let token = client_with(&sandbox, fixed.clone())
        .refresh(&refresh)
        .await
        .expect("first use");
    let next = token.refresh_token().expect("rotated").clone();
    refused(
        client_with(&sandbox, fixed)
            .refresh(&next)
            .await
            .unwrap_err(),
        "VERIFY_REPLAY",
    );
    // None of the refused requests spent the refresh token.
    client_with(&sandbox, signer())
        .refresh(&next)
        .await
        .expect("still valid");
}

#[tokio::test]
async fn other_refusals() {
    let sandbox = sandbox(BoConfig::default(), Faults::default()).await;
    let refresh = login(&sandbox, "dave").await.refresh_token().clone();
    let stranger = BoClient::builder(sandbox.base_url(), "other-owner", signer())
        .build()
        .expect("valid");
    let err = stranger.refresh(&refresh).await.unwrap_err();
    assert_eq!(err.platform_code(), Some("404"), "{err}");
    let err = client_with(&sandbox, signer())
        .refresh(&RefreshToken::new("unknown"))
        .await
        .unwrap_err();
    assert!(err.is_reauth_required(), "{err}");
}

#[tokio::test]
async fn non_rotating_platforms_keep_the_refresh_token() {
    let bo = BoConfig {
        rotate_refresh_tokens: false,
        ..BoConfig::default()
    };
    let sandbox = sandbox(bo, Faults::default()).await;
    let refresh = login(&sandbox, "erin").await.refresh_token().clone();
    let client = client_with(&sandbox, signer());
    for _ in 0..2 {
        let token = client.refresh(&refresh).await.expect("refreshed");
        assert_eq!(token.refresh_token(), Some(&refresh));
    }
}

#[tokio::test]
async fn gateway_faults_are_transient_and_dropped_answers_unknown() {
    let failing = sandbox(
        BoConfig::default(),
        Faults {
            fail_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let refresh = login(&failing, "frank").await.refresh_token().clone();
    let err = client_with(&failing, signer())
        .refresh(&refresh)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");

    let dropping = sandbox(
        BoConfig::default(),
        Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let refresh = login(&dropping, "frank").await.refresh_token().clone();
    let err = client_with(&dropping, signer())
        .refresh(&refresh)
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
}
