//! Redis failures as tokenkit errors.
//!
//! Messages name the operation and the kind of failure only: never the URL (it may
//! hold a password), never a command's arguments (they hold tokens), never the
//! server's free text. Refusals no retry mends (TLS, authentication, ACL) are said
//! so by [`crate::refusal`].

use redis::{ErrorKind, RedisError, ServerErrorKind};
use tokenkit_core::Error;

use crate::{refusal, ttl};

/// A Redis error met while doing `operation`.
pub(crate) fn from_redis(operation: &str, e: &RedisError) -> Error {
    if let Some(refused) = refusal::describe(e) {
        return Error::store(format!("redis {operation}: {refused}"), false);
    }
    let code = e.code().map(|c| format!(" ({c})")).unwrap_or_default();
    Error::store(
        format!("redis {operation}: {}{code}", describe(e)),
        is_transient(e),
    )
}

/// An operation that got no answer in time. A write may still have been applied: the
/// next read shows it (the generation tells).
pub(crate) fn timed_out(operation: &str, waited: std::time::Duration) -> Error {
    Error::store(
        format!(
            "redis {operation}: no answer within {} ms (Redis unreachable or paused)",
            waited.as_millis()
        ),
        true,
    )
}

/// An answer of an unexpected shape (another program wrote the key, or a bug).
pub(crate) fn unexpected(operation: &str, what: &str) -> Error {
    Error::store(
        format!("redis {operation}: unexpected reply: {what}"),
        false,
    )
}

fn describe(e: &RedisError) -> &str {
    if e.code() == Some(ttl::REFUSED_CODE) {
        "refused an out-of-range TTL; nothing was written"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_connection_refusal() {
        "connection refused"
    } else if e.is_connection_dropped() {
        "connection lost"
    } else {
        match e.category() {
            "" => "server error",
            c => c,
        }
    }
}

/// Whether trying again later may help: the connection failed, or the server is
/// loading, failing over or busy running a script. On a cluster during a failover:
/// a slot moved (`MOVED`, `ASK`), the cluster has no master for a slot yet
/// (`CLUSTERDOWN`, `TRYAGAIN`), a demoted master refuses writes (`READONLY`), or the
/// client has no connection to the node it routed to (it reconnects and re-discovers
/// the slots).
fn is_transient(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return true;
    }
    match e.kind() {
        ErrorKind::ClusterConnectionNotFound => true,
        ErrorKind::Server(kind) => matches!(
            kind,
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
        ),
        ErrorKind::Extension => e.code() == Some("BUSY"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn classification_table() {
        let refused: RedisError = io::Error::new(io::ErrorKind::ConnectionRefused, "x").into();
        let reset: RedisError = io::Error::new(io::ErrorKind::ConnectionReset, "x").into();
        let timeout: RedisError = io::Error::new(io::ErrorKind::TimedOut, "x").into();
        let config: RedisError = (ErrorKind::InvalidClientConfig, "bad url").into();
        let types: RedisError = (ErrorKind::UnexpectedReturnType, "not a hash").into();
        let cases = [
            (refused, true, "connection refused"),
            (reset, true, "connection lost"),
            (timeout, true, "timed out"),
            (config, false, "invalid client config"),
            (types, false, "type error"),
        ];
        for (e, transient, text) in cases {
            let err = from_redis("load", &e);
            assert_eq!(err.is_transient(), transient, "{err}");
            assert!(err.to_string().contains(text), "{err}");
            assert!(
                err.to_string().starts_with("token store: redis load"),
                "{err}"
            );
        }
        assert!(timed_out("lease", std::time::Duration::from_millis(300)).is_transient());
    }

    /// What a cluster answers while a slot fails over or migrates: try again later.
    #[test]
    fn cluster_failover_replies_are_transient() {
        let reply = |line: &str| -> RedisError {
            redis::parse_redis_value(line.as_bytes())
                .expect("a reply")
                .extract_error()
                .expect_err("an error reply")
        };
        let cases = [
            reply("-MOVED 3999 127.0.0.1:6381\r\n"),
            reply("-ASK 3999 127.0.0.1:6381\r\n"),
            reply("-TRYAGAIN Multiple keys request during rehashing of slot\r\n"),
            reply("-CLUSTERDOWN The cluster is down\r\n"),
            reply("-READONLY You can't write against a read only replica.\r\n"),
            reply("-MASTERDOWN Link with MASTER is down\r\n"),
            (ErrorKind::ClusterConnectionNotFound, "no connection").into(),
        ];
        for e in cases {
            let err = from_redis("compare-and-set", &e);
            assert!(err.is_transient(), "{err}");
            // The server's free text (here an address) is not repeated.
            assert!(!err.to_string().contains("127.0.0.1"), "{err}");
        }
        let cross_slot = reply("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
        assert!(!from_redis("load", &cross_slot).is_transient());
        assert!(!unexpected("load", "x").is_transient());
    }
}
