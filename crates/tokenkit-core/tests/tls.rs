//! Extra trusted CAs (`HttpConfig::add_root_certificate_pem`, `HttpConfig::ca_file`)
//! and the errors of an untrusted server, against a real TLS front end whose CA and
//! certificate are generated at test time; and HTTPS through a proxy (`CONNECT`).

#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/tls_front.rs"]
mod tls_front;

use std::path::PathBuf;
use std::time::Duration;

use proxy::{TestProxy, basic};
use tls_front::TlsFront;
use tokenkit_core::Error;
use tokenkit_core::http::{Http, HttpConfig, Spend};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SENTINEL: &str = "SENTINEL-PW-connect-5e0b27";

/// A platform answering `GET /x` behind a TLS front end.
async fn platform() -> (MockServer, TlsFront) {
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
    let front = TlsFront::start(&server.address().to_string());
    (server, front)
}

fn config() -> HttpConfig {
    HttpConfig::default().timeout(Duration::from_secs(30))
}

async fn get(config: HttpConfig, base_url: &str) -> Result<u16, Error> {
    let http = Http::new("ac", config)?;
    let request = http.client().get(format!("{base_url}/x"));
    Ok(http.send(request, Spend::No).await?.status)
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-{name}-{}.pem", std::process::id()));
    std::fs::write(&path, contents).expect("write the file");
    path
}

#[tokio::test]
async fn a_server_signed_by_an_unknown_ca_is_a_clear_config_error() {
    let (_server, front) = platform().await;
    let err = get(config(), &front.base_url())
        .await
        .expect_err("untrusted");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("ac: the server's TLS certificate is not trusted"),
        "{shown}"
    );
    assert!(
        shown.contains("ca_file") && shown.contains("--ca-file"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_ca_given_in_memory_or_in_a_file_is_trusted() {
    let (_server, front) = platform().await;
    let pem = front.ca_pem().to_owned();
    let in_memory = config().add_root_certificate_pem(pem.clone());
    assert_eq!(
        get(in_memory, &front.base_url()).await.expect("trusted"),
        200
    );
    let file = temp_file("ca", &pem);
    assert_eq!(
        get(config().ca_file(&file), &front.base_url())
            .await
            .expect("trusted"),
        200
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_says_so() {
    let (_server, front) = platform().await;
    let url = format!("https://localhost:{}", front.addr().port());
    let trusted = config().add_root_certificate_pem(front.ca_pem().to_owned());
    let err = get(trusted, &url)
        .await
        .expect_err("the certificate names 127.0.0.1");
    assert!(
        err.to_string().contains("not valid for the host name"),
        "{err}"
    );
}

#[test]
fn an_unreadable_or_empty_ca_file_is_a_config_error_naming_it() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-ca.pem");
    let err = Http::new("ac", config().ca_file(&missing)).expect_err("missing");
    assert!(err.to_string().contains("cannot read the CA file"), "{err}");
    assert!(err.to_string().contains("no-such-ca.pem"), "{err}");
    let empty = temp_file("empty", "not a certificate\n");
    let err = Http::new("ac", config().ca_file(&empty)).expect_err("no certificate");
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
    let err = Http::new("ac", config().add_root_certificate_pem("")).expect_err("empty");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn https_goes_through_the_proxy_as_a_connect_tunnel_with_its_credentials() {
    let (_server, front) = platform().await;
    let proxy = TestProxy::with_credentials("alice", SENTINEL);
    let through = config()
        .add_root_certificate_pem(front.ca_pem().to_owned())
        .proxy(proxy.url_with("alice", SENTINEL))
        .proxy_bypass("");
    assert_eq!(
        get(through, &front.base_url()).await.expect("tunnelled"),
        200
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].request_line,
        format!("CONNECT {} HTTP/1.1", front.addr())
    );
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(basic("alice", SENTINEL).as_str())
    );
}

#[tokio::test]
async fn a_tunnel_the_proxy_refuses_is_a_clear_error_without_the_password() {
    let (server, front) = platform().await;
    let proxy = TestProxy::with_credentials("alice", "the-right-one");
    let through = config()
        .add_root_certificate_pem(front.ca_pem().to_owned())
        .proxy(proxy.url_with("alice", SENTINEL))
        .proxy_bypass("");
    let err = get(through, &front.base_url()).await.expect_err("refused");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let shown = format!("{err} | {err:?}");
    assert!(shown.contains("407"), "{shown}");
    assert!(!shown.contains(SENTINEL), "{shown}");
    let received = server.received_requests().await.expect("recorded");
    assert!(received.is_empty(), "the platform saw a refused request");
}
