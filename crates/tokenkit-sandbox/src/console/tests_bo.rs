//! The bo page and its revoke action over a real socket: sessions as chains of
//! refresh tokens, revoking a session as a whole, the journal's account of it, and
//! nothing on the page that gives a token or the DES key away.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use serde_json::{Value, json};

use super::tests::{answer_of, client};
use crate::bo::{BoConfig, REFRESH_PATH, REVOKE_PATH, SESSIONS_PATH, WHOAMI_PATH};
use crate::mask::mask;
use crate::{Sandbox, SandboxConfig};

/// Sentinel DES key and IV (8 bytes each): neither may appear on any page.
const KEY: &str = "SntK3y!8";
const IV: &str = "SntIv#08";

async fn start(rotate_refresh_tokens: bool) -> Sandbox {
    Sandbox::start(SandboxConfig {
        bo: BoConfig {
            des_key: KEY.into(),
            des_iv: Some(IV.into()),
            owner_id: "owner-of-tests".into(),
            rotate_refresh_tokens,
            ..BoConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
}

/// `(accessToken, refreshToken)` of a new session of `user_id`.
async fn session(sandbox: &Sandbox, user_id: &str) -> (String, String) {
    let response = client()
        .post(format!("{}{SESSIONS_PATH}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(json!({"userId": user_id, "userName": "开发"}).to_string())
        .send()
        .await
        .expect("admin answers");
    assert_eq!(response.status(), 200);
    let reply = json_of(response).await;
    let text = |f: &str| reply[f].as_str().expect("a token").to_owned();
    (text("accessToken"), text("refreshToken"))
}

/// A refresh with a well-formed `XverifyApi` under the sentinel key and IV.
async fn refresh(sandbox: &Sandbox, refresh_token: &str) -> Value {
    let now = tokenkit_core::civil::unix_millis(SystemTime::now());
    let plaintext = format!("{}|{now}", uuid::Uuid::new_v4());
    let cipher = cbc::Encryptor::<des::Des>::new_from_slices(KEY.as_bytes(), IV.as_bytes())
        .expect("8-byte key and IV");
    let mut buffer = vec![0_u8; plaintext.len() + 8];
    let encrypted = cipher
        .encrypt_padded_b2b::<Pkcs7>(plaintext.as_bytes(), &mut buffer)
        .expect("room for the padding");
    let response = client()
        .get(format!("{}{REFRESH_PATH}", sandbox.base_url()))
        .query(&[("refreshToken", refresh_token), ("_nodejs", "common-data")])
        .header("content-type", "application/json; charset=utf-8")
        .header("XownerId", "owner-of-tests")
        .header("XverifyApi", STANDARD.encode(encrypted))
        .send()
        .await
        .expect("answers");
    json_of(response).await
}

/// `(accessToken, refreshToken)` of a successful refresh.
async fn refreshed(sandbox: &Sandbox, refresh_token: &str) -> (String, String) {
    let body = refresh(sandbox, refresh_token).await;
    assert_eq!(body["success"], true, "{body}");
    let text = |f: &str| body["data"][f].as_str().expect("a token").to_owned();
    (text("accessToken"), text("refreshToken"))
}

async fn whoami(sandbox: &Sandbox, access: &str) -> u16 {
    client()
        .get(format!("{}{WHOAMI_PATH}", sandbox.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

/// The bo page with `query` (`""` or `?…`), as text.
async fn page(sandbox: &Sandbox, query: &str) -> String {
    let path = format!("{}{query}", super::BO_PATH);
    let (status, html) = super::tests::get_page(sandbox, &path).await;
    assert_eq!(status, 200, "{path}");
    html
}

/// Submits the revoke form with `body` as its fields: (status, `Location`, body).
async fn press_revoke(sandbox: &Sandbox, body: &str) -> (u16, String, String) {
    let response = client()
        .post(format!("{}/_sandbox/console/bo/revoke", sandbox.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("the console answers");
    let (status, location, body) = answer_of(response).await;
    (status, location.unwrap_or_default(), body)
}

/// The row of session `number`.
fn row(page: &str, number: u64) -> &str {
    let start = page
        .find(&format!("<tr data-session=\"{number}\">"))
        .unwrap_or_else(|| panic!("a row for session {number}: {page}"));
    let end = page[start..].find("</tr>").expect("the row ends") + start;
    &page[start..end]
}

/// The refresh-token items of a row, in order: (class, text).
fn chain_items(row: &str) -> Vec<(&str, &str)> {
    row.split("<li class=\"")
        .skip(1)
        .filter(|item| item.starts_with("refresh"))
        .map(|item| {
            let (class, rest) = item.split_once('"').expect("a class");
            (class, rest.split("</li>").next().unwrap_or_default())
        })
        .collect()
}

/// How the bo timeline says `token` of `subject` ended (`已轮换 rotated`, `有效 live`).
fn timeline_state(page: &str, subject: &str, token: &str) -> String {
    let tip = format!("<title>{subject} {} · ", mask(token));
    let start = page
        .find(&tip)
        .unwrap_or_else(|| panic!("the timeline has {tip}: {page}"));
    let title = &page[start..start + page[start..].find("</title>").expect("ends")];
    title.rsplit(" · ").next().expect("a state").to_owned()
}

/// Neither the DES key nor the IV nor any whole token is on `page`.
fn assert_no_secrets(page: &str, tokens: &[&str]) {
    assert!(!page.contains(KEY), "the DES key is on the page");
    assert!(!page.contains(IV), "the DES IV is on the page");
    for token in tokens {
        assert!(!page.contains(token), "a whole token is on the page");
    }
}

#[tokio::test]
async fn a_session_refreshed_twice_shows_a_chain_of_three_with_the_last_live() {
    let sandbox = start(true).await;
    let (a1, r1) = session(&sandbox, "ptdev").await;
    let (a2, r2) = refreshed(&sandbox, &r1).await;
    let (a3, r3) = refreshed(&sandbox, &r2).await;
    let html = page(&sandbox, "").await;
    assert!(html.contains("id=\"bo-sessions\""));
    assert!(html.contains("<code id=\"bo-owner\">owner-of-tests</code>"));
    let session = row(&html, 1);
    let chain = chain_items(session);
    assert_eq!(chain.len(), 3, "{session}");
    for ((class, text), (token, want)) in
        chain
            .iter()
            .zip([(&r1, "refresh"), (&r2, "refresh"), (&r3, "refresh live")])
    {
        assert_eq!(*class, want, "{text}");
        assert!(text.contains(&mask(token)), "{text}");
        assert!(text.contains("<time title="), "issue time: {text}");
    }
    assert!(chain[0].1.contains("rotated") && chain[1].1.contains("rotated"));
    assert_eq!(session.matches("<li class=\"token\">").count(), 3);
    for access in [&a1, &a2, &a3] {
        assert!(session.contains(&mask(access)), "{session}");
    }
    assert!(session.contains("name=\"session\" value=\"1\""));
    assert!(session.contains("<button type=\"submit\" class=\"revoke\">吊销 Revoke</button>"));
    let subject = "session 1 · ptdev";
    for (token, want) in [
        (&r1, "已轮换 rotated"),
        (&r2, "已轮换 rotated"),
        (&r3, "有效 live"),
        (&a1, "有效 live"),
        (&a3, "有效 live"),
    ] {
        assert_eq!(timeline_state(&html, subject, token), want);
    }
    assert_no_secrets(&html, &[&a1, &a2, &a3, &r1, &r2, &r3]);
}

#[tokio::test]
async fn revoking_a_session_retires_its_refresh_token_and_its_access_tokens() {
    let sandbox = start(true).await;
    let (a1, r1) = session(&sandbox, "ptdev").await;
    let (a2, r2) = refreshed(&sandbox, &r1).await;
    let (other_access, other_refresh) = session(&sandbox, "other").await;

    let (status, location, _) = press_revoke(&sandbox, "session=1").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/_sandbox/console/bo?notice=revoked")
    );

    let refused = refresh(&sandbox, &r2).await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["code"], 401);
    assert_eq!(refused["error"]["errorCode"], "REFRESH_TOKEN_INVALID");
    assert_eq!(
        refused["error"]["errorText"],
        "the refresh token was revoked"
    );
    let used = refresh(&sandbox, &r1).await;
    assert_eq!(
        used["error"]["errorText"],
        "the refresh token was already used"
    );
    assert_eq!(whoami(&sandbox, &a1).await, 401);
    assert_eq!(whoami(&sandbox, &a2).await, 401);
    // The other session is untouched.
    assert_eq!(whoami(&sandbox, &other_access).await, 200);
    let (other_next, other_refresh_next) = refreshed(&sandbox, &other_refresh).await;

    let html = page(&sandbox, "?notice=revoked").await;
    assert!(html.contains("class=\"notice\""), "the notice is shown");
    let revoked = row(&html, 1);
    assert!(revoked.contains("已吊销"), "{revoked}");
    assert!(
        !revoked.contains("class=\"revoke\""),
        "no button once revoked"
    );
    assert!(!revoked.contains("refresh live"), "{revoked}");
    assert_eq!(chain_items(revoked).len(), 2);
    assert!(row(&html, 2).contains("name=\"session\" value=\"2\""));
    for (subject, token, want) in [
        ("session 1 · ptdev", &r1, "已轮换 rotated"),
        ("session 1 · ptdev", &r2, "已吊销 revoked"),
        ("session 1 · ptdev", &a1, "已吊销 revoked"),
        ("session 1 · ptdev", &a2, "已吊销 revoked"),
        ("session 2 · other", &other_refresh, "已轮换 rotated"),
        ("session 2 · other", &other_refresh_next, "有效 live"),
        ("session 2 · other", &other_access, "有效 live"),
    ] {
        assert_eq!(timeline_state(&html, subject, token), want, "{subject}");
    }
    assert_no_secrets(
        &html,
        &[
            &a1,
            &a2,
            &r1,
            &r2,
            &other_access,
            &other_refresh,
            &other_next,
        ],
    );

    let (status, location, _) = press_revoke(&sandbox, "session=1").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/_sandbox/console/bo?notice=nothing"),
        "a second press has nothing left to revoke"
    );
    assert_eq!(sandbox.stats().get("bo.revoke"), 0, "the console is admin");
}

#[tokio::test]
async fn without_rotation_a_session_keeps_one_refresh_token_until_revoked() {
    let sandbox = start(false).await;
    let (a1, r1) = session(&sandbox, "ptdev").await;
    let (a2, same) = refreshed(&sandbox, &r1).await;
    assert_eq!(same, r1);
    let (a3, _) = refreshed(&sandbox, &r1).await;
    let html = page(&sandbox, "").await;
    let chain = chain_items(row(&html, 1));
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].0, "refresh live");
    assert_eq!(row(&html, 1).matches("<li class=\"token\">").count(), 3);

    assert_eq!(press_revoke(&sandbox, "session=1").await.0, 303);
    let refused = refresh(&sandbox, &r1).await;
    assert_eq!(
        refused["error"]["errorText"],
        "the refresh token was revoked"
    );
    for access in [&a1, &a2, &a3] {
        assert_eq!(whoami(&sandbox, access).await, 401);
    }
    let html = page(&sandbox, "").await;
    assert_eq!(
        timeline_state(&html, "session 1 · ptdev", &r1),
        "已吊销 revoked"
    );
    assert_no_secrets(&html, &[&a1, &a2, &a3, &r1]);
}

#[tokio::test]
async fn an_access_token_revoked_by_the_admin_route_ends_revoked() {
    let sandbox = start(true).await;
    let (a1, r1) = session(&sandbox, "ptdev").await;
    let (a2, _) = refreshed(&sandbox, &r1).await;
    let answer = json_of(
        client()
            .post(format!("{}{REVOKE_PATH}", sandbox.base_url()))
            .body(json!({"token": a1}).to_string())
            .send()
            .await
            .expect("admin answers"),
    )
    .await;
    assert_eq!(answer, json!({"revoked": true}));
    let html = page(&sandbox, "").await;
    let subject = "session 1 · ptdev";
    assert_eq!(timeline_state(&html, subject, &a1), "已吊销 revoked");
    assert_eq!(timeline_state(&html, subject, &a2), "有效 live");
    let session = row(&html, 1);
    let first = session
        .split("<li class=\"token\">")
        .nth(1)
        .expect("the first access token");
    assert!(
        first.contains(&mask(&a1)) && first.contains("revoked"),
        "{first}"
    );
    assert!(
        session.contains("class=\"revoke\""),
        "the session itself stands"
    );
}

#[tokio::test]
async fn a_revoke_that_names_no_session_is_refused_with_a_page() {
    let sandbox = start(true).await;
    let (access, refresh_token) = session(&sandbox, "ptdev").await;
    for body in [
        "",
        "session=",
        "session=abc",
        "session=0",
        "session=2",
        "session=-1",
        "session=1.0",
        "other=1",
    ] {
        let (status, location, html) = press_revoke(&sandbox, body).await;
        assert_eq!((status, location.as_str()), (400, ""), "{body:?}");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{body:?}");
        assert!(html.contains("没有这个会话"), "{body:?}");
        assert_no_secrets(&html, &[&access, &refresh_token]);
    }
    assert_eq!(whoami(&sandbox, &access).await, 200, "nothing was revoked");
}
