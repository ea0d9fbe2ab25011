//! The fleet scenarios, written once and run against a single `redis-server` (by the
//! test files named after them) and against a Redis Cluster (`tests/cluster.rs`, on
//! keys that land on different masters). Each takes a [`Backend`]: where its stores
//! ("processes") and its inspecting connection come from.

#![allow(dead_code)]

pub mod cache;
pub mod contract;
pub mod holder;
pub mod model;
pub mod pending;
pub mod went_back;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokenkit_redis::{RedisStore, RedisStoreBuilder};

use crate::support::RedisServer;
use crate::support::cluster::RedisCluster;

/// Where a scenario's stores come from.
#[allow(async_fn_in_trait)] // used in this test crate only, never across threads
pub trait Backend: Sync {
    /// A store builder with test-sized timeouts, under this backend's prefix.
    fn builder(&self) -> RedisStoreBuilder;

    /// The URL a child process connects with (it uses [`Backend::prefix`] too).
    fn url(&self) -> String;

    /// The prefix of every name the stores use.
    fn prefix(&self) -> &str;

    /// How many nodes answer `INFO` in [`Backend::commands_processed`].
    fn nodes(&self) -> u64;

    /// A connected store: one "process" of a fleet.
    async fn store(&self) -> RedisStore {
        self.builder().connect().await.expect("connect")
    }

    /// A plain connection for inspecting and disturbing what the stores wrote.
    async fn admin(&self) -> Admin;

    /// The commands processed by every node so far (each reading counts one `INFO`
    /// per node).
    async fn commands_processed(&self) -> u64;
}

/// A scenario backend whose data can be lost on purpose, as a restart without
/// persistence loses it.
#[allow(async_fn_in_trait)]
pub trait Forgetful: Backend {
    /// Loses every key on the node that holds `name` (a restart without persistence),
    /// and returns once that node serves again.
    async fn lose_data_of(&mut self, name: &str);
}

impl Backend for RedisServer {
    fn builder(&self) -> RedisStoreBuilder {
        RedisServer::builder(self)
    }
    fn url(&self) -> String {
        RedisServer::url(self)
    }
    fn prefix(&self) -> &str {
        "tokenkit"
    }
    fn nodes(&self) -> u64 {
        1
    }
    async fn admin(&self) -> Admin {
        Admin::Single(RedisServer::admin(self).await)
    }
    async fn commands_processed(&self) -> u64 {
        let mut admin = RedisServer::admin(self).await;
        commands_processed(&mut admin).await
    }
}

impl Forgetful for RedisServer {
    async fn lose_data_of(&mut self, _name: &str) {
        self.restart();
    }
}

/// A cluster, under a prefix of the test's own (so tests can share one cluster).
pub struct OnCluster<C> {
    /// The cluster (borrowed, or owned by a test that disturbs it).
    pub cluster: C,
    /// The prefix of the test.
    pub prefix: String,
}

impl<C: std::ops::Deref<Target = RedisCluster> + Sync> Backend for OnCluster<C> {
    fn builder(&self) -> RedisStoreBuilder {
        self.cluster.builder().prefix(self.prefix.clone())
    }
    fn url(&self) -> String {
        self.cluster.url()
    }
    fn prefix(&self) -> &str {
        &self.prefix
    }
    fn nodes(&self) -> u64 {
        self.cluster.ports().len() as u64
    }
    async fn admin(&self) -> Admin {
        let client = redis::cluster::ClusterClient::new(self.cluster.seeds()).expect("seeds");
        Admin::Cluster(
            client
                .get_async_connection()
                .await
                .expect("admin connection"),
        )
    }
    async fn commands_processed(&self) -> u64 {
        let mut total = 0;
        for seed in self.cluster.seeds() {
            let mut admin = redis::Client::open(seed)
                .expect("seed")
                .get_multiplexed_async_connection()
                .await
                .expect("node connection");
            total += commands_processed(&mut admin).await;
        }
        total
    }
}

impl OnCluster<&RedisCluster> {
    /// One grant key per master, `<stem>-<n>`, each on another master: a scenario run
    /// on each covers every node.
    pub async fn keys_on_each_master(&self, stem: &str) -> Vec<String> {
        let store = self.builder().build().expect("names");
        keys_on_each_master(self.cluster, &store, stem)
    }
}

/// One grant key per master of `cluster`, `<stem>-<n>`, as `store` names them.
pub fn keys_on_each_master(cluster: &RedisCluster, store: &RedisStore, stem: &str) -> Vec<String> {
    let masters = cluster.masters();
    let mut keys: Vec<(u16, String)> = Vec::new();
    for n in 0.. {
        let key = format!("{stem}-{n}");
        let master = cluster.master_of(&store.state_key(&key));
        if !keys.iter().any(|(m, _)| *m == master) {
            keys.push((master, key));
        }
        if keys.len() == masters.len() {
            break;
        }
    }
    keys.sort_by_key(|(m, _)| masters.iter().position(|x| x == m));
    keys.into_iter().map(|(_, k)| k).collect()
}

/// An inspecting connection to a server or a cluster.
#[derive(Clone)]
pub enum Admin {
    /// One server.
    Single(MultiplexedConnection),
    /// A cluster: commands go to the master of their key's slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Admin {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
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
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        0
    }
}

/// `total_commands_processed` of one node.
pub async fn commands_processed(admin: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(admin)
        .await
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed")
}
