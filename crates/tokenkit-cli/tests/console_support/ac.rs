//! The ac platform's client, played with plain requests: the sandbox's default
//! account logs in (`POST /ac/openapi/v2/tokens`) and asks whether a token is valid
//! (`GET /ac/openapi/v2/tokens/state`).

use reqwest::StatusCode;
use serde_json::Value;

/// The sandbox's default ac account (crates/tokenkit-sandbox/src/ac/mod.rs).
pub const USER: &str = "demo";
/// Its password: a secret no console page may show.
pub const PASSWORD: &str = "demo-password";
const ORG: &str = "demo-org";

/// Requests to the ac routes of the sandbox at `base_url`, with no proxy between.
pub struct Ac {
    http: reqwest::Client,
    base_url: String,
}

impl Ac {
    /// A client of the sandbox at `base_url`.
    pub fn new(base_url: &str) -> Self {
        Self {
            http: super::http_client(),
            base_url: base_url.to_owned(),
        }
    }

    /// The password login: its status and JSON body (`null` for a body that is not
    /// JSON, as an injected 503 page).
    pub async fn login(&self) -> (StatusCode, Value) {
        let answer = self
            .http
            .post(format!("{}/ac/openapi/v2/tokens", self.base_url))
            .header("user", USER)
            .header("password", PASSWORD)
            .header("orgId", ORG)
            .send()
            .await
            .expect("the ac login is answered");
        let status = answer.status();
        let body = answer.bytes().await.expect("the login's body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A successful login's token of `cluster`.
    pub async fn token(&self, cluster: &str) -> String {
        let (status, login) = self.login().await;
        assert_eq!(status, StatusCode::OK, "{login}");
        login["data"]
            .as_array()
            .and_then(|regions| regions.iter().find(|region| region["clusterId"] == cluster))
            .and_then(|region| region["token"].as_str())
            .unwrap_or_else(|| panic!("a token of cluster {cluster}: {login}"))
            .to_owned()
    }

    /// `tokens/state` for `token`: the platform's code (`"0"`: valid, `"10008"`: not).
    pub async fn state(&self, token: &str) -> String {
        let answer = self
            .http
            .get(format!("{}/ac/openapi/v2/tokens/state", self.base_url))
            .header("token", token)
            .send()
            .await
            .expect("tokens/state is answered");
        let body: Value =
            serde_json::from_slice(&answer.bytes().await.expect("a body")).unwrap_or(Value::Null);
        match &body["code"] {
            Value::String(code) => code.clone(),
            other => other.to_string(),
        }
    }
}
