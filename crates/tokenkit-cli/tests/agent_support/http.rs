//! HTTP to the agent over its Unix socket or its TCP address, and its `/metrics` read
//! back as numbers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;

/// Which listener a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Unix,
    Tcp,
}

/// The client side of one agent: a client per listener.
#[derive(Debug, Clone)]
pub struct Api {
    socket: Option<PathBuf>,
    unix: Option<Client>,
    tcp: Option<(SocketAddr, Client)>,
    bearer: Option<String>,
}

/// An answer of the agent.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `access_token` of a token answer; panics (without the body, which may hold
    /// a token) when there is none.
    pub fn access_token(&self) -> String {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "expected a token answer, got HTTP {} (error {})",
                    self.status, self.body["error"]
                )
            })
            .to_owned()
    }

    /// `error.kind` of an error answer.
    pub fn kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }

    /// Status and error only: what a failure message may show.
    pub fn summary(&self) -> String {
        format!("HTTP {} (error {})", self.status, self.body["error"])
    }
}

impl Api {
    pub(crate) fn new(
        socket: Option<PathBuf>,
        tcp: Option<SocketAddr>,
        bearer: Option<String>,
    ) -> Self {
        let unix = socket.as_ref().map(|path| {
            Client::builder()
                .unix_socket(path.clone())
                .build()
                .expect("a Unix socket client")
        });
        let tcp = tcp.map(|addr| {
            let client = Client::builder().no_proxy().build().expect("a TCP client");
            (addr, client)
        });
        Self {
            socket,
            unix,
            tcp,
            bearer,
        }
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.socket.clone().expect("the agent listens on a socket")
    }

    /// The TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp.as_ref().expect("the agent listens on TCP").0
    }

    /// A bare request: no `Tokenkit-Agent` header, no bearer.
    pub fn bare(&self, via: Via, method: Method, path: &str) -> RequestBuilder {
        match via {
            // Over the socket the host of the URL is not used for connecting.
            Via::Unix => self
                .unix
                .as_ref()
                .expect("the agent listens on a socket")
                .request(method, format!("http://localhost{path}")),
            Via::Tcp => {
                let (addr, client) = self.tcp.as_ref().expect("the agent listens on TCP");
                client.request(method, format!("http://{addr}{path}"))
            }
        }
    }

    /// A request as a well-behaved client sends it: `Tokenkit-Agent: 1`, and on TCP the
    /// bearer when the agent has one.
    pub fn request(&self, via: Via, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.bare(via, method, path).header("Tokenkit-Agent", "1");
        if let (Via::Tcp, Some(bearer)) = (via, &self.bearer) {
            request = request.bearer_auth(bearer);
        }
        request
    }

    pub async fn get(&self, via: Via, path: &str) -> Reply {
        send(self.request(via, Method::GET, path)).await
    }

    pub async fn post(&self, via: Via, path: &str, body: &Value) -> Reply {
        send(json(self.request(via, Method::POST, path), body)).await
    }

    /// `GET /v1/grants/{grant}/token`.
    pub async fn token(&self, via: Via, grant: &str) -> Reply {
        self.get(via, &format!("/v1/grants/{grant}/token")).await
    }

    /// `POST /v1/grants/{grant}/refused`.
    pub async fn refused(&self, via: Via, grant: &str, token: &str) -> Reply {
        let body = serde_json::json!({ "token": token });
        self.post(via, &format!("/v1/grants/{grant}/refused"), &body)
            .await
    }

    /// `POST /v1/ilab/{app}/sessions` with a launch ticket.
    pub async fn launch(&self, via: Via, app: &str, ticket: &str) -> Reply {
        let body = serde_json::json!({ "ticket": ticket });
        self.post(via, &format!("/v1/ilab/{app}/sessions"), &body)
            .await
    }

    /// The body of `GET /v1/health` (over the socket if there is one).
    pub async fn health(&self) -> Value {
        let reply = self.get(self.default_via(), "/v1/health").await;
        assert_eq!(reply.status, 200, "health: {}", reply.text);
        reply.body
    }

    /// `GET /metrics` (over the socket if there is one), without the agent header.
    pub async fn metrics(&self) -> Metrics {
        let reply = send(self.bare(self.default_via(), Method::GET, "/metrics")).await;
        assert_eq!(reply.status, 200, "metrics: {}", reply.summary());
        Metrics::parse(&reply.text)
    }

    fn default_via(&self) -> Via {
        if self.unix.is_some() {
            Via::Unix
        } else {
            Via::Tcp
        }
    }
}

/// `request` with a JSON body.
pub fn json(request: RequestBuilder, body: &Value) -> RequestBuilder {
    request
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// Sends `request`; the answer read whole.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("the agent answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response
        .text()
        .await
        .expect("the agent's answer has a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// The samples of `/metrics`, by (metric without `tokenkit_agent_`, grant label).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    samples: BTreeMap<(String, String), u64>,
    pub text: String,
}

impl Metrics {
    fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let (metric, labels) = series.split_once('{').expect("labels");
            let grant = labels
                .split(',')
                .find_map(|l| l.strip_prefix("grant=\""))
                .and_then(|l| l.strip_suffix('"'))
                .expect("a grant label");
            let metric = metric
                .strip_prefix("tokenkit_agent_")
                .expect("the agent's prefix");
            let value = value.parse().expect("a whole number");
            samples.insert((metric.to_owned(), grant.to_owned()), value);
        }
        Self {
            samples,
            text: text.to_owned(),
        }
    }

    /// A sample's value; absent samples are `None`.
    pub fn sample(&self, metric: &str, grant: &str) -> Option<u64> {
        self.samples
            .get(&(metric.to_owned(), grant.to_owned()))
            .copied()
    }

    /// A counter's value (an absent counter is 0).
    pub fn get(&self, metric: &str, grant: &str) -> u64 {
        self.sample(metric, grant).unwrap_or(0)
    }
}
