//! The first connection of [`RedisStoreBuilder::connect`](crate::RedisStoreBuilder::connect),
//! made once and directly.
//!
//! The store's `ConnectionManager` retries a failed connection attempt a few times
//! with backoff, whatever the failure, and an operation gives up at its timeout: a
//! server that refuses us for good (an untrusted certificate, a wrong password) would
//! look like a slow one ("no answer within …"), and only after the retries. One
//! attempt without retries tells at once what is wrong, as the error says it
//! ([`crate::refusal`]); the connection is then dropped.

use redis::{AsyncConnectionConfig, ConnectionAddr};
use tokenkit_core::Error;

use crate::config::Settings;
use crate::error::{from_redis, timed_out};

/// Connects once and sends `PING`, within the connect plus the operation timeout.
pub(crate) async fn once(client: &redis::Client, settings: &Settings) -> Result<(), Error> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(settings.connect_timeout))
        .set_response_timeout(Some(settings.operation_timeout));
    let attempt = async {
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    let limit = settings.connect_timeout + settings.operation_timeout;
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_connection_dropped() && !is_tls(client) => Err(Error::store(
            "redis connect: the server closed the connection at once (a TLS-only server \
             does that to plain connections: use rediss://)",
            true,
        )),
        Ok(Err(e)) => Err(from_redis("connect", &e)),
        Err(_) => Err(timed_out("connect", limit)),
    }
}

fn is_tls(client: &redis::Client) -> bool {
    matches!(
        client.get_connection_info().addr(),
        ConnectionAddr::TcpTls { .. }
    )
}
