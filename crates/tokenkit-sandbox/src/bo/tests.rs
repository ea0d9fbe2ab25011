//! The bo routes over a real socket: the protected `whoami`, revocation, and which
//! access tokens stay valid across a refresh.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use serde_json::{Value, json};

use super::mint::slash_time;
use super::{BoConfig, REFRESH_PATH, REVOKE_PATH, SESSIONS_PATH, WHOAMI_PATH};
use crate::{Sandbox, SandboxConfig};

#[test]
fn the_seed_expires_claim_format() {
    // 2021-02-25 18:22:37 Beijing = 1614248557 (the seed token's exp).
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_614_248_557);
    assert_eq!(slash_time(t), "2021/2/25 18:22:37");
}

async fn start(bo: BoConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        bo,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
}

async fn post(sandbox: &Sandbox, path: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin answers");
    assert_eq!(response.status(), 200);
    json_of(response).await
}

/// `(accessToken, refreshToken)` of a new session.
async fn session(sandbox: &Sandbox) -> (String, String) {
    let body = json!({"userId": "ptdev", "userName": "dev", "pushName": "开发管理员"});
    let reply = post(sandbox, SESSIONS_PATH, &body).await;
    let text = |f: &str| reply[f].as_str().expect("a token").to_owned();
    (text("accessToken"), text("refreshToken"))
}

/// `whoami` with `authorization` as given: (status, body).
async fn whoami(sandbox: &Sandbox, authorization: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}{WHOAMI_PATH}", sandbox.base_url()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("answers");
    (response.status().as_u16(), json_of(response).await)
}

async fn whoami_bearer(sandbox: &Sandbox, token: &str) -> (u16, Value) {
    whoami(sandbox, Some(&format!("Bearer {token}"))).await
}

fn refusal() -> Value {
    json!({"success": false, "code": 401, "message": "token无效或已过期",
           "error": {"errorCode": "TOKEN_INVALID",
                     "errorText": "access token is invalid or expired"}})
}

/// A refresh with a well-formed `XverifyApi` (default key, IV and template).
async fn refresh(sandbox: &Sandbox, refresh_token: &str) -> Value {
    let now = tokenkit_core::civil::unix_millis(SystemTime::now());
    let plaintext = format!("{}|{now}", uuid::Uuid::new_v4());
    let cipher = cbc::Encryptor::<des::Des>::new_from_slices(b"12345678", b"12345678")
        .expect("8-byte key and IV");
    let mut buffer = vec![0_u8; plaintext.len() + 8];
    let encrypted = cipher
        .encrypt_padded_b2b::<Pkcs7>(plaintext.as_bytes(), &mut buffer)
        .expect("room for the padding");
    let response = reqwest::Client::new()
        .get(format!("{}{REFRESH_PATH}", sandbox.base_url()))
        .query(&[("refreshToken", refresh_token), ("_nodejs", "common-data")])
        .header("content-type", "application/json; charset=utf-8")
        .header("XownerId", "demo-owner")
        .header("XverifyApi", STANDARD.encode(encrypted))
        .send()
        .await
        .expect("answers");
    json_of(response).await
}

#[tokio::test]
async fn whoami_accepts_a_session_token_and_names_its_user() {
    let sandbox = start(BoConfig::default()).await;
    let (access, _) = session(&sandbox).await;
    let (status, body) = whoami_bearer(&sandbox, &access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"success": true,
               "data": {"userId": "ptdev", "userName": "dev", "pushName": "开发管理员"}})
    );
    let (status, _) = whoami(&sandbox, Some(&format!("bearer {access}"))).await;
    assert_eq!(status, 200, "the scheme is case-insensitive");
    assert_eq!(sandbox.stats().get("bo.whoami"), 2);
    assert_eq!(
        sandbox.stats().get("bo.sessions"),
        0,
        "admin is not platform traffic"
    );
}

#[tokio::test]
async fn whoami_refuses_missing_foreign_and_malformed_tokens_with_401() {
    let sandbox = start(BoConfig::default()).await;
    let (access, refresh_token) = session(&sandbox).await;
    let claims: Value = tokenkit_core::jwt::decode_claims(&access)
        .expect("a JWT")
        .into();
    let foreign = crate::jwt::mint_hs256(b"another key", &claims);
    // Signed with the sandbox key but never issued by bo (as ilab's tokens are).
    let mut unissued = claims.clone();
    unissued["jti"] = json!("not-issued");
    let unissued = crate::jwt::mint_hs256(b"tokenkit-sandbox-signing-key", &unissued);
    for authorization in [
        None,
        Some("Bearer".to_owned()),
        Some(format!("Basic {access}")),
        Some(format!("Bearer {foreign}")),
        Some(format!("Bearer {unissued}")),
        Some(format!("Bearer {refresh_token}")),
        Some("Bearer not.a.jwt".to_owned()),
    ] {
        let (status, body) = whoami(&sandbox, authorization.as_deref()).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(body, refusal(), "{authorization:?}");
    }
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_and_others_are_not() {
    let sandbox = start(BoConfig::default()).await;
    let (revoked, _) = session(&sandbox).await;
    let (other, _) = session(&sandbox).await;
    let answer = post(&sandbox, REVOKE_PATH, &json!({"token": revoked})).await;
    assert_eq!(answer, json!({"revoked": true}));
    let (status, body) = whoami_bearer(&sandbox, &revoked).await;
    assert_eq!((status, body), (401, refusal()));
    assert_eq!(whoami_bearer(&sandbox, &other).await.0, 200);
    let unknown = post(&sandbox, REVOKE_PATH, &json!({"token": "not-a-jwt"})).await;
    assert_eq!(unknown, json!({"revoked": false}));
    assert_eq!(sandbox.stats().get("bo.revoke"), 0);
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_but_keeps_earlier_access_tokens() {
    let sandbox = start(BoConfig::default()).await;
    let (first, refresh_token) = session(&sandbox).await;
    let renewed = refresh(&sandbox, &refresh_token).await;
    assert_eq!(renewed["success"], true, "{renewed}");
    let second = renewed["data"]["accessToken"].as_str().expect("a token");
    assert_ne!(second, first);
    assert_eq!(whoami_bearer(&sandbox, second).await.0, 200);
    assert_eq!(
        whoami_bearer(&sandbox, &first).await.0,
        200,
        "valid until its exp"
    );
    // A refresh-issued token is tracked like a session's: it can be revoked.
    let answer = post(&sandbox, REVOKE_PATH, &json!({"token": second})).await;
    assert_eq!(answer["revoked"], true);
    assert_eq!(whoami_bearer(&sandbox, second).await.0, 401);
    assert_eq!(whoami_bearer(&sandbox, &first).await.0, 200);
}

#[tokio::test]
async fn an_expired_access_token_is_refused_with_401() {
    let sandbox = start(BoConfig {
        ttl: Duration::from_secs(2),
        ..BoConfig::default()
    })
    .await;
    let (access, _) = session(&sandbox).await;
    // `exp` is whole seconds (`iat` rounded down + 2): valid for at least one second,
    // expired for certain two seconds after the session was made.
    assert_eq!(whoami_bearer(&sandbox, &access).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2_050)).await;
    let (status, body) = whoami_bearer(&sandbox, &access).await;
    assert_eq!((status, body), (401, refusal()));
}
