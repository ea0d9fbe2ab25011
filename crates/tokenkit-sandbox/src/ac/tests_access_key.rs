//! The access-key login and the skewed platform clock, over a real socket.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderValue;
use serde_json::Value;
use sha2::Sha256;

use super::tests::start;
use super::{AK_TOKENS_PATH, AcAccessKey, AcConfig, AcUser};
use crate::{Faults, Sandbox, SandboxConfig};

const DEMO_KEY: &str = "demo-access-key";
const DEMO_SECRET: &str = "demo-secret-key";

/// The default config plus `张三` with an access key, and `ghost`'s key without an
/// account.
fn config() -> AcConfig {
    let mut config = AcConfig::default().with_suspended_cluster();
    config.users.push(AcUser::new("张三", "pw", "org-2"));
    config
        .access_keys
        .push(AcAccessKey::new("张三", "zs-key", "zs-secret"));
    config
        .access_keys
        .push(AcAccessKey::new("ghost", "ghost-key", "ghost-secret"));
    config
}

/// The test's own signer, written from PROTOCOLS.md §2.5 (the values used here need no
/// JSON escaping).
fn sign(secret: &str, access_key: &str, timestamp: &str, user: &str) -> String {
    let message =
        format!(r#"{{"accessKey":"{access_key}","timestamp":"{timestamp}","user":"{user}"}}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn machine_secs() -> i64 {
    tokenkit_core::civil::unix_seconds(SystemTime::now())
}

/// An answer: its `Date` and its JSON body.
struct Answer {
    status: u16,
    date: SystemTime,
    body: Value,
}

async fn post(sandbox: &Sandbox, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        // Ignored: the route has no body.
        .body("{\"ignored\": true}");
    for (name, value) in headers {
        // From bytes: user names may be Chinese, which `&str` header values refuse.
        let value = HeaderValue::from_bytes(value.as_bytes()).expect("a header value");
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .expect("an HTTP date");
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, date, body }
}

/// An access-key login of `user` signed at `timestamp`.
async fn ak_login(
    sandbox: &Sandbox,
    user: &str,
    key: &str,
    secret: &str,
    timestamp: i64,
) -> Answer {
    let timestamp = timestamp.to_string();
    let signature = sign(secret, key, &timestamp, user);
    let headers = [
        ("user", user),
        ("accessKey", key),
        ("timestamp", timestamp.as_str()),
        ("signature", signature.as_str()),
    ];
    post(sandbox, AK_TOKENS_PATH, &headers).await
}

async fn password_login(sandbox: &Sandbox, user: &str, password: &str, org: &str) -> Answer {
    let headers = [("user", user), ("password", password), ("orgId", org)];
    post(sandbox, "/ac/openapi/v2/tokens", &headers).await
}

/// `all` with the values of `overrides` in place of its own.
fn with<'a>(
    all: &[(&'a str, &'a str)],
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    all.iter()
        .map(|&(name, value)| {
            let over = overrides.iter().find(|(n, _)| *n == name);
            (name, over.map_or(value, |&(_, v)| v))
        })
        .collect()
}

fn assert_refused(answer: &Answer, code: &str, msg_part: &str) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    assert!(answer.body["data"].is_null(), "{}", answer.body);
    let msg = answer.body["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains(msg_part),
        "{msg:?} should contain {msg_part:?}"
    );
}

#[tokio::test]
async fn an_access_key_login_answers_the_password_logins_regions_and_tokens() {
    let sandbox = start(config()).await;
    let ak = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, machine_secs()).await;
    assert_eq!(ak.status, 200);
    assert_eq!(ak.body["code"], "0", "{}", ak.body);
    assert_eq!(ak.body["msg"], "success");
    let password = password_login(&sandbox, "demo", "demo-password", "demo-org").await;
    assert_eq!(
        ak.body, password.body,
        "the same clusters and the same current tokens"
    );
    let regions = ak.body["data"].as_array().expect("a list");
    assert_eq!(regions.len(), 3);
    assert_eq!(regions[1]["clusterId"], "11112");
    assert!(regions[1]["token"].is_string());
    assert!(regions[2]["token"].is_null(), "suspended");
    assert_eq!(regions[2]["accountStatus"], "Disable");
    // A Chinese user name travels as UTF-8 header bytes and is signed as raw UTF-8;
    // the tokens carry that account's claims.
    let zs = ak_login(&sandbox, "张三", "zs-key", "zs-secret", machine_secs()).await;
    assert_eq!(zs.body["code"], "0", "{}", zs.body);
    let token = zs.body["data"][1]["token"].as_str().expect("a token");
    let claims = crate::jwt::verify_hs256(b"tokenkit-sandbox-signing-key", token).expect("ours");
    assert_eq!(claims["user"], "张三");
    assert_eq!(claims["invoker"], "org-2");
    assert_eq!(claims["userId"], "11655048541");
    assert_eq!(sandbox.stats().get("ac.ak_tokens"), 2);
    assert_eq!(sandbox.stats().get("ac.tokens"), 1);
}

