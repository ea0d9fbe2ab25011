//! The ilab routes over real sockets.

use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;

use crate::{Sandbox, SandboxConfig};

const APPID: &str = super::DEFAULT_APPID;
const SECRET: &str = super::DEFAULT_SECRET;

fn claims_of(token: &str) -> serde_json::Map<String, Value> {
    tokenkit_core::jwt::decode_claims(token).expect("a JWT")
}

fn sign(value: &str) -> String {
    Md5::digest(format!("{value}{APPID}{SECRET}").as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

async fn start(config: super::IlabConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: config,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn ticket(sandbox: &Sandbox, un: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/_sandbox/ilab/tickets", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(format!(r#"{{"un": "{un}", "dis": "张三"}}"#))
        .send()
        .await
        .expect("admin answers")
        .json_value()
        .await;
    answer["ticket"].as_str().expect("a ticket").to_owned()
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let bytes = self.bytes().await.expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }
}

async fn call(sandbox: &Sandbox, path: &str, params: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sandbox.base_url()))
        .query(params)
        .send()
        .await
        .expect("answers")
        .json_value()
        .await
}

async fn exchange(sandbox: &Sandbox, ticket: &str) -> Value {
    let sig = sign(ticket);
    call(
        sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", ticket), ("appid", APPID), ("signature", &sig)],
    )
    .await
}

async fn refresh(sandbox: &Sandbox, token: &str) -> Value {
    let sig = sign(token);
    call(
        sandbox,
        "/oauth/token/refreshtoken",
        &[
            ("refresh_token", token),
            ("appid", APPID),
            ("signature", &sig),
        ],
    )
    .await
}

#[tokio::test]
async fn tickets_contain_plus_slash_and_equals() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "u1").await;
    assert!(
        t.contains('+') && t.contains('/') && t.ends_with('='),
        "{t}"
    );
}

#[tokio::test]
async fn exchange_answers_every_documented_field() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "1701808169793138690").await;
    let body = exchange(&sandbox, &t).await;
    assert_eq!(body["code"], 0, "{body}");
    for field in [
        "msg",
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
        "un",
        "dis",
        "create_time",
        "create_time_display",
        "expires_time",
        "expires_time_display",
        "jti",
    ] {
        assert!(!body[field].is_null(), "missing {field}: {body}");
    }
    assert_eq!(body["expires_in"], 86399);
    assert_eq!(body["dis"], "张三");
    let created = body["create_time"].as_str().expect("a string");
    assert_eq!(created.len(), 13);
    let ms: i64 = created.parse().expect("digits");
    let display = tokenkit_core::civil::beijing_display(tokenkit_core::civil::from_unix_millis(ms));
    assert_eq!(body["create_time_display"], display.as_str());
    let access = body["access_token"].as_str().expect("token");
    let claims = crate::jwt::verify_hs256(b"tokenkit-sandbox-signing-key", access).expect("HS256");
    assert_eq!(claims["un"], "1701808169793138690");
    assert_eq!(claims["client_id"], APPID);
    assert_eq!(claims["scope"][0], "callback:score");
    assert_eq!(claims["jti"], body["jti"]);
    let refresh = body["refresh_token"].as_str().expect("token");
    let rclaims = claims_of(refresh);
    assert_eq!(rclaims["ati"], body["jti"]);
    assert_eq!(sandbox.stats().get("ilab.accesstoken"), 1);
}

#[tokio::test]
async fn codes_one_to_four_on_exchange() {
    let sandbox = start(super::IlabConfig {
        ticket_ttl: Duration::from_millis(200),
        ..super::IlabConfig::default()
    })
    .await;
    let t = ticket(&sandbox, "u1").await;
    let missing = call(&sandbox, "/oauth/token/accesstoken", &[("ticket", &t)]).await;
    assert_eq!(missing["code"], 1);
    let bad = call(
        &sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", &t), ("appid", APPID), ("signature", "0000")],
    )
    .await;
    assert_eq!(bad["code"], 2);
    // Hashing the encoded ticket is the classic mistake.
    let encoded =
        percent_encoding::utf8_percent_encode(&t, percent_encoding::NON_ALPHANUMERIC).to_string();
    let sig = sign(&encoded);
    let wrong = call(
        &sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", &t), ("appid", APPID), ("signature", &sig)],
    )
    .await;
    assert_eq!(wrong["code"], 2);
    // The bad signatures did not burn the ticket.
    assert_eq!(exchange(&sandbox, &t).await["code"], 0);
    assert_eq!(exchange(&sandbox, &t).await["code"], 4, "single use");
    assert_eq!(exchange(&sandbox, "never-issued").await["code"], 4);
    let late = ticket(&sandbox, "u2").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(exchange(&sandbox, &late).await["code"], 3);
    let other_app = call(
        &sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", &late), ("appid", "42"), ("signature", "x")],
    )
    .await;
    assert_eq!(other_app["code"], 6);
}

#[tokio::test]
async fn an_unencoded_plus_becomes_a_space_and_breaks_the_signature() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "u1").await;
    let url = format!(
        "{}/oauth/token/accesstoken?ticket={t}&appid={APPID}&signature={}",
        sandbox.base_url(),
        sign(&t)
    );
    let body = reqwest::get(url).await.expect("answers").json_value().await;
    assert_eq!(body["code"], 2, "{body}");
}

