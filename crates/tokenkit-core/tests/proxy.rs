//! `HttpConfig::proxy`, in-process, through a real local forward proxy: requests go
//! through it, its credentials are sent and kept secret, its refusal is a clear error.
//! (The environment's proxy variables are process-wide; the CLI's tests try them in
//! `tokenkit` processes.) Every explicit proxy here has an explicit bypass list, so a
//! `NO_PROXY` of the machine running the tests changes nothing.

#[path = "support/proxy.rs"]
mod proxy;

use std::time::Duration;

use proxy::{TestProxy, basic};
use tokenkit_core::Error;
use tokenkit_core::http::{Http, HttpConfig, Spend};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SENTINEL: &str = "SENTINEL-PW-proxy-9d3a61";

async fn platform() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code": 0}"#))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unmatched request"))
        .mount(&server)
        .await;
    server
}

fn through(proxy_url: &str) -> Http {
    Http::new(
        "ac",
        HttpConfig::default()
            .timeout(Duration::from_secs(30))
            .proxy(proxy_url)
            .proxy_bypass(""),
    )
    .expect("client")
}

async fn get(http: &Http, server: &MockServer) -> Result<u16, Error> {
    let request = http.client().get(format!("{}/x", server.uri()));
    Ok(http.send(request, Spend::No).await?.status)
}

#[tokio::test]
async fn requests_go_through_the_explicit_proxy() {
    let server = platform().await;
    let proxy = TestProxy::open();
    let http = through(&proxy.url());
    assert_eq!(get(&http, &server).await.expect("answered"), 200);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].request_line,
        format!("GET {}/x HTTP/1.1", server.uri())
    );
    assert_eq!(seen[0].authorization, None);
}

#[tokio::test]
async fn a_proxy_url_without_a_scheme_is_http() {
    let server = platform().await;
    let proxy = TestProxy::open();
    let http = through(proxy.url().trim_start_matches("http://"));
    assert_eq!(get(&http, &server).await.expect("answered"), 200);
    assert_eq!(proxy.seen().len(), 1);
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_as_proxy_authorization() {
    let server = platform().await;
    let proxy = TestProxy::with_credentials("alice", SENTINEL);
    let http = through(&proxy.url_with("alice", SENTINEL));
    assert_eq!(get(&http, &server).await.expect("answered"), 200);
    let seen = proxy.seen();
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(basic("alice", SENTINEL).as_str())
    );
    // Never the request's own headers beyond the proxy (the platform sees none).
    let received = server.received_requests().await.expect("recorded");
    assert!(
        received
            .iter()
            .all(|r| !r.headers.contains_key("proxy-authorization")),
        "the proxy's credentials reached the platform"
    );
}

#[tokio::test]
async fn a_refusal_of_the_proxy_is_a_clear_error_without_the_password() {
    let server = platform().await;
    let proxy = TestProxy::with_credentials("alice", "the-right-one");
    for url in [proxy.url_with("alice", SENTINEL), proxy.url()] {
        let http = through(&url);
        let err = get(&http, &server).await.expect_err("refused by the proxy");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains("407"), "{shown}");
        assert!(shown.contains("proxy"), "{shown}");
        assert!(!shown.contains(SENTINEL), "{shown}");
    }
    let received = server.received_requests().await.expect("recorded");
    assert!(received.is_empty(), "the platform saw a refused request");
}

#[tokio::test]
async fn the_bypass_list_reaches_its_hosts_directly() {
    let server = platform().await;
    let proxy = TestProxy::open();
    let http = Http::new(
        "ac",
        HttpConfig::default()
            .proxy(proxy.url())
            .proxy_bypass("localhost, 127.0.0.1"),
    )
    .expect("client");
    assert_eq!(get(&http, &server).await.expect("answered"), 200);
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[tokio::test]
async fn no_proxy_reaches_the_platform_directly() {
    let server = platform().await;
    let http = Http::new("ac", HttpConfig::default().no_proxy()).expect("client");
    assert_eq!(get(&http, &server).await.expect("answered"), 200);
}

#[test]
fn debug_shows_the_proxy_without_its_credentials() {
    let url = format!("http://alice:{SENTINEL}@proxy.example:3128/?k={SENTINEL}");
    let config = HttpConfig::default().proxy(&url);
    let shown = format!("{config:?}");
    assert!(
        shown.contains("http://[credentials]@proxy.example:3128"),
        "{shown}"
    );
    assert!(!shown.contains(SENTINEL), "{shown}");
    let http = Http::new("ac", config).expect("client");
    assert!(!format!("{http:?}").contains(SENTINEL), "{http:?}");
}

#[test]
fn proxy_and_ca_settings_with_a_client_of_ones_own_are_config_errors() {
    let own = || HttpConfig::default().client(reqwest::Client::new());
    for (config, what) in [
        (
            own().proxy(format!("http://a:{SENTINEL}@p.example:1")),
            "proxy",
        ),
        (own().no_proxy(), "proxy"),
        (own().proxy_bypass("localhost"), "proxy"),
        (
            own().add_root_certificate_pem("-----BEGIN CERTIFICATE-----"),
            "CA",
        ),
        (own().ca_file("ca.pem"), "CA"),
    ] {
        let err = Http::new("bo", config).expect_err(what);
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains(what) && shown.contains("client"), "{shown}");
        assert!(!shown.contains(SENTINEL), "{shown}");
    }
}

#[test]
fn a_bypass_list_without_an_explicit_proxy_is_a_config_error() {
    for config in [
        HttpConfig::default().proxy_bypass("localhost"),
        HttpConfig::default().no_proxy().proxy_bypass("localhost"),
    ] {
        let err = Http::new("ilab", config).expect_err("nothing to bypass");
        assert!(err.to_string().contains("explicit proxy"), "{err}");
    }
}

#[test]
fn an_unusable_proxy_url_is_a_config_error_that_does_not_quote_it() {
    for url in [
        format!("socks5://alice:{SENTINEL}@proxy.example:1080"),
        format!("http://alice:{SENTINEL}@[::1"),
    ] {
        let err = Http::new("ilab", HttpConfig::default().proxy(url)).expect_err("unusable");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains("ilab: the proxy URL"), "{shown}");
        assert!(!shown.contains(SENTINEL), "{shown}");
    }
}