#[tokio::test]
async fn access_key_logins_are_counted_apart_from_password_logins() {
    let sandbox = start(AcConfig::default()).await;
    for _ in 0..3 {
        let ak = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, machine_secs()).await;
        assert_eq!(ak.body["code"], "0", "{}", ak.body);
    }
    assert_eq!(sandbox.stats().get("ac.ak_tokens"), 3);
    assert_eq!(sandbox.stats().get("ac.tokens"), 0);
    assert_eq!(
        sandbox.stats().snapshot()["requests"],
        serde_json::json!({"ac.ak_tokens": 3})
    );
}

#[tokio::test]
async fn access_key_refusals_in_check_order() {
    let sandbox = start(config()).await;
    let now = machine_secs().to_string();
    let good = sign(DEMO_SECRET, DEMO_KEY, &now, "demo");
    let all = [
        ("user", "demo"),
        ("accessKey", DEMO_KEY),
        ("timestamp", now.as_str()),
        ("signature", good.as_str()),
    ];
    for missing in 0..all.len() {
        let mut headers = all.to_vec();
        headers.remove(missing);
        let answer = post(&sandbox, AK_TOKENS_PATH, &headers).await;
        assert_refused(&answer, "10003", "参数不全");
        let mut headers = all.to_vec();
        headers[missing].1 = "";
        let answer = post(&sandbox, AK_TOKENS_PATH, &headers).await;
        assert_refused(&answer, "10003", "参数不全");
    }
    // Unknown key, a key of another user, a key of no account: the key check comes
    // before the timestamp's format.
    for overrides in [
        vec![("accessKey", "no-such-key")],
        vec![("user", "张三")],
        vec![("user", "ghost"), ("accessKey", "ghost-key")],
    ] {
        let headers = with(
            &all,
            &[overrides, vec![("timestamp", "not a number")]].concat(),
        );
        let answer = post(&sandbox, AK_TOKENS_PATH, &headers).await;
        assert_refused(&answer, "10004", "参数无效：accessKey或user错误");
    }
    // The format before the window and the signature.
    for timestamp in [
        "abc",
        "17645975.91",
        "-1764597591",
        "+1764597591",
        "1e9",
        "99999999999999999999",
    ] {
        let answer = post(
            &sandbox,
            AK_TOKENS_PATH,
            &with(&all, &[("timestamp", timestamp)]),
        )
        .await;
        assert_refused(&answer, "10004", "参数无效：timestamp格式错误");
    }
    // The window before the signature: a stale timestamp with a wrong signature.
    let answer = post(
        &sandbox,
        AK_TOKENS_PATH,
        &with(&all, &[("timestamp", "1764597591")]),
    )
    .await;
    assert_refused(
        &answer,
        "10004",
        "timestamp 1764597591 与服务器时间相差超过300秒",
    );
    // A wrong secret, and the right signature in upper case.
    let wrong = ak_login(&sandbox, "demo", DEMO_KEY, "not-the-secret", machine_secs()).await;
    assert_refused(&wrong, "10004", "参数无效：签名错误");
    let upper = good.to_uppercase();
    let answer = post(
        &sandbox,
        AK_TOKENS_PATH,
        &with(&all, &[("signature", &upper)]),
    )
    .await;
    assert_refused(&answer, "10004", "参数无效：签名错误");
    // Nothing secret in a refusal.
    assert!(!wrong.body.to_string().contains(DEMO_SECRET));
    assert_eq!(sandbox.stats().get("ac.ak_tokens"), 20);
}

/// The machine's epoch seconds, read early in a second: a test that needs the server
/// to see the same second (a timestamp exactly 301 s ahead) then has ~800 ms to send.
async fn early_in_a_second() -> i64 {
    let subsec = || {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .subsec_millis()
    };
    if subsec() > 200 {
        tokio::time::sleep(Duration::from_millis(u64::from(1000 - subsec()) + 5)).await;
    }
    machine_secs()
}

