//! Built with `rustls-no-provider` alone (`cargo test -p tokenkit-core
//! --no-default-features --features rustls-no-provider --test no_provider`, as the test
//! command runs it): building a client before a crypto provider is installed is a
//! configuration error, not reqwest's panic; once the program installs one, HTTPS works.
//! One test in its own binary, since the provider is process-wide.
#![cfg(all(feature = "rustls-no-provider", not(feature = "rustls")))]

#[path = "support/tls_front.rs"]
mod tls_front;

use tls_front::TlsFront;
use tokenkit_core::Error;
use tokenkit_core::http::{Http, HttpConfig, Spend};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_client_needs_an_installed_provider_and_then_speaks_https() {
    let err = Http::new("ac", HttpConfig::default()).expect_err("no provider installed");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("no rustls crypto provider is installed"),
        "{err}"
    );

    // The program's choice; the test's dev-dependencies have aws-lc-rs at hand.
    tokio_rustls::rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .expect("the first provider installed");
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code": 0}"#))
        .mount(&server)
        .await;
    let front = TlsFront::start(&server.address().to_string());
    let http = Http::new(
        "ac",
        HttpConfig::default().add_root_certificate_pem(front.ca_pem().to_owned()),
    )
    .expect("a client once a provider is installed");
    let request = http.client().get(format!("{}/x", front.base_url()));
    let answer = http
        .send(request, Spend::No)
        .await
        .expect("an HTTPS answer");
    assert_eq!(answer.status, 200);
}
