//! The ilab routes over real sockets: the token routes and the token checks of
//! `data_upload`. The helpers are shared with `tests_data.rs`.

use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;

use crate::{Sandbox, SandboxConfig};

pub(crate) const APPID: &str = super::DEFAULT_APPID;
pub(crate) const SECRET: &str = super::DEFAULT_SECRET;

pub(crate) fn claims_of(token: &str) -> serde_json::Map<String, Value> {
    tokenkit_core::jwt::decode_claims(token).expect("a JWT")
}

pub(crate) fn sign(value: &str) -> String {
    Md5::digest(format!("{value}{APPID}{SECRET}").as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

pub(crate) async fn start(config: super::IlabConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: config,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

pub(crate) async fn ticket(sandbox: &Sandbox, un: &str) -> String {
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

pub(crate) trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let bytes = self.bytes().await.expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }
}

pub(crate) async fn call(sandbox: &Sandbox, path: &str, params: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sandbox.base_url()))
        .query(params)
        .send()
        .await
        .expect("answers")
        .json_value()
        .await
}

pub(crate) async fn exchange(sandbox: &Sandbox, ticket: &str) -> Value {
    let sig = sign(ticket);
    call(
        sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", ticket), ("appid", APPID), ("signature", &sig)],
    )
    .await
}

pub(crate) async fn refresh(sandbox: &Sandbox, token: &str) -> Value {
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
    // Tickets that live long enough for a loaded machine (a 200 ms ticket once expired
    // before its exchange); expiry (code 3) has a sandbox of its own below.
    let sandbox = start(super::IlabConfig::default()).await;
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
    // Expiry needs only that time passes: however slow the machine, a 50 ms ticket is
    // stale after 300 ms.
    let short = start(super::IlabConfig {
        ticket_ttl: Duration::from_millis(50),
        ..super::IlabConfig::default()
    })
    .await;
    let late = ticket(&short, "u2").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(exchange(&short, &late).await["code"], 3);
    let other_app = call(
        &short,
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
    let common = crate::Common::new(std::sync::Arc::default(), crate::Faults::default(), b"k");
    let ilab = super::Ilab::new(&common, super::IlabConfig::default());
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

/// The exchange's access and refresh tokens for a fresh ticket of `un`.
pub(crate) async fn grant(sandbox: &Sandbox, un: &str) -> (String, String) {
    let t = ticket(sandbox, un).await;
    let body = exchange(sandbox, &t).await;
    assert_eq!(body["code"], 0, "{body}");
    let text = |f: &str| body[f].as_str().expect("a token").to_owned();
    (text("access_token"), text("refresh_token"))
}

/// A record §1.4's checks accept, of user `un`.
pub(crate) fn record(un: &str, origin_id: &str, score: u32) -> Value {
    serde_json::json!({
        "username": un, "title": "虚拟仿真实验", "status": 1, "score": score,
        "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
        "timeUsed": 1000, "appid": APPID, "originId": origin_id,
        "steps": [{"seq": 1, "title": "实验操作", "startTime": 1_711_111_313_941_i64,
                   "endTime": 1_711_111_913_941_i64, "timeUsed": 600, "expectTime": 900,
                   "maxScore": 100, "score": score, "repeatCount": 1,
                   "evaluation": "优秀", "scoringModel": "", "remarks": ""}],
    })
}

/// `POST /open/api/v2/data_upload` with `query` exactly as written (no encoding).
pub(crate) async fn upload_raw(sandbox: &Sandbox, query: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!(
            "{}{}?{query}",
            sandbox.base_url(),
            super::DATA_UPLOAD_PATH
        ))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(
        response.status(),
        200,
        "refusals are coded, not HTTP errors"
    );
    response.json_value().await
}

/// `data_upload` with the token percent-encoded exactly once.
pub(crate) async fn upload(sandbox: &Sandbox, token: &str, body: &Value) -> Value {
    let encoded = percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC);
    upload_raw(sandbox, &format!("access_token={encoded}"), body).await
}

pub(crate) async fn admin(sandbox: &Sandbox, path: &str, body: Option<Value>) -> Value {
    let url = format!("{}{path}", sandbox.base_url());
    let client = reqwest::Client::new();
    let request = match body {
        Some(body) => client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string()),
        None => client.get(url),
    };
    let response = request.send().await.expect("admin answers");
    assert_eq!(response.status(), 200);
    response.json_value().await
}