#[tokio::test]
async fn a_timestamp_more_than_300_s_off_is_refused_naming_it() {
    let sandbox = start(AcConfig::default()).await;
    let now = early_in_a_second().await;
    for stale in [now - 301, now + 301] {
        let answer = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, stale).await;
        assert_refused(
            &answer,
            "10004",
            &format!("参数无效：timestamp {stale} 与服务器时间相差超过300秒"),
        );
    }
    for fresh in [now - 299, now + 299] {
        let answer = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, fresh).await;
        assert_eq!(answer.body["code"], "0", "{fresh}: {}", answer.body);
    }
    // The window is configurable.
    let strict = start(AcConfig {
        max_timestamp_skew: Duration::from_secs(10),
        ..AcConfig::default()
    })
    .await;
    let answer = ak_login(&strict, "demo", DEMO_KEY, DEMO_SECRET, machine_secs() - 60).await;
    assert_refused(&answer, "10004", "相差超过10秒");
}

fn secs_between(later: SystemTime, earlier: SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[tokio::test]
async fn a_skewed_platform_clock_shows_in_date_expiry_and_the_timestamp_window() {
    let sandbox = start(AcConfig {
        clock_offset: 3600,
        ..AcConfig::default()
    })
    .await;
    let login = password_login(&sandbox, "demo", "demo-password", "demo-org").await;
    assert_eq!(login.body["code"], "0", "{}", login.body);
    let ahead = secs_between(login.date, SystemTime::now());
    assert!(
        (ahead - 3600.0).abs() < 5.0,
        "Date is an hour ahead: {ahead}"
    );
    let token = login.body["data"][1]["token"].as_str().expect("a token");
    let claims = crate::jwt::verify_hs256(b"tokenkit-sandbox-signing-key", token).expect("ours");
    let expire_ms: u64 = claims["expireTime"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ms");
    let expire = SystemTime::UNIX_EPOCH + Duration::from_millis(expire_ms);
    let lifetime = secs_between(expire, login.date);
    assert!(
        (lifetime - 86_400.0).abs() < 2.0,
        "expireTime - Date is the ttl: {lifetime}"
    );
    // The token is valid on the platform's clock.
    let state = reqwest::Client::new()
        .get(format!("{}/ac/openapi/v2/tokens/state", sandbox.base_url()))
        .header("token", token)
        .send()
        .await
        .expect("answers");
    let date = state.headers().get("date").expect("Date").clone();
    let date = httpdate::parse_http_date(date.to_str().expect("ASCII")).expect("HTTP date");
    assert!((secs_between(date, SystemTime::now()) - 3600.0).abs() < 5.0);
    assert_eq!(
        serde_json::from_slice::<Value>(&state.bytes().await.expect("body")).expect("JSON")["code"],
        "0"
    );
    // A timestamp from the machine's clock is an hour off the platform's.
    let machine = machine_secs();
    let stale = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, machine).await;
    assert_refused(
        &stale,
        "10004",
        &format!("timestamp {machine} 与服务器时间相差超过300秒"),
    );
    let skewed = ak_login(&sandbox, "demo", DEMO_KEY, DEMO_SECRET, machine + 3600).await;
    assert_eq!(skewed.body["code"], "0", "{}", skewed.body);
    assert_eq!(skewed.body, login.body, "the pair's current tokens");
}

#[tokio::test]
async fn without_an_offset_date_is_the_machines_clock() {
    let sandbox = start(AcConfig::default()).await;
    let login = password_login(&sandbox, "demo", "demo-password", "demo-org").await;
    assert!(secs_between(login.date, SystemTime::now()).abs() < 5.0);
}

#[tokio::test]
async fn the_access_key_route_is_fault_injected_and_its_503_has_the_platforms_date() {
    let sandbox = Sandbox::start(SandboxConfig {
        faults: Faults {
            fail_rate: 1.0,
            ..Faults::default()
        },
        ac: AcConfig {
            clock_offset: -7200,
            ..AcConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let answer = ak_login(
        &sandbox,
        "demo",
        DEMO_KEY,
        DEMO_SECRET,
        machine_secs() - 7200,
    )
    .await;
    assert_eq!(answer.status, 503);
    assert!((secs_between(answer.date, SystemTime::now()) + 7200.0).abs() < 5.0);
    assert_eq!(sandbox.stats().get("ac.ak_tokens"), 1);
}
