//! The ac routes over a real socket.

use std::time::Duration;

use serde_json::Value;

use super::{AcCluster, AcConfig, AcUrl, AcUrls, AcUser};
use crate::{Sandbox, SandboxConfig};

/// A sandbox with the ac platform set to `ac`.
pub(crate) async fn start(ac: AcConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ac,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn call(sandbox: &Sandbox, route: &str, headers: &[(&str, &str)]) -> Value {
    let url = format!("{}/ac/openapi/v2/{route}", sandbox.base_url());
    let client = reqwest::Client::new();
    let mut request = if route == "tokens/state" || route == "center" {
        client.get(url)
    } else {
        client.post(url)
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("date"), "clients need Date");
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
}

const DEMO: [(&str, &str); 3] = [
    ("user", "demo"),
    ("password", "demo-password"),
    ("orgId", "demo-org"),
];

async fn login(sandbox: &Sandbox) -> Vec<Value> {
    let reply = call(sandbox, "tokens", &DEMO).await;
    assert_eq!(reply["code"], "0", "{reply}");
    reply["data"].as_array().expect("a list").clone()
}

fn token(region: &Value) -> String {
    region["token"].as_str().expect("a token").to_owned()
}

fn claims(token: &str) -> Value {
    crate::jwt::verify_hs256(b"tokenkit-sandbox-signing-key", token).expect("ours")
}

#[tokio::test]
async fn login_lists_the_default_regions_with_string_claims() {
    let sandbox = start(AcConfig::default()).await;
    let regions = login(&sandbox).await;
    let ids: Vec<_> = regions
        .iter()
        .map(|r| (r["clusterId"].as_str(), r["clusterName"].as_str()))
        .collect();
    assert_eq!(
        ids,
        [(Some("0"), Some("ac")), (Some("11112"), Some("华东一区"))]
    );
    let claims = claims(&token(&regions[1]));
    for name in [
        "computeUser",
        "accountStatus",
        "creator",
        "role",
        "expireTime",
        "clusterId",
        "invoker",
        "user",
        "userId",
    ] {
        assert!(
            claims[name].is_string(),
            "{name} must be a string: {claims}"
        );
    }
    assert_eq!(claims["invoker"], "demo-org");
    assert_eq!(claims["clusterId"], "11112");
    assert!(claims.get("exp").is_none() && claims.get("iat").is_none());
    let expire: i64 = claims["expireTime"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ms");
    let now = tokenkit_core::civil::unix_millis(std::time::SystemTime::now());
    assert!(
        (expire - now - 86_400_000).abs() < 5_000,
        "default ttl is 24 h"
    );
    // A second login while the token is valid answers the same token.
    assert_eq!(token(&login(&sandbox).await[1]), token(&regions[1]));
    assert_eq!(sandbox.stats().get("ac.tokens"), 2);
}

#[tokio::test]
async fn login_refusals() {
    let mut config = AcConfig::default();
    config.users.push(AcUser::new("张三", "pw", "org-2"));
    let sandbox = start(config).await;
    let missing = call(&sandbox, "tokens", &DEMO[..2]).await;
    assert_eq!(missing["code"], "10003");
    let wrong_password = call(
        &sandbox,
        "tokens",
        &[
            ("user", "demo"),
            ("password", "nope"),
            ("orgId", "demo-org"),
        ],
    )
    .await;
    assert_eq!(wrong_password["code"], "10004");
    let wrong_org = call(
        &sandbox,
        "tokens",
        &[
            ("user", "demo"),
            ("password", "demo-password"),
            ("orgid", "x"),
        ],
    )
    .await;
    assert_eq!(wrong_org["code"], "10004");
    // The lower-case `orgid` of public clients is the same header.
    let lower = call(
        &sandbox,
        "tokens",
        &[
            ("user", "demo"),
            ("password", "demo-password"),
            ("orgid", "demo-org"),
        ],
    )
    .await;
    assert_eq!(lower["code"], "0");
    assert!(wrong_password["data"].is_null());
}

#[tokio::test]
async fn a_suspended_region_has_a_null_token_and_a_status() {
    let sandbox = start(AcConfig::default().with_suspended_cluster()).await;
    let regions = login(&sandbox).await;
    let suspended = &regions[2];
    assert_eq!(suspended["clusterId"], "11113");
    assert!(suspended["token"].is_null());
    assert_eq!(suspended["accountStatus"], "Disable");
}

#[tokio::test]
async fn a_renewed_token_replaces_the_old_one() {
    let sandbox = start(AcConfig::default()).await;
    let old = token(&login(&sandbox).await[1]);
    let renewed = call(&sandbox, "tokens/next", &[("token", &old)]).await;
    assert_eq!(renewed["code"], "0", "{renewed}");
    let new = renewed["data"].as_str().expect("a token").to_owned();
    assert_ne!(new, old);
    let expire = |t: &str| -> i64 {
        claims(t)["expireTime"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("ms")
    };
    // Strictly later, even when minted in the same millisecond.
    assert!(expire(&new) > expire(&old));
    for route in ["tokens/state", "tokens/next"] {
        let reply = call(&sandbox, route, &[("token", &old)]).await;
        assert_eq!(reply["code"], "10008", "{route}: {reply}");
    }
    let state = call(&sandbox, "tokens/state", &[("token", &new)]).await;
    assert_eq!(state["data"], "token is valid");
    // Renewing one cluster leaves the other alone.
    let platform = token(&login(&sandbox).await[0]);
    assert_eq!(
        call(&sandbox, "tokens/state", &[("token", &platform)]).await["code"],
        "0"
    );
    assert_eq!(sandbox.stats().get("ac.next"), 2);
    assert_eq!(sandbox.stats().get("ac.state"), 3);
}

#[tokio::test]
async fn expired_tokens_renew_within_the_window_and_not_after() {
    let sandbox = start(AcConfig {
        ttl: Duration::ZERO,
        renewal_window: Duration::from_millis(400),
        ..AcConfig::default()
    })
    .await;
    let first = token(&login(&sandbox).await[1]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        call(&sandbox, "tokens/state", &[("token", &first)]).await["code"],
        "10008"
    );
    let renewed = call(&sandbox, "tokens/next", &[("token", &first)]).await;
    assert_eq!(renewed["code"], "0", "within the window: {renewed}");
    let second = renewed["data"].as_str().expect("a token").to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = call(&sandbox, "tokens/next", &[("token", &second)]).await;
    assert_eq!(refused["code"], "10008");
    assert!(
        refused["msg"]
            .as_str()
            .is_some_and(|m| m.contains("不可续约")),
        "{refused}"
    );
    // Only a login helps now, and it issues a new token.
    assert_ne!(token(&login(&sandbox).await[1]), second);
}

#[tokio::test]
async fn missing_and_foreign_tokens() {
    let sandbox = start(AcConfig::default()).await;
    for route in ["tokens/next", "tokens/state"] {
        assert_eq!(call(&sandbox, route, &[]).await["code"], "10003");
        assert_eq!(
            call(&sandbox, route, &[("token", "not-a-jwt")]).await["code"],
            "10004"
        );
        let foreign = crate::jwt::mint_hs256(
            b"another key",
            &serde_json::json!({"user": "demo", "clusterId": "0"}),
        );
        assert_eq!(
            call(&sandbox, route, &[("token", &foreign)]).await["code"],
            "10004"
        );
    }
}

/// `POST /_sandbox/ac/revoke`.
async fn revoke(sandbox: &Sandbox, token: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), super::REVOKE_PATH))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "token": token }).to_string())
        .send()
        .await
        .expect("admin answers");
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
}

