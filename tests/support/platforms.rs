//! One grant of each platform in a sandbox and that platform's one protected call:
//! the set-up of the authenticated-call tests.

#![allow(clippy::expect_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokenkit::ac::{AcClient, AcProvider, ClusterSelector};
use tokenkit::bo::{BoClient, BoProvider, BoSession, VerifySigner};
use tokenkit::core::auth::AuthClient;
use tokenkit::core::http::HttpConfig;
use tokenkit::ilab::{IlabClient, IlabProvider, Ticket};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokenkit::sandbox::{Faults, Sandbox, SandboxConfig};
use tokenkit::{Error, TokenCache};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Ac,
    Ilab,
    Bo,
}

pub const ALL: [Platform; 3] = [Platform::Ac, Platform::Ilab, Platform::Bo];

/// One platform's grant in a sandbox, and the one protected call of each.
pub struct Setup {
    pub platform: Platform,
    pub sandbox: Sandbox,
    pub cache: Arc<TokenCache>,
    pub calls: AuthClient,
}

fn http() -> HttpConfig {
    HttpConfig::default().timeout(Duration::from_secs(20))
}

pub async fn admin(sandbox: &Sandbox, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin answers")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&answer).expect("JSON")
}

pub async fn setup(platform: Platform, faults: Faults) -> Setup {
    let sandbox = Sandbox::start(SandboxConfig {
        faults,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let base = sandbox.base_url();
    let (cache, calls) = match platform {
        Platform::Ac => {
            let client = AcClient::builder(&base)
                .user("demo")
                .password("demo-password")
                .org_id("demo-org")
                .http(http())
                .build()
                .expect("client");
            let cache = Arc::new(TokenCache::new(AcProvider::new(
                client.clone(),
                ClusterSelector::id("11112"),
            )));
            let calls = client.calls(Arc::clone(&cache));
            (cache, calls)
        }
        Platform::Ilab => {
            let launch = admin(
                &sandbox,
                "/_sandbox/ilab/tickets",
                json!({"un": "u1", "dis": "张三"}),
            )
            .await;
            let ticket =
                Ticket::from_url_value(launch["ticket_url_encoded"].as_str().expect("ticket"))
                    .expect("ticket");
            let client = IlabClient::builder(&base, DEFAULT_APPID, DEFAULT_SECRET)
                .http(http())
                .build()
                .expect("client");
            let cache = Arc::new(TokenCache::new(IlabProvider::new(client.clone(), ticket)));
            let calls = client.calls(Arc::clone(&cache));
            (cache, calls)
        }
        Platform::Bo => {
            let login = admin(
                &sandbox,
                "/_sandbox/bo/sessions",
                json!({"userId": "alice"}),
            )
            .await;
            let session = BoSession::new(
                login["accessToken"].as_str().expect("access"),
                login["refreshToken"].as_str().expect("refresh"),
            );
            let signer = VerifySigner::builder("12345678").build().expect("signer");
            let client = BoClient::builder(&base, "demo-owner", signer)
                .http(http())
                .build()
                .expect("client");
            let cache = Arc::new(TokenCache::new(BoProvider::new(client.clone(), session)));
            let calls = client.calls(Arc::clone(&cache));
            (cache, calls)
        }
    };
    Setup {
        platform,
        sandbox,
        cache,
        calls,
    }
}

/// A result record of user `u1` that the sandbox's `data_upload` checks accept
/// (PROTOCOLS.md §1.4: every field of the example, steps included).
pub fn ilab_record(origin_id: &str) -> Value {
    json!({
        "username": "u1", "title": "实验", "status": 1, "score": 86,
        "startTime": 1_711_111_313_941_i64, "endTime": 1_711_112_313_941_i64,
        "timeUsed": 1000, "appid": DEFAULT_APPID, "originId": origin_id,
        "steps": [{"seq": 1, "title": "实验操作", "startTime": 1_711_111_313_941_i64,
                   "endTime": 1_711_111_913_941_i64, "timeUsed": 600, "maxScore": 100,
                   "score": 86, "repeatCount": 1}],
    })
}

impl Setup {
    /// The platform's protected request.
    pub fn request(&self, calls: &AuthClient, n: usize) -> reqwest::RequestBuilder {
        let base = self.sandbox.base_url();
        match self.platform {
            Platform::Ac => calls.get(format!("{base}/ac/openapi/v2/center")),
            Platform::Ilab => calls
                .post(format!("{base}/open/api/v2/data_upload"))
                .header("content-type", "application/json")
                .body(ilab_record(&format!("record-{n}")).to_string()),
            Platform::Bo => calls.get(format!("{base}/_sandbox/bo/whoami")),
        }
    }

    /// Whether an answer is the platform's success.
    pub fn succeeded(&self, status: u16, body: &Value) -> bool {
        status == 200
            && match self.platform {
                Platform::Ac => body["code"] == "0",
                Platform::Ilab => body["code"] == 0,
                Platform::Bo => body["success"] == true,
            }
    }

    /// One protected call through `calls`; panics unless the platform accepted it.
    pub async fn call(&self, calls: &AuthClient, n: usize) -> Result<(), Error> {
        let response = calls.send(self.request(calls, n)).await?;
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
        assert!(
            self.succeeded(status, &body),
            "{:?}: {status} {body}",
            self.platform
        );
        Ok(())
    }

    /// Upstream calls that obtained a token: logins, renewals, refreshes.
    pub fn token_calls(&self) -> u64 {
        let stats = self.sandbox.stats();
        match self.platform {
            Platform::Ac => stats.get("ac.tokens") + stats.get("ac.next"),
            Platform::Ilab => stats.get("ilab.accesstoken") + stats.get("ilab.refreshtoken"),
            Platform::Bo => stats.get("bo.refresh"),
        }
    }

    /// What one renewal of a revoked token costs upstream: ac tries `tokens/next`,
    /// which refuses the revoked token (10008), and logs in again; ilab and bo
    /// refresh once.
    pub fn recovery_calls(&self) -> u64 {
        match self.platform {
            Platform::Ac => 2,
            Platform::Ilab | Platform::Bo => 1,
        }
    }

    pub fn protected_calls(&self) -> u64 {
        let route = match self.platform {
            Platform::Ac => "ac.center",
            Platform::Ilab => "ilab.data_upload",
            Platform::Bo => "bo.whoami",
        };
        self.sandbox.stats().get(route)
    }

    /// Makes the platform revoke the current token; returns it.
    pub async fn revoke_current(&self) -> String {
        let token = self.cache.token().await.expect("token");
        let token = token.access_token().expose_secret().to_owned();
        let name = match self.platform {
            Platform::Ac => "ac",
            Platform::Ilab => "ilab",
            Platform::Bo => "bo",
        };
        let answer = admin(
            &self.sandbox,
            &format!("/_sandbox/{name}/revoke"),
            json!({ "token": token }),
        )
        .await;
        assert_eq!(answer["revoked"], true, "{:?}", self.platform);
        token
    }
}
