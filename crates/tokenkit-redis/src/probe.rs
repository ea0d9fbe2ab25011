//! The first connection of [`RedisStoreBuilder::connect`](crate::RedisStoreBuilder::connect),
//! made once and directly.
//!
//! The store's `ConnectionManager` retries a failed connection attempt a few times
//! with backoff, whatever the failure, and an operation gives up at its timeout: a
//! server that refuses us for good (an untrusted certificate, a wrong password) would
//! look like a slow one ("no answer within …"), and only after the retries. One
//! attempt without retries tells at once what is wrong, as the error says it
//! ([`crate::refusal`]); the connection is then dropped.

use std::time::Duration;

use redis::{AsyncConnectionConfig, ConnectionAddr, RedisResult};
use tokenkit_core::Error;

use crate::config::Settings;
use crate::connection::Subscribers;
use crate::error::{from_redis, timed_out};

/// [`once`] on the server, or on a cluster's seed nodes in turn until one answers (the
/// others may be down: a cluster is found from any). When none answers, the first
/// refusal that no retry mends is reported (a certificate, a password), else the first
/// failure.
pub(crate) async fn any(nodes: &Subscribers, settings: &Settings) -> Result<(), Error> {
    let mut reported: Option<Error> = None;
    for client in nodes.clients() {
        match once(client, settings).await {
            Ok(()) => return Ok(()),
            Err(e) if reported.as_ref().is_none_or(Error::is_transient) && !e.is_transient() => {
                reported = Some(e);
            }
            Err(e) => {
                reported.get_or_insert(e);
            }
        }
    }
    reported.map_or(Ok(()), Err)
}

/// Connects once and sends `PING`, within the connect plus the operation timeout.
pub(crate) async fn once(client: &redis::Client, settings: &Settings) -> Result<(), Error> {
    let limit = settings.connect_timeout + settings.operation_timeout;
    let attempt = attempt(client, settings.connect_timeout, settings.operation_timeout);
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if e.is_connection_dropped() && !is_tls(client) => Err(Error::store(
            "redis connect: the server closed the connection at once (a TLS-only server \
             does that to plain connections: use rediss://)",
            true,
        )),
        Ok(Err(e)) => Err(from_redis("connect", &e)),
        Err(_) => Err(timed_out("connect", limit)),
    }
}

/// One connection and `PING`, each step within its timeout, with the redis crate's
/// error (which holds the cause: a TLS alert, `WRONGPASS`).
pub(crate) async fn attempt(
    client: &redis::Client,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> RedisResult<()> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .map(drop)
}

fn is_tls(client: &redis::Client) -> bool {
    matches!(
        client.get_connection_info().addr(),
        ConnectionAddr::TcpTls { .. }
    )
}