#[tokio::test]
async fn two_refreshes_with_the_original_token_then_code_5() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "u1").await;
    let first = exchange(&sandbox, &t).await;
    let original = first["refresh_token"].as_str().expect("token").to_owned();
    let one = refresh(&sandbox, &original).await;
    assert_eq!(one["code"], 0, "{one}");
    assert_eq!(one["dis"], "u1", "the refresh answer carries the user id");
    assert_ne!(one["access_token"], first["access_token"]);
    // The refresh token a refresh returns has the grant's jti but cannot refresh.
    let rotated = one["refresh_token"].as_str().expect("token");
    assert_eq!(claims_of(rotated)["jti"], claims_of(&original)["jti"]);
    assert_eq!(refresh(&sandbox, rotated).await["code"], 4);
    // An access token is not a refresh token.
    let access = first["access_token"].as_str().expect("token");
    assert_eq!(refresh(&sandbox, access).await["code"], 4);
    assert_eq!(refresh(&sandbox, &original).await["code"], 0);
    assert_eq!(refresh(&sandbox, &original).await["code"], 5);
    assert_eq!(refresh(&sandbox, "garbage.token.here").await["code"], 3);
    assert_eq!(sandbox.stats().get("ilab.refreshtoken"), 6);
}

#[tokio::test]
async fn post_with_a_form_body_works_like_get() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "u1").await;
    let sig = sign(&t);
    let body = reqwest::Client::new()
        .post(format!("{}/oauth/token/accesstoken", sandbox.base_url()))
        .form(&[
            ("ticket", t.as_str()),
            ("appid", APPID),
            ("signature", &sig),
        ])
        .send()
        .await
        .expect("answers")
        .json_value()
        .await;
    assert_eq!(body["code"], 0, "{body}");
}

#[tokio::test]
async fn the_open_api_v2_dialect() {
    let sandbox = start(super::IlabConfig {
        lowercase_hex: true,
        ..super::IlabConfig::default()
    })
    .await;
    let t = ticket(&sandbox, "u1").await;
    let sig = sign(&t).to_lowercase();
    let body = call(
        &sandbox,
        "/open/api/v2/token",
        &[("ticket", &t), ("appid", APPID), ("signature", &sig)],
    )
    .await;
    assert_eq!(body["code"], 0, "{body}");
    assert!(body["refresh_token"].is_null() && body["un"] == "u1");
    let access = body["access_token"].as_str().expect("token").to_owned();
    let sig = sign(&access).to_lowercase();
    let params = [
        ("access_token", access.as_str()),
        ("appid", APPID),
        ("signature", &sig),
    ];
    let again = call(&sandbox, "/open/api/v2/token/refresh", &params).await;
    assert_eq!(again["code"], 0, "{again}");
    let newer = again["access_token"].as_str().expect("token");
    let sig2 = sign(newer).to_lowercase();
    let chained = call(
        &sandbox,
        "/open/api/v2/token/refresh",
        &[
            ("access_token", newer),
            ("appid", APPID),
            ("signature", &sig2),
        ],
    )
    .await;
    assert_eq!(chained["code"], 4, "a refreshed token cannot start a chain");
    assert_eq!(
        call(&sandbox, "/open/api/v2/token/refresh", &params).await["code"],
        0
    );
    assert_eq!(
        call(&sandbox, "/open/api/v2/token/refresh", &params).await["code"],
        5
    );
    assert_eq!(sandbox.stats().get("ilab.token"), 1);
    assert_eq!(sandbox.stats().get("ilab.refresh"), 4);
}

#[tokio::test]
async fn the_admin_route_wants_a_user() {
    let sandbox = start(super::IlabConfig::default()).await;
    let status = reqwest::Client::new()
        .post(format!("{}/_sandbox/ilab/tickets", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"un": ""}"#)
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status, 400);
    assert_eq!(
        sandbox.stats().get("ilab.tickets"),
        0,
        "admin is not platform traffic"
    );
}

#[test]
fn the_signature_check_accepts_both_known_answer_vectors() {
    let ilab = super::Ilab {
        config: std::sync::Arc::new(super::IlabConfig::default()),
        jwt_key: std::sync::Arc::from(&b"k"[..]),
        state: std::sync::Arc::default(),
    };
    let seed_ticket = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJST05DT08iLCJleHAiOjE3MTM2OTIwNjUsInVzZXJJZCI6IjE3MDE4MDgxNjk3OTMxMzg2OTAifQ.FfUkZ_Z-Acwird66oHfg2PnWqhlY9g39i1Y9cOidgBI";
    assert!(
        ilab.check_signature(seed_ticket, APPID, "6CC426EF80A31C5E7BDE10F6F5772DE5")
            .is_none()
    );
    let seed_refresh = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJhdGkiOiJhNTdhYjk5Yy02ZWQzLTRiOTMtYThhMy0wNzc0NjQzNGZmZTgiLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTM2OTUyMjksImp0aSI6ImE3YTUwYzdmLTMxN2MtNGUzYy1iNTIwLWViZDhiMDI2ZmVjZiIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.CCIavimTmuyBcy6LxP9GHJHZSfurR9ILjhg-N2b9e48";
    assert!(
        ilab.check_signature(seed_refresh, APPID, "8DF4809E7E2FE82C0D1BD495940A5D76")
            .is_none()
    );
    assert!(
        ilab.check_signature(seed_refresh, APPID, "8df4809e7e2fe82c0d1bd495940a5d76")
            .is_some()
    );
}