#[tokio::test]
async fn center_describes_the_tokens_region_with_a_disabled_efile_url() {
    let sandbox = start(AcConfig::default()).await;
    let region_token = token(&login(&sandbox).await[1]);
    let reply = call(&sandbox, "center", &[("token", &region_token)]).await;
    assert_eq!(reply["code"], "0", "{reply}");
    assert_eq!(reply["msg"], "success");
    let regions = reply["data"].as_array().expect("a list");
    assert_eq!(regions.len(), 1, "{reply}");
    let region = &regions[0];
    assert_eq!(region["id"], "11112");
    assert_eq!(region["name"], "华东一区");
    assert_eq!(region["clusterUserInfo"]["userName"], "demo");
    assert_eq!(region["clusterUserInfo"]["homePath"], "/public/home/demo");
    let entry = |list: &str, i: usize| region[list][i].clone();
    assert_eq!(
        entry("hpcUrls", 0),
        serde_json::json!({"url": "https://hpc-11112.sandbox.invalid:65443",
                           "enable": "true", "version": "1.0"})
    );
    assert_eq!(
        entry("efileUrls", 0),
        serde_json::json!({"url": "https://efile-11112-old.sandbox.invalid:65443",
                           "enable": "false", "version": "1.0"})
    );
    assert_eq!(entry("efileUrls", 1)["enable"], "true");
    assert_eq!(
        entry("efileUrls", 1)["url"],
        "https://efile-11112.sandbox.invalid:65443"
    );
    assert_eq!(
        entry("aiUrls", 0)["url"],
        "https://ai-11112.sandbox.invalid:65443"
    );
    assert_eq!(sandbox.stats().get("ac.center"), 1);
}

