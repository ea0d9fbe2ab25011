//! Doubled leading slashes on every platform, over a real socket (PROTOCOLS.md §2.7).

use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::{Sandbox, SandboxConfig, ilab};

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `prefix` + `path`: the URL as written, so `//ac/...` goes out with both slashes.
fn url(sandbox: &Sandbox, prefix: &str, path: &str) -> String {
    format!(
        "{}{prefix}{}",
        sandbox.base_url(),
        path.trim_start_matches('/')
    )
}

const DEMO: [(&str, &str); 3] = [
    ("user", "demo"),
    ("password", "demo-password"),
    ("orgId", "demo-org"),
];

async fn ac_login(sandbox: &Sandbox, prefix: &str) -> Value {
    let mut request = client().post(url(sandbox, prefix, "/ac/openapi/v2/tokens"));
    for (name, value) in DEMO {
        request = request.header(name, value);
    }
    let (status, body) = send(request).await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], "0", "{prefix}: {body}");
    body
}

#[tokio::test]
async fn ac_routes_with_doubled_slashes() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let single = ac_login(&sandbox, "/").await;
    let doubled = ac_login(&sandbox, "//").await;
    assert_eq!(single, doubled, "the same login, the same tokens");
    let region = doubled["data"][1]["token"].as_str().expect("a token");
    let mut centers = Vec::new();
    for prefix in ["/", "//", "///"] {
        let request = client()
            .get(url(&sandbox, prefix, "/ac/openapi/v2/center?x=1"))
            .header("token", region);
        let (status, body) = send(request).await;
        assert_eq!(
            (status, &body["code"]),
            (200, &json!("0")),
            "{prefix}: {body}"
        );
        centers.push(body);
    }
    assert!(centers.windows(2).all(|w| w[0] == w[1]));
    // The access-key login too.
    let timestamp = tokenkit_core::civil::unix_seconds(std::time::SystemTime::now()).to_string();
    let (user, key) = ("demo", "demo-access-key");
    let signature = ak_sign("demo-secret-key", key, &timestamp, user);
    let request = client()
        .post(url(&sandbox, "//", crate::ac::AK_TOKENS_PATH))
        .header("user", user)
        .header("accessKey", key)
        .header("timestamp", &timestamp)
        .header("signature", &signature);
    let (_, body) = send(request).await;
    assert_eq!(body["code"], "0", "{body}");
    let stats = sandbox.stats();
    assert_eq!(stats.get("ac.tokens"), 2);
    assert_eq!(stats.get("ac.center"), 3);
    assert_eq!(stats.get("ac.ak_tokens"), 1);
}

/// The §2.5 signature, for values that need no JSON escaping.
fn ak_sign(secret: &str, key: &str, timestamp: &str, user: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let message = format!(r#"{{"accessKey":"{key}","timestamp":"{timestamp}","user":"{user}"}}"#);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    let tag = mac.finalize().into_bytes();
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5_upper(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[tokio::test]
async fn ilab_routes_with_doubled_slashes_keep_the_query() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let (_, issued) = send(
        client()
            .post(url(&sandbox, "//", "/_sandbox/ilab/tickets"))
            .header("content-type", "application/json")
            .body(r#"{"un": "u1", "dis": "张三"}"#),
    )
    .await;
    let ticket = issued["ticket"].as_str().expect("a ticket");
    let signature = md5_upper(&format!(
        "{ticket}{}{}",
        ilab::DEFAULT_APPID,
        ilab::DEFAULT_SECRET
    ));
    let (_, grant) = send(
        client()
            .get(url(&sandbox, "//", "/oauth/token/accesstoken"))
            .query(&[
                ("ticket", ticket),
                ("appid", ilab::DEFAULT_APPID),
                ("signature", &signature),
            ]),
    )
    .await;
    assert_eq!(grant["code"], 0, "{grant}");
    let access = grant["access_token"].as_str().expect("a token");
    let encoded = percent_encoding::utf8_percent_encode(access, percent_encoding::NON_ALPHANUMERIC);
    let record = json!({
        "username": "u1", "title": "实验", "status": 1, "score": 90,
        "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
        "timeUsed": 1000, "appid": ilab::DEFAULT_APPID, "originId": "r-1",
        "steps": [{"seq": 1, "title": "实验操作", "startTime": 1_711_111_313_941_i64,
                   "endTime": 1_711_111_913_941_i64, "timeUsed": 600, "maxScore": 100,
                   "score": 90, "repeatCount": 1}],
    });
    for (prefix, origin) in [("/", "r-1"), ("//", "r-2")] {
        let mut record = record.clone();
        record["originId"] = json!(origin);
        let path = format!("{}?access_token={encoded}", ilab::DATA_UPLOAD_PATH);
        let (status, body) = send(
            client()
                .post(url(&sandbox, prefix, &path))
                .header("content-type", "application/json")
                .body(record.to_string()),
        )
        .await;
        // Code 0, not 1: the query (and its token) survived the rewrite.
        assert_eq!(
            (status, body),
            (200, json!({"code": 0, "msg": "上传成功"})),
            "{prefix}"
        );
    }
    let (_, records) = send(client().get(url(&sandbox, "//", ilab::RECORDS_PATH))).await;
    assert_eq!(records["records"].as_array().map(Vec::len), Some(2));
    assert_eq!(sandbox.stats().get("ilab.data_upload"), 2);
    assert_eq!(sandbox.stats().get("ilab.accesstoken"), 1);
}

#[tokio::test]
async fn bo_and_admin_routes_with_doubled_slashes() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let refresh = "/bo/api/v3/auth/token/refresh?_nodejs=common-data&refreshToken=nope";
    let (single_status, single) = send(client().get(url(&sandbox, "/", refresh))).await;
    let (doubled_status, doubled) = send(client().get(url(&sandbox, "//", refresh))).await;
    // A refusal in bo's shape (no XownerId), not axum's 404: it was routed.
    assert_eq!(single_status, 200);
    assert_eq!(single["success"], false, "{single}");
    assert_eq!((doubled_status, &doubled), (single_status, &single));
    let (whoami, _) = send(client().get(url(&sandbox, "//", crate::bo::WHOAMI_PATH))).await;
    assert_eq!(whoami, 401, "bo's refusal of a missing bearer token");
    let (status, stats) = send(client().get(url(&sandbox, "///", "/_sandbox/stats"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        stats,
        json!({"requests": {"bo.refresh": 2, "bo.whoami": 1}, "outcomes": {}}),
        "counted under the one-slash names"
    );
    let (status, _) = send(client().get(url(&sandbox, "//", "/no/such/route"))).await;
    assert_eq!(status, 404, "only known routes are served");
}
