//! What goes on the wire (PROTOCOLS.md §3.1, §3.2): path, query, every header.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::*;
use tokenkit_bo::{NodeJsMode, REFRESH_PATH, TokenUser};
use tokenkit_core::RefreshToken;
use wiremock::matchers::{header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_refresh_request_carries_every_documented_part() {
    let server = MockServer::start().await;
    let access = fresh_jwt(60);
    Mock::given(method("GET"))
        .and(path(REFRESH_PATH))
        .and(query_param(
            "refreshToken",
            "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT",
        ))
        .and(query_param("_nodejs", "common-data"))
        .and(header("XownerId", "demo-owner"))
        .and(header("XsysId", "portal"))
        .and(header("XuserFromFirstShareId", "share-1"))
        .and(header("XuserFromSecondShareId", "share-2"))
        .and(header("XfilterAreaCode", "110000"))
        .and(header("Content-Type", "application/json; charset=utf-8"))
        .and(header("User-Agent", tokenkit_core::http::USER_AGENT))
        .and(header_exists("XverifyApi"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(success_body(&access, "new-refresh")),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let client = builder(&server)
        .sys_id("portal")
        .first_share_id("share-1")
        .second_share_id("share-2")
        .filter_area_code("110000")
        .build()
        .expect("valid");
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let token = client
        .refresh(&RefreshToken::new("MtP0zZx1gZE66xDnhwd1UV973XoVL4nT"))
        .await
        .expect("refreshed");
    assert_eq!(
        token.refresh_token().map(|r| r.expose_secret()),
        Some("new-refresh")
    );
    assert_eq!(token.token_type(), "Bearer");

    // The XverifyApi header decrypts to `{guid}|{timestamp}` with a fresh v4 guid and now.
    let requests = server.received_requests().await.expect("recorded");
    let verify = requests[0].headers["XverifyApi"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let plain = decrypt(KEY, &verify);
    let (guid, timestamp) = plain.split_once('|').expect("guid|timestamp");
    let guid = uuid::Uuid::parse_str(guid).expect("a UUID");
    assert_eq!(guid.get_version_num(), 4);
    assert_eq!(
        guid.hyphenated().to_string(),
        plain.split('|').next().unwrap_or_default()
    );
    let ts: i64 = timestamp.parse().expect("epoch ms");
    assert!((ts - before).abs() < 5_000, "{ts} vs {before}");
    // The body is empty: a GET.
    assert!(requests[0].body.is_empty());
}

#[tokio::test]
async fn snake_case_mode_asks_for_and_reads_snake_case() {
    let server = MockServer::start().await;
    let access = fresh_jwt(60);
    let body = serde_json::json!({"success": "true", "data": {
        "token_type": "Bearer", "access_token": access, "refresh_token": "r2",
        "expires_in": "60", "client_id": "ptdev", "time_stamp": "1614246960367.5437",
        "token_user": {"user_id": "ptdev", "push_name": "开发管理员", "role_id": ["development"], "merge_user_id": []},
        "cache_type": "redis", "cache_date": "2021-03-11 17:56:00"}});
    Mock::given(query_param("_nodejs", "common-data-under"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server)
        .nodejs_mode(NodeJsMode::CommonDataUnder)
        .build()
        .expect("valid");
    let token = client
        .refresh(&RefreshToken::new("r1"))
        .await
        .expect("refreshed");
    let user = TokenUser::of(&token).expect("tokenUser");
    assert_eq!(user.user_id.as_deref(), Some("ptdev"));
    assert_eq!(
        token.user().and_then(|u| u.display_name.as_deref()),
        Some("开发管理员")
    );
    assert_eq!(token.metadata().extra["cacheType"], "redis");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r2"));
    assert!(token.expiry().lifetime() <= Duration::from_secs(60));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/gateway{REFRESH_PATH}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), "r2")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let signer = tokenkit_bo::VerifySigner::builder(KEY)
        .build()
        .expect("valid");
    let client =
        tokenkit_bo::BoClient::builder(format!("{}/gateway/", server.uri()), "demo-owner", signer)
            .build()
            .expect("valid");
    client
        .refresh(&RefreshToken::new("r1"))
        .await
        .expect("refreshed");
}

#[tokio::test]
async fn custom_templates_and_hex_reach_the_wire() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(success_body(&fresh_jwt(60), "r2")),
        1,
    )
    .await;
    let signer = tokenkit_bo::VerifySigner::builder(KEY)
        .template("{ownerId}|{guid}|{timestamp}|{refreshToken}")
        .encoding(tokenkit_bo::VerifyEncoding::UpperHex)
        .build()
        .expect("valid");
    let client = tokenkit_bo::BoClient::builder(server.uri(), "demo-owner", signer)
        .build()
        .expect("valid");
    client
        .refresh(&RefreshToken::new("r1"))
        .await
        .expect("refreshed");
    let requests = server.received_requests().await.expect("recorded");
    let hex = requests[0].headers["XverifyApi"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{hex}"
    );
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    use base64::Engine as _;
    let plain = decrypt(
        KEY,
        &base64::engine::general_purpose::STANDARD.encode(bytes),
    );
    let parts: Vec<&str> = plain.split('|').collect();
    assert_eq!((parts[0], parts[3]), ("demo-owner", "r1"), "{plain}");
}
