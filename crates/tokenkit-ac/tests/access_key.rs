//! The access-key login on the wire (PROTOCOLS.md §2.5): a POST to the auth host with
//! the four headers and no body, signed as the vectors say; the secret key itself never
//! travels, never reaches an error, Debug output or the logs.

#[path = "../../tokenkit-core/tests/support/traces.rs"]
mod traces;

mod common;

use std::time::{Duration, SystemTime};

use common::{catch_all, refusal, regions, success};
use tokenkit_ac::{AcClient, ClusterSelector, access_key_signature};
use tokenkit_core::http::HttpConfig;
use wiremock::matchers::{body_bytes, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCESS_KEY: &str = "85f96a42b13f4d2c8b760d2775bbcca8";
const SECRET_KEY: &str = "SENTINEL-SECRET-KEY-4f1c8e2a9b7d";

fn client(openapi: &str, auth: &str) -> AcClient {
    AcClient::builder(openapi)
        .user("张三")
        .access_key(ACCESS_KEY, SECRET_KEY)
        .auth_url(auth)
        .http(HttpConfig::default().timeout(Duration::from_millis(800)))
        .build()
        .expect("client")
}

fn header<'r>(request: &'r Request, name: &str) -> &'r [u8] {
    request.headers.get(name).map_or(&b""[..], |v| v.as_bytes())
}

/// The request is signed correctly for its own timestamp, which is the local clock's.
fn correctly_signed(request: &Request) -> bool {
    let text = |name| std::str::from_utf8(header(request, name)).unwrap_or_default();
    let timestamp = text("timestamp");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let fresh = timestamp.parse::<u64>().is_ok_and(|t| t.abs_diff(now) <= 5);
    fresh
        && text("user") == "张三"
        && text("accessKey") == ACCESS_KEY
        && text("signature") == access_key_signature(SECRET_KEY, ACCESS_KEY, timestamp, "张三")
}

fn no_secret_anywhere(request: &Request) -> bool {
    let mut all = request.body.clone();
    for (name, value) in &request.headers {
        all.extend_from_slice(name.as_str().as_bytes());
        all.extend_from_slice(value.as_bytes());
    }
    all.extend_from_slice(request.url.as_str().as_bytes());
    !String::from_utf8_lossy(&all).contains("SENTINEL")
}

#[tokio::test]
async fn the_login_posts_four_headers_and_no_body_to_the_auth_host() {
    let openapi = MockServer::start().await;
    let auth = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/v3/tokens"))
        .and(header_exists("user-agent"))
        .and(body_bytes(Vec::<u8>::new()))
        .and(correctly_signed)
        .and(no_secret_anywhere)
        .and(|r: &Request| {
            !r.headers.contains_key("password") && !r.headers.contains_key("content-type")
        })
        .respond_with(success(regions(Duration::from_secs(3600))))
        .expect(1)
        .mount(&auth)
        .await;
    catch_all(&auth).await;
    catch_all(&openapi).await;
    let login = client(&openapi.uri(), &auth.uri())
        .login()
        .await
        .expect("login");
    assert_eq!(login.regions().len(), 3);
    let token = login
        .token_for(&ClusterSelector::id("11112"))
        .expect("token");
    assert_eq!(
        token.user().map(|u| u.id.as_str()),
        Some("alice"),
        "from the claims"
    );
    assert_eq!(
        openapi.received_requests().await.map_or(0, |r| r.len()),
        0,
        "nothing went to the OpenAPI host"
    );
}

