//! A `reqwest::Client` of the user's own, given to each platform client
//! (`HttpConfig::client`): it is the one that sends the token operations, and the
//! project's caps still apply to the answers it brings — the body cap, the total
//! timeout per request, and no answer from a redirect it followed — for the token
//! operations and for the authenticated calls of `calls()`. And no platform client or
//! builder shows a proxy's credentials in its `Debug`.
#![cfg(all(feature = "ilab", feature = "ac", feature = "bo"))]
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokenkit::ac::{AcAccount, AcClient};
use tokenkit::bo::{BoClient, REFRESH_PATH, VerifySigner};
use tokenkit::core::auth::AuthClient;
use tokenkit::core::http::HttpConfig;
use tokenkit::ilab::{IlabClient, SessionRegistry, Ticket};
use tokenkit::{
    AccessToken, Arrival, Error, Expiry, RefreshToken, Token, TokenCache, TokenProvider,
    async_trait,
};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SENTINEL: &str = "SENTINEL-PW-user-client-7f21c0";
const MARK: (&str, &str) = ("x-tokenkit-test", "the-users-own-client");

#[derive(Debug, Clone, Copy)]
enum Platform {
    Ilab,
    Ac,
    Bo,
}

const ALL: [Platform; 3] = [Platform::Ilab, Platform::Ac, Platform::Bo];

impl Platform {
    /// The path of the token operation [`call`] makes.
    fn path(self) -> &'static str {
        match self {
            Self::Ilab => "/oauth/token/accesstoken",
            Self::Ac => "/ac/openapi/v2/tokens/state",
            Self::Bo => REFRESH_PATH,
        }
    }

    /// One token operation through a client built with `http`: an ilab ticket
    /// exchange, an ac token state, a bo refresh.
    async fn call(self, base_url: &str, http: HttpConfig) -> Result<(), Error> {
        match self {
            Self::Ilab => {
                let client = IlabClient::builder(base_url, "app", "123456")
                    .http(http)
                    .build()?;
                client
                    .exchange(&Ticket::from_url_value("a-ticket")?)
                    .await?;
            }
            Self::Ac => {
                let client = AcClient::builder(base_url).http(http).build()?;
                client.state(&AccessToken::new("a-token")).await?;
            }
            Self::Bo => {
                let signer = VerifySigner::builder("12345678").build()?;
                let client = BoClient::builder(base_url, "owner", signer)
                    .http(http)
                    .build()?;
                client
                    .refresh(&RefreshToken::new("a-refresh-token"))
                    .await?;
            }
        }
        Ok(())
    }
}

impl Platform {
    /// The authenticated calls of a client built with `http`, with a token that never
    /// needs renewing.
    fn calls(self, base_url: &str, http: HttpConfig) -> AuthClient {
        let cache = Arc::new(TokenCache::new(FixedToken));
        match self {
            Self::Ilab => IlabClient::builder(base_url, "app", "123456")
                .http(http)
                .build()
                .expect("ilab client")
                .calls(cache),
            Self::Ac => AcClient::builder(base_url)
                .http(http)
                .build()
                .expect("ac client")
                .calls(cache),
            Self::Bo => {
                let signer = VerifySigner::builder("12345678").build().expect("signer");
                BoClient::builder(base_url, "owner", signer)
                    .http(http)
                    .build()
                    .expect("bo client")
                    .calls(cache)
            }
        }
    }
}

#[derive(Debug)]
struct FixedToken;

#[async_trait]
impl TokenProvider for FixedToken {
    async fn fetch(&self) -> Result<Token, Error> {
        let lifetime = Duration::from_secs(3600);
        Ok(Token::new(
            "a-token",
            Expiry::after(Arrival::now(), lifetime),
        ))
    }
    async fn refresh(&self, _current: &Token) -> Result<Token, Error> {
        self.fetch().await
    }
}

/// A client of the user's own: a default header the platform can see, redirects
/// followed (reqwest's default), no timeout of its own.
fn users_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(MARK.0, reqwest::header::HeaderValue::from_static(MARK.1));
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

async fn server_answering(platform: Platform, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(platform.path()))
        .respond_with(answer)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unmatched request"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_users_client_is_the_one_that_sends_every_platforms_requests() {
    for platform in ALL {
        let server = server_answering(platform, ResponseTemplate::new(500)).await;
        let http = HttpConfig::default().client(users_client());
        let _ = platform.call(&server.uri(), http).await;
        let received = server.received_requests().await.expect("recorded");
        assert_eq!(received.len(), 1, "{platform:?}");
        assert_eq!(
            received[0].headers.get(MARK.0).map(|v| v.as_bytes()),
            Some(MARK.1.as_bytes()),
            "{platform:?}: the request did not come from the user's client"
        );
    }
}

