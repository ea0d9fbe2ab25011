//! The bo platform's side of an application, played with plain requests: a login (the
//! sandbox's admin stand-in, `POST /_sandbox/bo/sessions`) and a protected call
//! (`GET /_sandbox/bo/whoami`).

use reqwest::StatusCode;
use serde_json::{Value, json};

/// Requests to the bo routes of the sandbox at `base_url`.
pub struct Bo {
    http: reqwest::Client,
    base_url: String,
}

/// What a bo login gives: both secrets.
pub struct Login {
    /// The JWT `whoami` takes.
    pub access_token: String,
    /// The opaque token a refresh takes (and rotates).
    pub refresh_token: String,
}

impl Bo {
    /// A client of the sandbox at `base_url`.
    pub fn new(base_url: &str) -> Self {
        Self {
            http: super::http_client(),
            base_url: base_url.to_owned(),
        }
    }

    /// Opens a session of `user_id`.
    pub async fn login(&self, user_id: &str) -> Login {
        let answer = self
            .http
            .post(format!("{}/_sandbox/bo/sessions", self.base_url))
            .json_body(&json!({ "userId": user_id }))
            .send()
            .await
            .expect("the bo login is answered");
        let body: Value = serde_json::from_slice(&answer.bytes().await.expect("a body"))
            .expect("the bo login answers JSON");
        let field = |name: &str| {
            body[name]
                .as_str()
                .unwrap_or_else(|| panic!("the bo login gives {name}"))
                .to_owned()
        };
        Login {
            access_token: field("accessToken"),
            refresh_token: field("refreshToken"),
        }
    }

    /// The protected call's HTTP status for `access_token` (200, or 401 refused).
    pub async fn whoami(&self, access_token: &str) -> StatusCode {
        self.http
            .get(format!("{}/_sandbox/bo/whoami", self.base_url))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("whoami is answered")
            .status()
    }
}

/// A JSON body without reqwest's `json` feature (the workspace leaves it off).
trait JsonBody {
    fn json_body(self, value: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, value: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(value.to_string())
    }
}
