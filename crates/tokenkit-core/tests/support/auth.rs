//! Fixtures of the authenticated-call tests: a counting provider and two schemes.

#![allow(dead_code, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokenkit_core::auth::{Answer, AuthClient, Placement, Refusal, TokenScheme};
use tokenkit_core::{
    AccessToken, Arrival, Error, Expiry, Token, TokenCache, TokenProvider, async_trait,
};

/// Tokens `SENTINEL-tok-1`, `SENTINEL-tok-2`, … ; counts logins and renewals.
#[derive(Debug, Default)]
pub struct Counting {
    pub issued: AtomicU32,
    pub fetches: AtomicU32,
    pub refreshes: AtomicU32,
    /// Renewals fail, and so does every login after the first (a spent ilab grant).
    pub refuse_refresh: bool,
    /// Give every token this suffix (`+/=` for query tests).
    pub suffix: &'static str,
}

impl Counting {
    fn next(&self) -> Token {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        Token::new(
            format!("SENTINEL-tok-{n}{}", self.suffix),
            Expiry::after(Arrival::now(), Duration::from_secs(3600)),
        )
    }
}

#[async_trait]
impl TokenProvider for Counting {
    async fn fetch(&self) -> Result<Token, Error> {
        let earlier = self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.refuse_refresh && earlier > 0 {
            return Err(Error::reauth("test", "the ticket was used"));
        }
        Ok(self.next())
    }
    async fn refresh(&self, _current: &Token) -> Result<Token, Error> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if self.refuse_refresh {
            return Err(Error::reauth("test", "the budget is spent"));
        }
        Ok(self.next())
    }
}

/// `Authorization: Bearer`; a refusal is HTTP 401 or `{"code": "STALE"}`.
#[derive(Debug)]
pub struct Bearer;

impl TokenScheme for Bearer {
    fn platform(&self) -> &'static str {
        "test"
    }
    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        Placement::Bearer.apply(request, token)
    }
    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        if answer.status() == 401 {
            return Some(Refusal::by_status());
        }
        let code = answer.json_field("code")?;
        (code == "STALE").then(|| Refusal::with_code(code, answer.json_message()))
    }
}

/// The token in the `access_token` query parameter; a refusal is `{"code": 2}`.
#[derive(Debug)]
pub struct Query;

impl TokenScheme for Query {
    fn platform(&self) -> &'static str {
        "test"
    }
    fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
        Placement::query("access_token").apply(request, token)
    }
    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
        (answer.json_field("code")? == "2").then(Refusal::by_status)
    }
    fn scrub_url(&self, url: &mut reqwest::Url) {
        Placement::query("access_token").scrub_url(url);
    }
}

pub fn setup(provider: Counting) -> (Arc<Counting>, Arc<TokenCache>) {
    let provider = Arc::new(provider);
    let cache = Arc::new(TokenCache::builder_arc(provider.clone()).build());
    (provider, cache)
}

pub fn client(scheme: impl TokenScheme, cache: &Arc<TokenCache>) -> AuthClient {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .expect("client");
    AuthClient::new(http, scheme, Arc::clone(cache))
}