#[tokio::test]
async fn center_lists_configured_urls() {
    let sandbox = start(AcConfig {
        clusters: vec![
            AcCluster::new("0", "ac"),
            AcCluster::new("7", "本地").with_urls(AcUrls {
                hpc: vec![
                    AcUrl::disabled("http://127.0.0.1:1"),
                    AcUrl::enabled("http://127.0.0.1:2"),
                ],
                ..AcUrls::default()
            }),
        ],
        ..AcConfig::default()
    })
    .await;
    let region_token = token(&login(&sandbox).await[1]);
    let reply = call(&sandbox, "center", &[("token", &region_token)]).await;
    let region = &reply["data"][0];
    assert_eq!(region["id"], "7");
    assert_eq!(region["hpcUrls"][0]["enable"], "false");
    assert_eq!(region["hpcUrls"][1]["url"], "http://127.0.0.1:2");
    assert_eq!(region["efileUrls"], serde_json::json!([]));
    assert_eq!(region["aiUrls"], serde_json::json!([]));
}

#[tokio::test]
async fn center_refusals() {
    let sandbox = start(AcConfig::default()).await;
    let platform = token(&login(&sandbox).await[0]);
    let reply = call(&sandbox, "center", &[("token", &platform)]).await;
    assert_eq!(reply["code"], "10009", "a platform token names no region");
    assert_eq!(reply["msg"], "没有权限访问接口");
    assert!(reply["data"].is_null());
    assert_eq!(call(&sandbox, "center", &[]).await["code"], "10003");
    assert_eq!(
        call(&sandbox, "center", &[("token", "not-a-jwt")]).await["code"],
        "10004"
    );
    // A replaced token is refused as by tokens/state.
    let old = token(&login(&sandbox).await[1]);
    assert_eq!(
        call(&sandbox, "tokens/next", &[("token", &old)]).await["code"],
        "0"
    );
    assert_eq!(
        call(&sandbox, "center", &[("token", &old)]).await["code"],
        "10008"
    );
    assert_eq!(sandbox.stats().get("ac.center"), 4);
}

