//! The `open/api/v2` answers over real sockets (§1.3): the shapes typed clients
//! declare, and opaque standard-Base64 tokens that must be percent-encoded exactly once.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::tests::{
    APPID, JsonValue, call, record, revoke, sign, start, ticket, upload, upload_raw,
};
use crate::Sandbox;

/// A `open/api/v2` exchange for a fresh ticket of `un`: the whole answer.
async fn v2_exchange(sandbox: &Sandbox, un: &str) -> Value {
    let t = ticket(sandbox, un).await;
    let sig = sign(&t);
    let body = call(
        sandbox,
        "/open/api/v2/token",
        &[("ticket", &t), ("appid", APPID), ("signature", &sig)],
    )
    .await;
    assert_eq!(body["code"], 0, "{body}");
    body
}

/// A `open/api/v2` refresh with the grant's original access token.
async fn v2_refresh(sandbox: &Sandbox, original: &str) -> Value {
    let sig = sign(original);
    call(
        sandbox,
        "/open/api/v2/token/refresh",
        &[
            ("access_token", original),
            ("appid", APPID),
            ("signature", &sig),
        ],
    )
    .await
}

/// A `open/api/v2` access token of `un`.
pub(crate) async fn v2_token(sandbox: &Sandbox, un: &str) -> String {
    let body = v2_exchange(sandbox, un).await;
    body["access_token"].as_str().expect("a token").to_owned()
}

pub(crate) fn encoded(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Asserts the §1.3 shapes of a v2 answer; returns its lifetime in ms.
fn assert_v2_shape(body: &Value, un: &str) -> i64 {
    let keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "code",
            "create_time",
            "create_time_display",
            "dis",
            "expires_time",
            "expires_time_display",
            "msg",
            "un",
        ],
        "{body}"
    );
    assert!(body["code"].is_u64() && body["code"] == 0, "{body}");
    assert!(body["msg"].is_string() && body["un"] == un, "{body}");
    assert!(body["dis"].is_string(), "{body}");
    let time = |field: &str| {
        let ms = body[field].as_i64().expect("a JSON number");
        assert_eq!(ms.to_string().len(), 13, "{field}: {body}");
        let display =
            tokenkit_core::civil::beijing_display(tokenkit_core::civil::from_unix_millis(ms));
        assert_eq!(body[format!("{field}_display")], display.as_str(), "{body}");
        ms
    };
    let lifetime = time("expires_time") - time("create_time");
    let token = body["access_token"].as_str().expect("a string");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
        "standard Base64: {token}"
    );
    assert!(
        token.contains('+') && token.contains('/') && token.ends_with('='),
        "{token}"
    );
    assert!(STANDARD.decode(token).is_ok(), "{token}");
    assert!(
        tokenkit_core::jwt::decode_claims(token).is_none(),
        "opaque, not a JWT"
    );
    lifetime
}

#[tokio::test]
async fn v2_answers_take_the_shapes_typed_clients_declare() {
    // A lifetime with milliseconds, to show it is kept exactly.
    let ttl = Duration::from_millis(86_399_123);
    let sandbox = start(super::IlabConfig {
        ttl,
        ..super::IlabConfig::default()
    })
    .await;
    let exchanged = v2_exchange(&sandbox, "u1").await;
    assert_eq!(assert_v2_shape(&exchanged, "u1"), 86_399_123);
    assert_eq!(exchanged["dis"], "张三");
    let original = exchanged["access_token"].as_str().expect("a token");
    // The refresh takes the opaque original token (§1.3) and answers in the same shapes.
    let refreshed = v2_refresh(&sandbox, original).await;
    assert_eq!(assert_v2_shape(&refreshed, "u1"), 86_399_123);
    assert_ne!(refreshed["access_token"], exchanged["access_token"]);
    let newer = refreshed["access_token"].as_str().expect("a token");
    assert_eq!(
        upload(&sandbox, newer, &record("u1", "r-1", 1)).await["code"],
        0
    );
    assert_eq!(
        upload(&sandbox, original, &record("u1", "r-1", 1)).await["code"],
        2,
        "refreshed away, opaque or not"
    );
    // A refreshed token cannot start a chain; the original refreshes once more, then
    // the budget is spent.
    assert_eq!(v2_refresh(&sandbox, newer).await["code"], 4);
    assert_eq!(v2_refresh(&sandbox, original).await["code"], 0);
    assert_eq!(v2_refresh(&sandbox, original).await["code"], 5);
    assert_eq!(v2_refresh(&sandbox, "ab+/cd==").await["code"], 3, "unknown");
    // The seed dialect keeps the seed's shapes: JWTs and times as strings.
    let t = ticket(&sandbox, "u1").await;
    let seed = super::tests::exchange(&sandbox, &t).await;
    assert!(seed["create_time"].is_string(), "{seed}");
    assert!(seed["expires_time"].is_string(), "{seed}");
    let jwt = seed["access_token"].as_str().expect("a token");
    assert!(tokenkit_core::jwt::decode_claims(jwt).is_some(), "a JWT");
}

#[tokio::test]
async fn an_opaque_token_must_be_percent_encoded_exactly_once() {
    let sandbox = start(super::IlabConfig::default()).await;
    let token = v2_token(&sandbox, "u1").await;
    let body = record("u1", "r-1", 60);
    // Unencoded, its `+` arrives as a space (and `=`, `/` pass as they are).
    let raw = upload_raw(&sandbox, &format!("access_token={token}"), &body).await;
    assert_eq!(
        raw,
        json!({"code": 2, "msg": "access_token无效或已过期"}),
        "{token}"
    );
    let twice = encoded(&encoded(&token));
    assert_eq!(
        upload_raw(&sandbox, &format!("access_token={twice}"), &body).await["code"],
        2
    );
    let once = encoded(&token);
    assert_eq!(
        upload_raw(&sandbox, &format!("access_token={once}"), &body).await["code"],
        0
    );
    // The v2 refresh reads its parameters the same way: the unencoded original no
    // longer matches its own signature.
    let url = format!(
        "{}/open/api/v2/token/refresh?access_token={token}&appid={APPID}&signature={}",
        sandbox.base_url(),
        sign(&token)
    );
    let refused = reqwest::get(url).await.expect("answers").json_value().await;
    assert_eq!(refused["code"], 2, "{refused}");
    // Revocation knows opaque tokens too.
    assert_eq!(revoke(&sandbox, &token).await, json!({"revoked": true}));
    assert_eq!(upload(&sandbox, &token, &body).await["code"], 2);
}
