//! A Redis-backed [`TokenStore`](tokenkit_core::TokenStore) for tokenkit: one grant
//! shared by many processes and hosts, as if they were one cache.
//!
//! - **State**: one hash per grant (`<prefix>:{<key>}:state`) holding the token record,
//!   the generation, the refreshes spent, the budget and the outcome-unknown marker.
//!   All names of a grant share one hash tag, so the scripts also run on Redis Cluster.
//! - **Compare-and-set** is one Lua script: check the generation, refuse a token that
//!   claims more refreshes than its budget (so not even two lease holders can overspend
//!   the ilab budget), write every field, bump the generation, set the key TTL, publish
//!   a change hint — all or none of them: its spans are checked before the first write.
//! - **Lease**: `SET … NX PX` with a random fence; renew and release are
//!   compare-and-pexpire / compare-and-delete scripts, so only the holder can.
//! - **Key TTL** follows the refresh token, not the access token ([`KeyTtl`]); every
//!   span sent to Redis is clamped to [`KeyTtl::MAX`].
//! - **Redis down**: operations fail as transient store errors within the operation
//!   timeout (the cache keeps serving its valid token), or fall back to an in-process
//!   store for grants without a budget ([`Fallback`]).
//! - **Pending records** (`<prefix>:{<key>}:pending`, a hash, and `…:pending-order`,
//!   their first-put order) are put, listed and removed by scripts, beside the token
//!   but never under its key TTL nor in the in-process fallback; an index set
//!   `<prefix>:pending-keys`, checked and pruned on reading, lists the keys that have
//!   some without scanning the server.
//! - **Sealed secrets** ([`RedisStoreBuilder::keyring`]): the access and refresh tokens
//!   inside `record` and the pending records' data are sealed with AES-256-GCM
//!   ([`tokenkit_core::store::seal`]); the other fields stay readable, so the scripts,
//!   leases and budgets are unchanged. The string `<prefix>:keycheck` holds the store's
//!   key check, which [`RedisStoreBuilder::connect`] verifies: a wrong key, or none, is
//!   refused before anything is read or spent.
//! - [`RedisStore::spend`]: an atomic check-and-count of one refresh;
//!   [`RedisStore::subscribe`]: change hints over pub/sub.
//! - **Redis Cluster** (`redis+cluster://host1:port1,host2:port2/`, or
//!   [`RedisStore::cluster_builder`]): every command of a grant goes to the master of
//!   its slot; change hints are heard on any node. A failover's errors (`MOVED`,
//!   `CLUSTERDOWN`, `TRYAGAIN`, a lost node) are transient store errors, retried
//!   within the operation timeout.
//! - **A Redis that went back** (a failover that lost writes, a restart without
//!   persistence): a store refuses to count a refresh of a budget-limited grant on a
//!   state older than it had seen, with a re-authentication error, rather than risk
//!   spending the budget twice.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tokenkit_core::TokenCache;
//! use tokenkit_redis::{Fallback, RedisStore};
//! # #[derive(Debug)] struct MyProvider;
//! # #[tokenkit_core::async_trait] impl tokenkit_core::TokenProvider for MyProvider {
//! #   async fn fetch(&self) -> Result<tokenkit_core::Token, tokenkit_core::Error> { unimplemented!() }
//! #   async fn refresh(&self, _: &tokenkit_core::Token) -> Result<tokenkit_core::Token, tokenkit_core::Error> { unimplemented!() }
//! # }
//! # async fn f() -> Result<(), tokenkit_core::Error> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/")
//!     .fallback(Fallback::FailClosed)
//!     .connect()
//!     .await?;
//! let cache = TokenCache::builder(MyProvider)
//!     .store(Arc::new(store))
//!     .key("ilab:alice")
//!     .build();
//! let token = cache.token().await?;
//! # Ok(()) }
//! ```
//!
//! # TLS and ACL users
//!
//! `rediss://host:port/` connects over TLS (rustls) and always verifies the server's
//! certificate: against the system trust store, or against exactly the CA given by
//! `?ca=PATH` or [`RedisStoreBuilder::ca_file`] / [`RedisStoreBuilder::ca_pem`]. A
//! client certificate (mutual TLS) is `?cert=PATH&key=PATH` or
//! [`RedisStoreBuilder::client_cert`]. An ACL user is `redis://user:password@…`, or
//! [`RedisStoreBuilder::credentials`] to keep the password out of the URL; the rule
//! the user needs is [`acl::minimal_rule`] (on a Redis Cluster
//! [`acl::minimal_cluster_rule`], on every node). `#insecure` and unknown URL
//! parameters are refused; a certificate file that cannot be read or is not PEM is a
//! configuration error naming the path. On a cluster (`rediss+cluster://…?ca=PATH`, or
//! [`RedisStore::cluster_builder`] with the same options) they hold for every node:
//! the seeds, the nodes the cluster announces, and the pub/sub connection.
//!
//! ```no_run
//! # async fn f() -> Result<(), tokenkit_core::Error> {
//! use tokenkit_redis::RedisStore;
//! let store = RedisStore::builder("rediss://redis.internal:6380/?ca=/etc/tokenkit/redis-ca.pem")
//!     .credentials("tokenkit", std::env::var("REDIS_PASSWORD").unwrap_or_default())
//!     .connect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! A refusal no retry mends — an untrusted certificate, a host name it does not name,
//! a client certificate the server wants, a wrong password (`WRONGPASS`), a missing
//! permission (`NOPERM`) — is a non-transient [`Error::Store`](tokenkit_core::Error::Store)
//! saying so, and [`RedisStoreBuilder::connect`] reports it after one attempt (one per
//! seed node on a cluster). No error,
//! `Debug` output or log line holds the URL or the password.
//!
//! # Features
//!
//! - `rustls` (default): `rediss://` with aws-lc-rs as rustls's crypto provider,
//!   installed as the process default when no provider is installed yet.
//! - `rustls-no-provider`: `rediss://` with the provider the application installs
//!   (`rustls::crypto::CryptoProvider::install_default`, e.g. ring, which needs no C
//!   toolchain); without one, building a `rediss://` store is a configuration error.
//!
//! With neither (`--no-default-features`) it is as with `rustls-no-provider`; plain
//! `redis://` needs no provider. Single servers and Redis Cluster (`redis+cluster://`,
//! the `redis` crate's `cluster-async`) are always built in.

// The unit tests that drive the scripts directly against a real server share the
// integration tests' server harness (`tests/support`), which names this crate.
#[cfg(test)]
extern crate self as tokenkit_redis;

pub mod acl;
mod changes;
mod cluster;
mod codec;
mod config;
mod connection;
mod endpoint;
mod error;
mod fallback;
mod key_check;
mod keys;
mod pending;
mod probe;
#[cfg(test)]
mod props;
mod refusal;
mod rollback;
mod scripts;
mod spend;
mod store;
mod tls;
mod token_store;
mod ttl;

pub use changes::{Change, Changes};
pub use config::{Fallback, KeyTtl};
pub use spend::Spend;
pub use store::{RedisStore, RedisStoreBuilder};
