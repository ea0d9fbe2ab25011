//! One grant per platform in the sandbox, and what its user does when the platform
//! says only a new login helps.

use std::time::Duration;

use serde_json::{Value, json};
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit::bo::{BoClient, BoProvider, BoSession, VerifySigner};
use tokenkit::core::http::HttpConfig;
use tokenkit::ilab::{IlabClient, IlabProvider, Ticket};
use tokenkit::sandbox::Sandbox;
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokenkit::{Error, TokenCache};

/// The three platforms, soaked side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Ilab,
    Ac,
    Bo,
}

impl Platform {
    pub const ALL: [Self; 3] = [Self::Ilab, Self::Ac, Self::Bo];

    pub fn name(self) -> &'static str {
        match self {
            Self::Ilab => "ilab",
            Self::Ac => "ac",
            Self::Bo => "bo",
        }
    }

    /// The sandbox counters of this platform's token routes: every upstream call a
    /// cache made to obtain or renew a token.
    pub fn token_routes(self) -> &'static [&'static str] {
        match self {
            Self::Ilab => &["ilab.accesstoken", "ilab.refreshtoken"],
            Self::Ac => &["ac.tokens", "ac.next", "ac.state"],
            Self::Bo => &["bo.refresh"],
        }
    }

    /// A new cache over a new grant, as the platform's user gets one: an ilab user
    /// launches the experiment again (a new single-use ticket, whose grant allows two
    /// refreshes), a bo user logs in to the application again (a new session), an ac
    /// service logs in with its password (which its provider also does by itself).
    ///
    /// The admin routes used here are never fault-injected, so this fails only if the
    /// sandbox itself does.
    pub async fn new_grant(self, sandbox: &Sandbox) -> Result<TokenCache, Error> {
        let base = sandbox.base_url();
        Ok(match self {
            Self::Ilab => {
                let launch = admin(sandbox, "/_sandbox/ilab/tickets", json!({"un": "u1"})).await?;
                let ticket = Ticket::from_url_value(text(&launch, "ticket_url_encoded")?)?;
                let client = IlabClient::builder(&base, DEFAULT_APPID, DEFAULT_SECRET)
                    .http(http())
                    .build()?;
                TokenCache::new(IlabProvider::new(client, ticket))
            }
            Self::Ac => {
                let client = AcClient::builder(&base)
                    .user("demo")
                    .password("demo-password")
                    .org_id("demo-org")
                    .http(http())
                    .build()?;
                TokenCache::new(AcProvider::new(client, ClusterSelector::id("11112")))
            }
            Self::Bo => {
                let login =
                    admin(sandbox, "/_sandbox/bo/sessions", json!({"userId": "alice"})).await?;
                let session =
                    BoSession::new(text(&login, "accessToken")?, text(&login, "refreshToken")?);
                let signer = VerifySigner::builder("12345678").build()?;
                let client = BoClient::builder(&base, "demo-owner", signer)
                    .http(http())
                    .build()?;
                TokenCache::new(BoProvider::new(client, session))
            }
        })
    }
}

impl Platform {
    /// Whether the platform still accepts `token`, as far as the sandbox can tell
    /// without a platform request: an ac renewal replaces the token it renews, so a
    /// token before its deadline may already be refused (its renewal's answer was cut
    /// off, and the cache rightly stopped serving it). ilab and bo tokens are refused
    /// only on expiry here.
    pub async fn accepts(self, sandbox: &Sandbox, token: &str) -> bool {
        match self {
            Self::Ac => admin(sandbox, "/_sandbox/ac/check", json!({ "token": token }))
                .await
                .map_or(true, |answer| answer["accepted"] != false),
            Self::Ilab | Self::Bo => true,
        }
    }
}

/// Short timeouts: the sandbox is local, and a caller should not wait 15 s for an
/// answer that will never come.
fn http() -> HttpConfig {
    HttpConfig::default()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
}

async fn admin(sandbox: &Sandbox, path: &str, body: Value) -> Result<Value, Error> {
    let failed = |what: &str| Error::config(format!("sandbox {path}: {what}"));
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|_| failed("no answer"))?
        .bytes()
        .await
        .map_err(|_| failed("answer cut off"))?;
    serde_json::from_slice(&answer).map_err(|_| failed("answer is not JSON"))
}

fn text<'a>(answer: &'a Value, field: &str) -> Result<&'a str, Error> {
    answer[field]
        .as_str()
        .ok_or_else(|| Error::config(format!("the sandbox gave no {field}")))
}
