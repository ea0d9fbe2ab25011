//! Sentinel secrets pushed through Debug, Display, errors and captured tracing output
//! never appear.

#[path = "support/traces.rs"]
mod traces;

mod support;

use std::time::Duration;

use support::{Answer, Scripted, server_error};
use tokenkit_core::{
    Arrival, Error, Expiry, Grant, Metadata, Token, TokenCache, TokenProvider, async_trait,
};

const SENTINEL: &str = "SENTINEL-5ecret";

/// Hands out tokens whose access and refresh tokens contain the sentinel, and fails
/// every other refresh with errors built from bodies that contain it too.
#[derive(Debug)]
struct SentinelProvider {
    inner: Scripted,
}

#[async_trait]
impl TokenProvider for SentinelProvider {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await?;
        Ok(Token::new(
            format!("{SENTINEL}-access"),
            Expiry::after(Arrival::now(), Duration::from_secs(2)),
        )
        .with_refresh_token(format!("{SENTINEL}-refresh"))
        .with_grant(Grant::default())
        .with_metadata(Metadata::default()))
    }
    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        self.inner.refresh(current).await?;
        Err(Error::malformed(
            "test",
            "missing access_token",
            format!("{{\"refresh_token\":\"{SENTINEL}-refresh-aaaaaaaaaaaaaaaaaaaaaaaa\"}}")
                .as_bytes(),
        ))
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_traces() {
    let captured = traces::Traces::capture();

    let provider = SentinelProvider {
        inner: Scripted::new(Duration::from_secs(2)).then_refresh(Answer::Fail(server_error())),
    };
    let cache = TokenCache::new(provider);
    let token = cache.token().await.expect("fetch");
    let mut rendered = format!(
        "{token:?} {:?} {:?} {cache:?}",
        token.to_owned_token(),
        token.to_owned_token().to_record()
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // First refresh: a transient error; the retry: a malformed body holding the sentinel.
    for _ in 0..3 {
        match cache.token().await {
            Ok(t) => rendered.push_str(&format!("{t:?}")),
            Err(e) => rendered.push_str(&format!("{e} {e:?}")),
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let traces = captured.text();
    assert!(
        traces.contains("token fetch started"),
        "tracing captured: {traces}"
    );
    assert!(
        traces.contains("token refresh"),
        "tracing captured: {traces}"
    );
    assert!(!traces.contains(SENTINEL), "{traces}");
    assert!(!rendered.contains(SENTINEL), "{rendered}");
    assert!(
        rendered.contains("malformed") || rendered.contains("server error"),
        "{rendered}"
    );
}