pub(crate) async fn revoke(sandbox: &Sandbox, token: &str) -> Value {
    let body = serde_json::json!({ "token": token });
    admin(sandbox, super::REVOKE_PATH, Some(body)).await
}

#[tokio::test]
async fn data_upload_accepts_the_current_token_and_keeps_one_record_per_origin_id() {
    let sandbox = start(super::IlabConfig::default()).await;
    let (access, _) = grant(&sandbox, "u1").await;
    let ok = upload(&sandbox, &access, &record("u1", "r-1", 60)).await;
    assert_eq!(ok, serde_json::json!({"code": 0, "msg": "上传成功"}));
    // A retry of the same record after a timeout replaces it.
    assert_eq!(
        upload(&sandbox, &access, &record("u1", "r-1", 86)).await["code"],
        0
    );
    assert_eq!(
        upload(&sandbox, &access, &record("u1", "r-2", 70)).await["code"],
        0
    );
    let records = admin(&sandbox, super::RECORDS_PATH, None).await;
    let records = records["records"].as_array().expect("a list").clone();
    assert_eq!(records, [record("u1", "r-1", 86), record("u1", "r-2", 70)]);
    assert_eq!(sandbox.stats().get("ilab.data_upload"), 3);
    assert_eq!(
        sandbox.stats().get("ilab.records"),
        0,
        "admin is not platform traffic"
    );
}

#[tokio::test]
async fn data_upload_token_refusals() {
    let sandbox = start(super::IlabConfig::default()).await;
    let (access, refresh_token) = grant(&sandbox, "u1").await;
    let body = record("u1", "r-1", 60);
    let missing = upload_raw(&sandbox, "", &body).await;
    assert_eq!(missing["code"], 1, "{missing}");
    assert!(
        missing["msg"]
            .as_str()
            .is_some_and(|m| m.contains("access_token"))
    );
    assert_eq!(
        upload_raw(&sandbox, "access_token=", &body).await["code"],
        1
    );
    let refused = upload(&sandbox, "not-a-token", &body).await;
    assert_eq!(
        refused,
        serde_json::json!({"code": 2, "msg": "access_token无效或已过期"})
    );
    // Tokens of the main platform contain `+ / =`: an unknown one, correctly encoded,
    // is refused like any unknown token, not with a 500.
    let unknown = upload_raw(&sandbox, "access_token=ab%2Bcd%2Fef%3D%3D", &body).await;
    assert_eq!(unknown["code"], 2, "{unknown}");
    // An unencoded `+` arrives as a space: the token no longer verifies.
    assert_eq!(
        upload_raw(&sandbox, "access_token=ab+cd", &body).await["code"],
        2
    );
    let spaced = format!("access_token={access}+");
    assert_eq!(upload_raw(&sandbox, &spaced, &body).await["code"], 2);
    // Encoded twice, the token does not round-trip either.
    let once = percent_encoding::utf8_percent_encode(&access, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let twice = percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC);
    assert_eq!(
        upload_raw(&sandbox, &format!("access_token={twice}"), &body).await["code"],
        2
    );
    // The refresh token is not an access token.
    assert_eq!(upload(&sandbox, &refresh_token, &body).await["code"], 2);
    // A token signed with another key is not ours.
    let foreign = crate::jwt::mint_hs256(b"other", &claims_of(&access).into());
    assert_eq!(upload(&sandbox, &foreign, &body).await["code"], 2);
    // Encoded exactly once (every non-alphanumeric byte), the real token is accepted.
    assert_eq!(
        upload_raw(&sandbox, &format!("access_token={once}"), &body).await["code"],
        0
    );
}

#[tokio::test]
async fn data_upload_body_refusals_name_the_field() {
    let sandbox = start(super::IlabConfig::default()).await;
    let (access, _) = grant(&sandbox, "u1").await;
    for field in ["username", "title", "originId"] {
        let mut body = record("u1", "r-1", 60);
        body.as_object_mut().expect("an object").remove(field);
        let refused = upload(&sandbox, &access, &body).await;
        assert_eq!(refused["code"], 3, "{field}: {refused}");
        assert!(
            refused["msg"].as_str().is_some_and(|m| m.contains(field)),
            "{field}: {refused}"
        );
    }
    let someone_else = upload(&sandbox, &access, &record("u2", "r-1", 60)).await;
    assert_eq!(someone_else["code"], 3);
    assert!(
        someone_else["msg"]
            .as_str()
            .is_some_and(|m| m.contains("username"))
    );
    let not_an_object = upload(&sandbox, &access, &serde_json::json!([1])).await;
    assert_eq!(not_an_object["code"], 3);
    let records = admin(&sandbox, super::RECORDS_PATH, None).await;
    assert_eq!(records, serde_json::json!({"records": []}));
}

