//! The connection every operation goes through — one server or a Redis Cluster — and
//! where change hints are subscribed.
//!
//! Both kinds implement [`ConnectionLike`], so every script and command of the store
//! runs unchanged on either: the single-node [`ConnectionManager`] reconnects by
//! itself; the cluster connection ([`LazyCluster`]) routes each command by the slot of
//! its first key, follows `MOVED`/`ASK` and re-discovers the slots after a failover.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{
    Cmd, ConnectionInfo, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
    TlsCertificates, Value,
};
use tokenkit_core::Error;

use crate::cluster::LazyCluster;
use crate::config::Settings;
use crate::error::from_redis;

/// What a store connects to, as its builder was told.
pub(crate) enum Target {
    /// One server (`redis://`, `rediss://`, `redis+unix://`).
    Single(redis::Client),
    /// The seed nodes of a cluster (`redis+cluster://`, or
    /// [`RedisStore::cluster_builder`](crate::RedisStore::cluster_builder)), with the
    /// certificates of `rediss+cluster://`.
    Cluster {
        seeds: Vec<ConnectionInfo>,
        certificates: Option<TlsCertificates>,
    },
}

impl Target {
    /// A short description for `Debug` (no address: it may hold a password).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Single(_) => "single node",
            Self::Cluster { .. } => "cluster",
        }
    }

    /// The connection for the store's operations and the clients for its
    /// subscriptions. Connects lazily: nothing is sent before the first operation.
    pub(crate) fn open(self, s: &Settings) -> Result<(Connection, Subscribers), Error> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(s.connect_timeout))
                    .set_response_timeout(Some(s.operation_timeout))
                    // Reconnect quickly after an outage; every operation is bounded by
                    // its own timeout anyway.
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map_err(|e| from_redis("connect", &e))?;
                Ok((Connection::Single(manager), Subscribers(vec![client])))
            }
            Self::Cluster {
                seeds,
                certificates,
            } => {
                let subscribers = seeds
                    .iter()
                    .map(|seed| match &certificates {
                        Some(certificates) => {
                            redis::Client::build_with_tls(seed.clone(), certificates.clone())
                        }
                        None => redis::Client::open(seed.clone()),
                    })
                    .collect::<RedisResult<Vec<_>>>()
                    .map_err(|_| Error::config("invalid redis cluster seed node"))?;
                let cluster = LazyCluster::new(&seeds, s, certificates, subscribers.clone())?;
                Ok((
                    Connection::Cluster(Arc::new(cluster)),
                    Subscribers(subscribers),
                ))
            }
        }
    }
}

/// The store's connection: cheap to clone, shared by every operation.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server, reconnected by the manager.
    Single(ConnectionManager),
    /// A cluster, connected at the first operation.
    Cluster(Arc<LazyCluster>),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(lazy) => async move {
                let mut c = lazy.connection().await?;
                c.req_packed_command(cmd).await
            }
            .boxed(),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(lazy) => async move {
                let mut c = lazy.connection().await?;
                c.req_packed_commands(pipeline, offset, count).await
            }
            .boxed(),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            // A cluster has database 0 only.
            Self::Cluster(_) => 0,
        }
    }
}

/// Where change hints are subscribed: the server, or the seed nodes of a cluster.
///
/// Classic `PUBLISH` (also from a script) is broadcast over the cluster bus to every
/// node, so a subscription on any one node hears the changes of every slot.
pub(crate) struct Subscribers(Vec<redis::Client>);

impl Subscribers {
    /// The clients, in order: the server, or the seed nodes.
    pub(crate) fn clients(&self) -> &[redis::Client] {
        &self.0
    }

    /// A pub/sub connection to the first of the nodes, in order, that answers within
    /// `connect_timeout`.
    pub(crate) async fn connect(&self, connect_timeout: Duration) -> RedisResult<PubSub> {
        let mut last = None;
        for client in &self.0 {
            match tokio::time::timeout(connect_timeout, client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => return Ok(pubsub),
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(RedisError::from(std::io::Error::from(
                        std::io::ErrorKind::TimedOut,
                    )));
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            RedisError::from((ErrorKind::InvalidClientConfig, "no node to subscribe on"))
        }))
    }
}