#[tokio::test]
async fn an_expired_token_is_refused_by_center() {
    let sandbox = start(AcConfig {
        // Long enough to be valid at the first call on a loaded machine.
        ttl: Duration::from_millis(1000),
        ..AcConfig::default()
    })
    .await;
    let region_token = token(&login(&sandbox).await[1]);
    assert_eq!(
        call(&sandbox, "center", &[("token", &region_token)]).await["code"],
        "0"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let reply = call(&sandbox, "center", &[("token", &region_token)]).await;
    assert_eq!(reply["code"], "10008", "{reply}");
}

#[tokio::test]
async fn a_revoked_token_is_refused_everywhere_and_a_login_replaces_it() {
    let sandbox = start(AcConfig::default()).await;
    let regions = login(&sandbox).await;
    let (platform, revoked) = (token(&regions[0]), token(&regions[1]));
    assert_eq!(
        revoke(&sandbox, &revoked).await,
        serde_json::json!({"revoked": true})
    );
    for route in ["tokens/state", "tokens/next", "center"] {
        let reply = call(&sandbox, route, &[("token", &revoked)]).await;
        assert_eq!(reply["code"], "10008", "{route}: {reply}");
        assert!(
            reply["msg"].as_str().is_some_and(|m| m.contains("吊销")),
            "{route}: {reply}"
        );
    }
    // Revoking one region leaves the others alone.
    assert_eq!(
        call(&sandbox, "tokens/state", &[("token", &platform)]).await["code"],
        "0"
    );
    let fresh = login(&sandbox).await;
    assert_eq!(token(&fresh[0]), platform, "unrevoked: the same token");
    let replacement = token(&fresh[1]);
    assert_ne!(
        replacement, revoked,
        "a login never returns a revoked token"
    );
    assert_eq!(
        call(&sandbox, "center", &[("token", &replacement)]).await["code"],
        "0"
    );
    assert_eq!(
        call(&sandbox, "tokens/state", &[("token", &revoked)]).await["code"],
        "10008"
    );
    // The replaced token is no pair's current token any more; garbage never was.
    assert_eq!(revoke(&sandbox, &revoked).await["revoked"], false);
    assert_eq!(revoke(&sandbox, "not-a-jwt").await["revoked"], false);
    assert_eq!(
        sandbox.stats().get("ac.revoke"),
        0,
        "admin is not platform traffic"
    );
}

#[tokio::test]
async fn an_expired_token_can_be_revoked_and_then_not_renewed() {
    let sandbox = start(AcConfig {
        ttl: Duration::ZERO,
        ..AcConfig::default()
    })
    .await;
    let expired = token(&login(&sandbox).await[1]);
    assert_eq!(revoke(&sandbox, &expired).await["revoked"], true);
    let reply = call(&sandbox, "tokens/next", &[("token", &expired)]).await;
    assert_eq!(reply["code"], "10008");
    assert!(
        reply["msg"].as_str().is_some_and(|m| m.contains("吊销")),
        "{reply}"
    );
}

/// `POST /_sandbox/ac/check`.
async fn check(sandbox: &Sandbox, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), super::CHECK_PATH))
        .body(body.to_owned())
        .send()
        .await
        .expect("admin answers");
    let status = response.status().as_u16();
    let body = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    (status, body)
}

#[tokio::test]
async fn check_tells_whether_the_platform_accepts_a_token_without_counting_it() {
    let sandbox = start(AcConfig::default()).await;
    let old = token(&login(&sandbox).await[1]);
    let accepted = |t: &str| serde_json::json!({ "token": t }).to_string();
    assert_eq!(
        check(&sandbox, &accepted(&old)).await,
        (200, serde_json::json!({"accepted": true}))
    );
    let renewed = call(&sandbox, "tokens/next", &[("token", &old)]).await;
    let new = renewed["data"].as_str().expect("a token").to_owned();
    // Replaced by its renewal: the platform refuses it now.
    assert_eq!(check(&sandbox, &accepted(&old)).await.1["accepted"], false);
    assert_eq!(check(&sandbox, &accepted(&new)).await.1["accepted"], true);
    revoke(&sandbox, &new).await;
    assert_eq!(check(&sandbox, &accepted(&new)).await.1["accepted"], false);
    assert_eq!(
        check(&sandbox, &accepted("not a token")).await.1["accepted"],
        false
    );
    assert_eq!(check(&sandbox, "{}").await.0, 400);
    // Admin: neither counted nor fault-injected.
    assert_eq!(sandbox.stats().get("ac.check"), 0);
}