#[tokio::test]
async fn a_refreshed_away_access_token_is_refused_with_code_2() {
    let sandbox = start(super::IlabConfig::default()).await;
    let (old, refresh_token) = grant(&sandbox, "u1").await;
    let body = record("u1", "r-1", 60);
    assert_eq!(upload(&sandbox, &old, &body).await["code"], 0);
    let renewed = refresh(&sandbox, &refresh_token).await;
    assert_eq!(renewed["code"], 0, "{renewed}");
    let new = renewed["access_token"].as_str().expect("a token");
    assert_eq!(upload(&sandbox, &old, &body).await["code"], 2);
    assert_eq!(upload(&sandbox, new, &body).await["code"], 0);
    // Another grant of the same user is independent.
    let (other, _) = grant(&sandbox, "u1").await;
    assert_eq!(upload(&sandbox, &other, &body).await["code"], 0);
    assert_eq!(upload(&sandbox, new, &body).await["code"], 0);
    assert_eq!(
        admin(&sandbox, super::RECORDS_PATH, None).await["records"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "same appid, user and originId: one record"
    );
}

#[tokio::test]
async fn the_v2_refresh_also_retires_the_original_access_token() {
    let sandbox = start(super::IlabConfig::default()).await;
    let t = ticket(&sandbox, "u1").await;
    let sig = sign(&t);
    let body = call(
        &sandbox,
        "/open/api/v2/token",
        &[("ticket", &t), ("appid", APPID), ("signature", &sig)],
    )
    .await;
    let original = body["access_token"].as_str().expect("a token").to_owned();
    let sig = sign(&original);
    let params = [
        ("access_token", original.as_str()),
        ("appid", APPID),
        ("signature", &sig),
    ];
    let renewed = call(&sandbox, "/open/api/v2/token/refresh", &params).await;
    let new = renewed["access_token"].as_str().expect("a token");
    let record = record("u1", "r-1", 60);
    assert_eq!(upload(&sandbox, &original, &record).await["code"], 2);
    assert_eq!(upload(&sandbox, new, &record).await["code"], 0);
    // The original still refreshes: that is what it is for in this dialect.
    assert_eq!(
        call(&sandbox, "/open/api/v2/token/refresh", &params).await["code"],
        0
    );
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_and_a_refresh_recovers() {
    let sandbox = start(super::IlabConfig::default()).await;
    let (access, refresh_token) = grant(&sandbox, "u1").await;
    let body = record("u1", "r-1", 60);
    assert_eq!(
        revoke(&sandbox, &access).await,
        serde_json::json!({"revoked": true})
    );
    assert_eq!(upload(&sandbox, &access, &body).await["code"], 2);
    // Revoking the access token leaves the grant's refresh token alone.
    let renewed = refresh(&sandbox, &refresh_token).await;
    assert_eq!(renewed["code"], 0, "{renewed}");
    let new = renewed["access_token"].as_str().expect("a token");
    assert_eq!(upload(&sandbox, new, &body).await["code"], 0);
    assert_eq!(
        revoke(&sandbox, &access).await["revoked"],
        false,
        "refreshed away"
    );
    assert_eq!(revoke(&sandbox, &refresh_token).await["revoked"], false);
    assert_eq!(revoke(&sandbox, "garbage").await["revoked"], false);
    assert_eq!(sandbox.stats().get("ilab.revoke"), 0);
}

#[tokio::test]
async fn an_expired_access_token_is_refused_with_code_2() {
    let sandbox = start(super::IlabConfig {
        // Long enough to be valid at the first call on a loaded machine.
        ttl: Duration::from_millis(1000),
        ..super::IlabConfig::default()
    })
    .await;
    let (access, _) = grant(&sandbox, "u1").await;
    let body = record("u1", "r-1", 60);
    assert_eq!(upload(&sandbox, &access, &body).await["code"], 0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(upload(&sandbox, &access, &body).await["code"], 2);
}
