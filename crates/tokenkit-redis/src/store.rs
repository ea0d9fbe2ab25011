//! The store itself: construction, and one function per Redis operation, each a single
//! round trip (a script or one command) bounded by the operation timeout.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::{RedisResult, Value};
use tokenkit_core::{CasOutcome, Error, Lease, Token, Versioned};

use crate::codec::{self, Fields};
use crate::config::{Fallback, KeyTtl, Settings};
use crate::connection::{Connection, Subscribers};
use crate::endpoint::Endpoint;
use crate::error::{from_redis, timed_out, unexpected};
use crate::fallback::Local;
use crate::keys::Names;
use crate::rollback::Seen;
use crate::{probe, scripts, ttl};

/// A [`TokenStore`](tokenkit_core::TokenStore) in Redis, shared by every process and
/// host that points at the same server: one grant, one refresh at a time, one budget.
///
/// Cloning is cheap and shares the connection.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_redis::RedisStore;
/// # async fn f() -> Result<(), tokenkit_core::Error> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/").connect().await?;
/// let store: Arc<dyn tokenkit_core::TokenStore> = Arc::new(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) subscribers: Subscribers,
    pub(crate) connection: Connection,
    pub(crate) settings: Settings,
    pub(crate) local: Option<Local>,
    /// What this store saw of budgeted grants (see [`crate::rollback`]).
    pub(crate) seen: Seen,
    /// `single node` or `cluster`, for `Debug`.
    topology: &'static str,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        let s = &self.inner.settings;
        f.debug_struct("RedisStore")
            .field("topology", &self.inner.topology)
            .field("prefix", &s.prefix)
            .field("operation_timeout", &s.operation_timeout)
            .field("key_ttl", &s.key_ttl)
            .field("fallback", &s.fallback)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`].
pub struct RedisStoreBuilder {
    /// The server or cluster, and the TLS and credential options (their setters are in
    /// `endpoint.rs`).
    pub(crate) endpoint: Endpoint,
    settings: Settings,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the addresses: they may hold a password.
        f.debug_struct("RedisStoreBuilder")
            .field("topology", &self.endpoint.topology())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key and channel (default `tokenkit`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefix = prefix.into();
        self
    }

    /// How long one operation may take before it fails as a transient store error
    /// (default 2 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.settings.operation_timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a grant's state lives in Redis (see [`KeyTtl`]).
    pub fn key_ttl(mut self, ttl: KeyTtl) -> Self {
        self.settings.key_ttl = ttl;
        self
    }

    /// What to do while Redis is unreachable (default [`Fallback::FailClosed`]).
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.settings.fallback = fallback;
        self
    }

    /// With [`Fallback::Local`]: after a failure, how long to use the local store
    /// before trying Redis again (default 1 s).
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.settings.probe_interval = interval;
        self
    }

    /// Seals the secrets this store writes with `keyring` (see
    /// [`tokenkit_core::store::seal`]): the access and refresh tokens inside the `record`
    /// field and the data of pending records. The other fields of the state hash (gen,
    /// spent, budget, unknown, expiry) stay readable, so leases, budgets and the scripts
    /// work unchanged. Values kept in clear are still read; a value sealed with a key
    /// the keyring lacks is a store error that is not transient.
    ///
    /// [`connect`](Self::connect) verifies the keyring against the store's key check
    /// (`<prefix>:keycheck`) before anything else is read or written.
    pub fn keyring(mut self, keyring: tokenkit_core::Keyring) -> Self {
        self.settings.keyring = Some(keyring);
        self
    }

    /// The store, connecting lazily (at the first operation). Fails only for an
    /// invalid URL or TLS configuration (a CA or client certificate that cannot be
    /// read). Must be called inside a Tokio runtime.
    ///
    /// Being lazy, it does **not** verify the store's key check: a wrong keyring (or a
    /// missing one) shows only when a sealed record is read, which may be after
    /// something was spent (an ilab ticket is exchanged before its grant is read). Use
    /// [`connect`](Self::connect) wherever a key is involved.
    pub fn build(self) -> Result<RedisStore, Error> {
        let target = self.endpoint.target()?;
        let topology = target.kind();
        let s = self.settings;
        let (connection, subscribers) = target.open(&s)?;
        let local = (s.fallback == Fallback::Local).then(|| Local::new(s.probe_interval));
        Ok(RedisStore {
            inner: Arc::new(Inner {
                subscribers,
                connection,
                settings: s,
                local,
                seen: Seen::default(),
                topology,
            }),
        })
    }

    /// The store, after checking that Redis answers `PING`. A server that refuses
    /// the connection for good (TLS, password, ACL) is reported as what it is, within
    /// the connect and operation timeouts.
    ///
    /// Then it verifies the store's key check, the string `<prefix>:keycheck`
    /// ([`tokenkit_core::store::seal::verify_key_check`]). With a keyring: a check
    /// sealed with a key id the keyring lacks, or with other bytes under the same id,
    /// fails with a store error that is not transient (so this fails at once, before
    /// any platform call); a missing check is written with the current key (`SET NX`:
    /// of two processes connecting with different keys, one wins and the other is
    /// refused); one sealed with an older key of the keyring is written again with the
    /// current key, so processes that lack the new key are refused from then on.
    /// Without a keyring, finding a check fails the same way: this process forgot its
    /// key.
    pub async fn connect(self) -> Result<RedisStore, Error> {
        let store = self.build()?;
        probe::any(&store.inner.subscribers, &store.inner.settings).await?;
        store.ping().await?;
        store.verify_key_check().await?;
        Ok(store)
    }
}

impl RedisStore {
    /// A builder for the server at `url`: `redis://[[user]:password@]host[:port][/db]`,
    /// `rediss://…[?ca=PATH][&cert=PATH&key=PATH]` (TLS, see the
    /// [crate docs](crate#tls-and-acl-users)) or `redis+unix:///path`; or for the Redis
    /// Cluster whose seed nodes it lists:
    /// `redis+cluster://[[user]:password@]host1:port1[,host2:port2…]/` (database 0
    /// only; the nodes of the cluster are discovered from any seed that answers), and
    /// `rediss+cluster://…` with the same TLS parameters. An invalid URL is reported by
    /// [`build`](RedisStoreBuilder::build), without quoting it.
    ///
    /// ```
    /// use tokenkit_redis::RedisStore;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokenkit_core::Error> {
    /// let one = RedisStore::builder("redis://127.0.0.1:6379/0").build()?;
    /// let cluster = RedisStore::builder("redis+cluster://10.0.0.1:7000,10.0.0.2:7000/").build()?;
    /// let err = RedisStore::builder("redis+cluster://10.0.0.1:7000/2").build().expect_err("db 2");
    /// assert!(err.to_string().contains("only database 0"));
    /// # Ok(()) }
    /// ```
    pub fn builder(url: impl AsRef<str>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            endpoint: Endpoint::parse(url.as_ref()),
            settings: Settings::default(),
        }
    }

    /// A builder for the Redis Cluster reachable through `seeds`, one URL per node
    /// (`redis://[[user]:password@]host:port`, `rediss://…` for TLS; database 0 only).
    /// Any seed that answers tells where the others are; several guard against one
    /// being down at the first connection. The TLS and credential options of the
    /// builder apply to every node.
    ///
    /// ```
    /// use tokenkit_redis::RedisStore;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokenkit_core::Error> {
    /// let store = RedisStore::cluster_builder(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn cluster_builder(seeds: impl IntoIterator<Item = impl AsRef<str>>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            endpoint: Endpoint::seeds(seeds),
            settings: Settings::default(),
        }
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut c = self.connection();
        self.run("ping", async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(drop)
    }

    /// The key TTL policy.
    pub fn key_ttl(&self) -> &KeyTtl {
        &self.inner.settings.key_ttl
    }

    /// The Redis name of the hash holding `key`'s token (for operators and tests).
    pub fn state_key(&self, key: &str) -> String {
        self.names(key).state
    }

    /// The Redis name of `key`'s refresh lease.
    pub fn lease_key(&self, key: &str) -> String {
        self.names(key).lease
    }

    /// The pub/sub channel on which `key`'s changes are announced.
    pub fn channel(&self, key: &str) -> String {
        self.names(key).channel
    }

    pub(crate) fn names(&self, key: &str) -> Names {
        Names::new(&self.inner.settings.prefix, key)
    }

    pub(crate) fn connection(&self) -> Connection {
        self.inner.connection.clone()
    }

    pub(crate) fn local(&self) -> Option<&Local> {
        self.inner.local.as_ref()
    }

    /// Runs one Redis operation within the operation timeout.
    pub(crate) async fn run<T>(
        &self,
        operation: &str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Error> {
        let limit = self.inner.settings.operation_timeout;
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(from_redis(operation, &e)),
            Err(_) => Err(timed_out(operation, limit)),
        }
    }

    /// `HMGET` of the state hash.
    pub(crate) async fn redis_load(&self, key: &str) -> Result<Option<Versioned>, Error> {
        let names = self.names(key);
        let mut c = self.connection();
        let reply: Vec<Value> = self
            .run("load", async move {
                scripts::LOAD.key(&names.state).invoke_async(&mut c).await
            })
            .await?;
        let [generation, record, spent, budget, unknown, left] = reply.as_slice() else {
            return Err(unexpected("load", "wrong number of fields"));
        };
        self.decode(
            key,
            Fields {
                generation: codec::generation("load", generation)?,
                record: codec::bytes(record),
                spent: codec::bytes(spent),
                budget: codec::bytes(budget),
                unknown: codec::bytes(unknown),
                left_ms: codec::optional_integer("load", left)?,
            },
        )
    }

    /// The compare-and-set script (see [`scripts::COMPARE_AND_SET`]).
    pub(crate) async fn redis_compare_and_set(
        &self,
        key: &str,
        expected: u64,
        token: &Token,
    ) -> Result<CasOutcome, Error> {
        let names = self.names(key);
        let e = self.encode(key, token)?;
        let ttl_ms = ttl::expire_ms(self.inner.settings.key_ttl.for_token(token));
        let mut c = self.connection();
        let reply: Vec<Value> = self
            .run("compare-and-set", async move {
                scripts::COMPARE_AND_SET
                    .key(&names.state)
                    .arg(expected)
                    .arg(&e.record)
                    .arg(e.spent)
                    .arg(&e.budget)
                    .arg(e.unknown)
                    .arg(e.remaining_ms)
                    .arg(ttl_ms)
                    .arg(&names.channel)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        const OP: &str = "compare-and-set";
        match reply.as_slice() {
            [status, generation] if codec::integer(OP, status)? == 1 => {
                Ok(CasOutcome::Written(codec::generation(OP, generation)?))
            }
            [status, generation, record, spent, budget, unknown, left]
                if codec::integer(OP, status)? == 0 =>
            {
                let current = self.decode(
                    key,
                    Fields {
                        generation: codec::generation(OP, generation)?,
                        record: codec::bytes(record),
                        spent: codec::bytes(spent),
                        budget: codec::bytes(budget),
                        unknown: codec::bytes(unknown),
                        left_ms: codec::optional_integer(OP, left)?,
                    },
                )?;
                Ok(CasOutcome::Conflict(current))
            }
            [status, spent, budget] if codec::integer(OP, status)? == -1 => Err(Error::store(
                format!(
                    "redis refused to store a token of key {key:?} that claims {} refreshes of a budget of {}",
                    codec::integer(OP, spent)?,
                    codec::integer(OP, budget)?
                ),
                false,
            )),
            _ => Err(unexpected(OP, "unknown status")),
        }
    }

    /// `SET lease fence NX PX ttl`.
    pub(crate) async fn redis_try_lease(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, Error> {
        let names = self.names(key);
        // Random, so that only this holder can renew or release the lease.
        let fence = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let mut c = self.connection();
        let reply: Value = self
            .run("lease", async {
                redis::cmd("SET")
                    .arg(&names.lease)
                    .arg(&fence)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl::expire_ms(ttl))
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok((reply != Value::Nil).then(|| Lease {
            key: key.to_owned(),
            fence,
            guard: None,
        }))
    }

    /// The compare-and-pexpire script.
    pub(crate) async fn redis_renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let names = self.names(&lease.key);
        let mut c = self.connection();
        let renewed: i64 = self
            .run("renew lease", async {
                scripts::RENEW_LEASE
                    .key(&names.lease)
                    .arg(&lease.fence)
                    .arg(ttl::expire_ms(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(renewed == 1)
    }

    /// The compare-and-delete script.
    pub(crate) async fn redis_release_lease(&self, lease: &Lease) -> Result<bool, Error> {
        let names = self.names(&lease.key);
        let mut c = self.connection();
        let released: i64 = self
            .run("release lease", async {
                scripts::RELEASE_LEASE
                    .key(&names.lease)
                    .arg(&lease.fence)
                    .arg(&names.channel)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(released == 1)
    }

    /// The remove script (keeps a tombstone generation).
    pub(crate) async fn redis_remove(&self, key: &str) -> Result<(), Error> {
        let names = self.names(key);
        let mut c = self.connection();
        self.run("remove", async {
            scripts::REMOVE
                .key(&names.state)
                .arg(&names.channel)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }
}
