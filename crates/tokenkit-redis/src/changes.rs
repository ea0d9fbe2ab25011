//! Change hints over pub/sub: a waiter may wake as soon as a token is committed or the
//! lease is released, instead of at its next poll. Only a hint — messages are lost
//! while disconnected, so waiters poll anyway (the [`TokenCache`](tokenkit_core::TokenCache)
//! does, with jitter).

use std::fmt;

use futures_util::StreamExt;
use redis::aio::PubSubStream;
use tokenkit_core::Error;

use crate::RedisStore;

/// What changed (the payload published by the store's scripts).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A token was written at this generation (or a refresh was counted).
    Written(u64),
    /// The refresh lease was released.
    LeaseReleased,
    /// The token was removed.
    Removed,
}

impl Change {
    fn parse(payload: &str) -> Option<Self> {
        match payload {
            "released" => Some(Self::LeaseReleased),
            "removed" => Some(Self::Removed),
            p => p
                .strip_prefix("gen:")
                .and_then(|g| g.parse().ok())
                .map(Self::Written),
        }
    }
}

/// A subscription to the changes of one key; see [`RedisStore::subscribe`].
pub struct Changes {
    stream: PubSubStream,
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

impl Changes {
    /// The next change; `None` when the connection is closed (subscribe again, and
    /// poll meanwhile). Unknown payloads are skipped.
    pub async fn next(&mut self) -> Option<Change> {
        while let Some(msg) = self.stream.next().await {
            if let Some(change) = msg
                .get_payload::<String>()
                .ok()
                .and_then(|p| Change::parse(&p))
            {
                return Some(change);
            }
        }
        None
    }
}

impl RedisStore {
    /// Subscribes to the changes of `key` on a dedicated connection. On a cluster the
    /// connection goes to the first seed node that answers: every node hears every
    /// change (`PUBLISH` is broadcast over the cluster bus). When that node goes away,
    /// [`Changes::next`] returns `None`; subscribe again (maybe to another node).
    ///
    /// ```no_run
    /// # async fn f(store: tokenkit_redis::RedisStore) -> Result<(), tokenkit_core::Error> {
    /// let mut changes = store.subscribe("ilab:alice").await?;
    /// if let Some(change) = changes.next().await {
    ///     println!("{change:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, key: &str) -> Result<Changes, Error> {
        let channel = self.channel(key);
        let connect_timeout = self.inner.settings.connect_timeout;
        let mut pubsub = self
            .run("subscribe", self.inner.subscribers.connect(connect_timeout))
            .await?;
        self.run("subscribe", pubsub.subscribe(&channel)).await?;
        Ok(Changes {
            stream: pubsub.into_on_message(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(Change::parse("gen:42"), Some(Change::Written(42)));
        assert_eq!(Change::parse("released"), Some(Change::LeaseReleased));
        assert_eq!(Change::parse("removed"), Some(Change::Removed));
        assert_eq!(Change::parse("gen:x"), None);
        assert_eq!(Change::parse(""), None);
    }
}