#[tokio::test]
async fn the_body_cap_applies_to_answers_through_the_users_client() {
    for platform in ALL {
        let big = ResponseTemplate::new(200).set_body_string("x".repeat(4096));
        let server = server_answering(platform, big).await;
        let http = HttpConfig::default().client(users_client()).max_body(1024);
        let err = platform
            .call(&server.uri(), http)
            .await
            .expect_err("over the cap");
        assert!(
            err.to_string().contains("exceeds the 1024 byte cap"),
            "{platform:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_total_timeout_applies_to_requests_through_the_users_client() {
    for platform in ALL {
        // Far beyond the timeout, so a loaded machine cannot blur the two.
        let late = ResponseTemplate::new(200).set_delay(Duration::from_secs(60));
        let server = server_answering(platform, late).await;
        let http = HttpConfig::default()
            .client(users_client())
            .timeout(Duration::from_millis(300));
        let err = platform
            .call(&server.uri(), http)
            .await
            .expect_err("timed out");
        assert!(
            matches!(
                err,
                Error::Transient {
                    kind: tokenkit::core::TransientKind::Timeout,
                    ..
                } | Error::OutcomeUnknown { cut_off: None, .. }
            ),
            "{platform:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_answer_from_a_redirect_the_users_client_followed_is_refused() {
    for platform in ALL {
        let server = MockServer::start().await;
        Mock::given(path(platform.path()))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("/elsewhere?token={SENTINEL}")),
            )
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code": 0}"#))
            .mount(&server)
            .await;
        let http = HttpConfig::default().client(users_client());
        let err = platform
            .call(&server.uri(), http)
            .await
            .expect_err("a followed redirect");
        assert!(matches!(err, Error::Config(_)), "{platform:?}: {err:?}");
        let shown = format!("{err} | {err:?}");
        assert!(
            shown.contains("followed a redirect") && shown.contains("/elsewhere"),
            "{platform:?}: {shown}"
        );
        assert!(!shown.contains(SENTINEL), "{platform:?}: {shown}");
        assert!(!shown.contains("a-ticket"), "{platform:?}: {shown}");
    }
}

#[tokio::test]
async fn authenticated_calls_through_the_users_client_keep_the_timeout_and_refuse_redirects() {
    for platform in ALL {
        let server = MockServer::start().await;
        Mock::given(path("/late"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
            .mount(&server)
            .await;
        Mock::given(path("/moved"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let http = HttpConfig::default()
            .client(users_client())
            .timeout(Duration::from_millis(300));
        let calls = platform.calls(&server.uri(), http);

        let err = calls
            .send(calls.get(format!("{}/late", server.uri())))
            .await
            .expect_err("timed out");
        assert!(
            matches!(
                err,
                Error::Transient {
                    kind: tokenkit::core::TransientKind::Timeout,
                    ..
                }
            ),
            "{platform:?}: {err:?}"
        );
        let err = calls
            .send(calls.get(format!("{}/moved", server.uri())))
            .await
            .expect_err("a followed redirect");
        assert!(matches!(err, Error::Config(_)), "{platform:?}: {err:?}");
        assert!(err.to_string().contains("followed a redirect"), "{err}");
        assert!(!format!("{err:?}").contains("a-token"), "{err:?}");
        let received = server.received_requests().await.expect("recorded");
        assert!(
            received.iter().all(|r| r.headers.get(MARK.0).is_some()),
            "{platform:?}: a call did not come from the user's client"
        );
    }
}

#[test]
fn no_platform_client_or_builder_shows_the_proxys_credentials() {
    let proxy = format!("http://alice:{SENTINEL}@proxy.example:3128");
    let http = || HttpConfig::default().proxy(&proxy).proxy_bypass("");
    let base = "https://platform.example";
    let mut shown = Vec::new();

    let ilab = IlabClient::builder(base, "app", "123456").http(http());
    shown.push(format!("{ilab:?}"));
    let ilab = ilab.build().expect("ilab client");
    shown.push(format!("{ilab:?}"));
    shown.push(format!("{:?}", SessionRegistry::new(ilab)));

    let ac = AcClient::builder(base).http(http());
    shown.push(format!("{ac:?}"));
    let ac = ac.build().expect("ac client");
    shown.push(format!("{ac:?}"));
    shown.push(format!("{:?}", AcAccount::new(ac)));

    let signer = VerifySigner::builder("12345678").build().expect("signer");
    let bo = BoClient::builder(base, "owner", signer).http(http());
    shown.push(format!("{bo:?}"));
    shown.push(format!("{:?}", bo.build().expect("bo client")));

    for text in shown {
        assert!(!text.contains(SENTINEL), "{text}");
    }
}