#[tokio::test]
async fn the_auth_url_defaults_to_the_base_url() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/v3/tokens"))
        .and(correctly_signed)
        .respond_with(success(regions(Duration::from_secs(3600))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = AcClient::builder(server.uri())
        .user("张三")
        .access_key(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("client");
    assert_eq!(client.auth_url(), client.base_url());
    client.login().await.expect("login");
}

/// A `Date` days away is not believed for expiries (it is discarded beyond 24 h), but
/// a refused login still names it: a clock that far off is the likeliest reason.
#[tokio::test]
async fn a_refusal_names_a_local_clock_days_off() {
    let server = MockServer::start().await;
    let platform_now = SystemTime::now() + Duration::from_secs(3 * 86_400);
    Mock::given(path("/api/user/v3/tokens"))
        .respond_with(
            refusal(serde_json::json!("10004"), "参数无效：timestamp")
                .insert_header("date", httpdate::fmt_http_date(platform_now)),
        )
        .mount(&server)
        .await;
    let error = client(&server.uri(), &server.uri())
        .login()
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("behind the platform's"), "{text}");
    assert!(text.contains("72 h") || text.contains("71 h"), "{text}");
}

#[tokio::test]
async fn a_refusal_names_a_far_off_local_clock() {
    let server = MockServer::start().await;
    // The platform's clock is two hours ahead of ours.
    let platform_now = SystemTime::now() + Duration::from_secs(7200);
    Mock::given(path("/api/user/v3/tokens"))
        .respond_with(
            refusal(
                serde_json::json!("10004"),
                "参数无效：timestamp 1764597591 与服务器时间相差超过300秒",
            )
            .insert_header("date", httpdate::fmt_http_date(platform_now)),
        )
        .mount(&server)
        .await;
    let error = client(&server.uri(), &server.uri())
        .login()
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert_eq!(error.platform_code(), Some("10004"));
    assert!(text.contains("behind the platform's"), "{text}");
    assert!(
        text.contains("1 h 59 min") || text.contains("2 h 0 min"),
        "{text}"
    );
    assert!(
        text.contains("timestamp 1764597591"),
        "the platform's words are kept: {text}"
    );
}

#[tokio::test]
async fn a_refusal_with_a_right_clock_says_nothing_of_clocks() {
    let server = MockServer::start().await;
    Mock::given(path("/api/user/v3/tokens"))
        .respond_with(refusal(serde_json::json!(10004), "参数无效：签名错误"))
        .mount(&server)
        .await;
    let error = client(&server.uri(), &server.uri())
        .login()
        .await
        .expect_err("refused");
    assert!(!error.to_string().contains("clock"), "{error}");
    assert!(error.is_reauth_required(), "{error:?}");
}

#[test]
fn both_credentials_at_once_is_a_configuration_error() {
    let error = AcClient::builder("https://ac.example")
        .user("u")
        .password("p")
        .org_id("o")
        .access_key(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect_err("choose one");
    assert!(error.to_string().contains("not both"), "{error}");
    let error = AcClient::builder("https://ac.example")
        .user("u")
        .password("p")
        .build()
        .expect_err("no orgId");
    assert!(error.to_string().contains("orgId"), "{error}");
}

#[test]
fn the_secret_key_stays_out_of_errors_debug_and_logs() {
    let logs = traces::Traces::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rendered = runtime.block_on(async {
        let mut rendered = Vec::new();
        let echo = format!("<html>signature for {SECRET_KEY} wrong</html>");
        for answer in [
            refusal(
                serde_json::json!("10004"),
                &format!("secretKey {SECRET_KEY} 错误"),
            ),
            ResponseTemplate::new(502).set_body_raw(echo.clone(), "text/html"),
            ResponseTemplate::new(200).set_body_raw(echo.clone(), "text/html"),
        ] {
            let server = MockServer::start().await;
            Mock::given(path("/api/user/v3/tokens"))
                .respond_with(answer)
                .mount(&server)
                .await;
            let client = client(&server.uri(), &server.uri());
            let error = client.login().await.expect_err("refused");
            rendered.push(format!("{error} {error:?} {client:?}"));
        }
        rendered
    });
    for text in rendered.iter().chain([&logs.text()]) {
        assert!(!text.contains("SENTINEL"), "the secret key leaked: {text}");
    }
}
