//! A provider that counts what its inner provider does: the agent's metrics of logins,
//! refreshes and failures come from here, not from a lifecycle of its own.

use std::sync::Arc;

use async_trait::async_trait;
use tokenkit_core::{Error, RefreshPolicy, Token, TokenProvider};

use crate::stats::Stats;

/// `inner`, with every fetch and refresh counted in `stats`.
#[derive(Debug)]
pub struct Counting<P> {
    inner: P,
    stats: Arc<Stats>,
}

impl<P> Counting<P> {
    /// Counts `inner`'s calls in `stats`.
    pub fn new(inner: P, stats: Arc<Stats>) -> Self {
        Self { inner, stats }
    }
}

#[async_trait]
impl<P: TokenProvider> TokenProvider for Counting<P> {
    async fn fetch(&self) -> Result<Token, Error> {
        self.stats.fetches.add();
        let result = self.inner.fetch().await;
        self.record(&result, &self.stats.fetch_failures);
        result
    }

    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        self.stats.refreshes.add();
        let result = self.inner.refresh(current).await;
        self.record(&result, &self.stats.refresh_failures);
        result
    }

    fn policy(&self) -> RefreshPolicy {
        self.inner.policy()
    }

    fn platform(&self) -> &'static str {
        self.inner.platform()
    }
}

impl<P> Counting<P> {
    fn record(&self, result: &Result<Token, Error>, failures: &crate::stats::Counter) {
        match result {
            Ok(_) => self.stats.succeeded(),
            Err(error) => {
                failures.add();
                self.stats.failed(error);
            }
        }
    }
}
