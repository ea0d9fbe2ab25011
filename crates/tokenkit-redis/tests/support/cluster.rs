//! A private Redis Cluster: `redis-server --cluster-enabled yes` nodes on free ports in
//! a temporary directory, without persistence, joined by `redis-cli --cluster create`;
//! killed (and the directory removed) when dropped — or, for a cluster kept in a
//! `static` and so never dropped, when the test process exits, however it exits: each
//! node runs under a small `sh` guard that kills it when the test process's end of the
//! guard's stdin closes.
//!
//! The nodes are plain by default; a [`ClusterFlavor`] adds arguments to each node and
//! to `redis-cli` and says how to reach a node (TLS: `tls.rs`'s `TlsCluster`).
//!
//! Without `redis-server` and `redis-cli` the tests print a notice and pass — unless
//! `CI=true`, where they fail (as for a single server, see [`super`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tokenkit_redis::{RedisStore, RedisStoreBuilder};

use super::Flavor;

/// Runs `redis-server "$@"`, prints its pid, kills it with SIGKILL when stdin closes,
/// and exits when the server exits (whoever killed it). The reader of stdin is a
/// subshell of its own, fed through fd 3: an asynchronous command's stdin would be
/// `/dev/null`.
const GUARD: &str = r#"
redis-server "$@" >/dev/null 2>&1 &
server=$!
echo "$server"
exec 3<&0
(read _ <&3; kill -9 "$server" 2>/dev/null) &
reader=$!
exec 3<&-
wait "$server"
kill "$reader" 2>/dev/null
"#;

/// Removes the directory `$1` when stdin closes.
const JANITOR: &str = r#"read _; rm -rf "$1""#;

/// How long the cluster may take to form or to settle after a node came or went.
const SETTLE: Duration = Duration::from_secs(60);

/// One shard as the cluster reports it: a master, its replicas and its slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The master's port.
    pub master: u16,
    /// Its replicas' ports.
    pub replicas: Vec<u16>,
    /// Its slot ranges (inclusive).
    pub slots: Vec<(u16, u16)>,
}

/// What a cluster's nodes add to the plain ones.
pub struct ClusterFlavor {
    /// Each node's extra arguments and its readiness, as for one server.
    pub node: Flavor,
    /// `redis-cli`'s options to reach the nodes (`--tls --cacert …`).
    pub cli: Vec<String>,
    /// A client of the node on a port: how the harness inspects and disturbs it.
    pub client: Box<dyn Fn(u16) -> redis::Client + Send + Sync>,
    /// The scheme of the seed URLs (`redis`, `rediss`).
    pub scheme: &'static str,
}

impl ClusterFlavor {
    /// Plain nodes, reached with `redis://`.
    pub fn plain() -> Self {
        Self {
            node: Flavor::plain(),
            cli: Vec::new(),
            client: Box::new(|port| {
                redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("a node URL")
            }),
            scheme: "redis",
        }
    }
}

/// A running cluster.
pub struct RedisCluster {
    nodes: Vec<Node>,
    node_timeout: Duration,
    flavor: ClusterFlavor,
    _janitor: Janitor,
}

struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    process: Option<Guarded>,
}

/// A `redis-server` under its guard.
struct Guarded {
    guard: Child,
    /// Kept open: its closing (our drop, or our exit) kills the server.
    stdin: Option<ChildStdin>,
}

struct Janitor {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Janitor {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // The guard kills the server when its stdin closes, then exits.
        drop(self.stdin.take());
        let _ = self.guard.wait();
    }
}

/// Whether `redis-server` and `redis-cli` are installed; outside CI a notice when not.
fn tools_or_skip() -> bool {
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if found("redis-server") && found("redis-cli") {
        return true;
    }
    let hint = "redis-server or redis-cli not found on PATH (install them: apt-get install -y redis-server)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{hint}; CI must run the Redis Cluster tests");
    }
    eprintln!("NOTICE: {hint}; skipping this test");
    false
}

impl RedisCluster {
    /// A cluster of `masters` masters with `replicas` replicas each, whose nodes
    /// declare a peer failed after `node_timeout` without an answer; `None` (after a
    /// notice) if the tools are missing and this is not CI.
    pub fn start(masters: usize, replicas: usize, node_timeout: Duration) -> Option<Self> {
        Self::start_with(masters, replicas, node_timeout, ClusterFlavor::plain())
    }

    /// As [`RedisCluster::start`], with nodes of `flavor`.
    pub fn start_with(
        masters: usize,
        replicas: usize,
        node_timeout: Duration,
        flavor: ClusterFlavor,
    ) -> Option<Self> {
        if !tools_or_skip() {
            return None;
        }
        let root = std::env::temp_dir().join(format!(
            "tokenkit-redis-cluster-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&root).expect("create the cluster directory");
        let janitor = spawn_janitor(&root);
        let mut cluster = Self {
            nodes: Vec::new(),
            node_timeout,
            flavor,
            _janitor: janitor,
        };
        for i in 0..masters * (1 + replicas) {
            let dir = root.join(format!("node-{i}"));
            std::fs::create_dir_all(&dir).expect("create a node directory");
            let mut node = Node {
                port: 0,
                bus_port: 0,
                dir,
                process: None,
            };
            // A free port can be taken by someone else between our probe and the
            // server's bind: try a few.
            let started = (0..5).any(|_| {
                node.port = super::free_port();
                node.bus_port = super::free_port();
                node.spawn(node_timeout, &cluster.flavor) && node.wait_until_ready(&cluster.flavor)
            });
            assert!(started, "a cluster node did not start");
            cluster.nodes.push(node);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(&cluster.flavor.cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_until_settled(masters);
        Some(cluster)
    }

    /// The ports of every node, masters and replicas.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// One `redis://127.0.0.1:PORT` seed URL per node (`rediss://` for TLS), in `ports`
    /// order.
    pub fn seeds(&self) -> Vec<String> {
        let scheme = self.flavor.scheme;
        self.ports()
            .into_iter()
            .map(|p| format!("{scheme}://127.0.0.1:{p}"))
            .collect()
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…/` over every node
    /// (`rediss+cluster://` for TLS).
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("{}+cluster://{}/", self.flavor.scheme, hosts.join(","))
    }

    /// A store builder over the cluster URL with test-sized timeouts (those of the
    /// single-server harness, with room for the slot discovery of a first connection).
    pub fn builder(&self) -> RedisStoreBuilder {
        RedisStore::builder(self.url())
            .operation_timeout(Duration::from_millis(1500))
            .connect_timeout(Duration::from_millis(300))
            .probe_interval(Duration::from_millis(200))
    }

    /// The shards as the first live node sees them, by master port.
    pub fn shards(&self) -> Vec<Shard> {
        let port = self.live_ports()[0];
        parse_nodes(&self.cluster_nodes(port).expect("CLUSTER NODES"))
    }

    /// The slot of a Redis key name.
    pub fn slot_of(&self, name: &str) -> u16 {
        let port = self.live_ports()[0];
        let mut c = self.connect(port).expect("a live node");
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(name)
            .query(&mut c)
            .expect("CLUSTER KEYSLOT")
    }

    /// The port of the master serving `name`'s slot.
    pub fn master_of(&self, name: &str) -> u16 {
        let slot = self.slot_of(name);
        self.shards()
            .into_iter()
            .find(|s| s.slots.iter().any(|&(lo, hi)| (lo..=hi).contains(&slot)))
            .map(|s| s.master)
            .expect("every slot is served")
    }

    /// The ports of the masters, in slot order.
    pub fn masters(&self) -> Vec<u16> {
        let mut shards = self.shards();
        shards.sort_by_key(|s| s.slots.first().copied());
        shards.into_iter().map(|s| s.master).collect()
    }

    /// A plain connection to one node, for inspecting and disturbing it.
    pub fn node(&self, port: u16) -> redis::Connection {
        self.connect(port).expect("node connection")
    }

    /// Kills the node on `port` with SIGKILL (its data is lost: no persistence).
    pub fn kill(&mut self, port: u16) {
        let node = self.node_mut(port);
        drop(node.process.take());
    }

    /// Starts the node on `port` again, with its cluster configuration file (so it
    /// keeps its identity and rejoins), but without data.
    pub fn restart(&mut self, port: u16) {
        let timeout = self.node_timeout;
        let flavor = &self.flavor;
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of this cluster");
        drop(node.process.take());
        assert!(
            node.spawn(timeout, flavor) && node.wait_until_ready(flavor),
            "a cluster node did not restart"
        );
    }

    /// Waits until every live node reports `cluster_state:ok`, they all agree on
    /// `masters` shards covering every slot with no node marked failing, and every
    /// replica's link to its master is up.
    pub fn wait_until_settled(&self, masters: usize) {
        let deadline = Instant::now() + SETTLE;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.settled(masters) {
                Ok(()) => return,
                Err(why) => last = why,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the cluster did not settle within {SETTLE:?}: {last}");
    }

    /// Waits until the master of `name`'s slot is another node than `old`, and the
    /// live nodes report `cluster_state:ok` (after a failover).
    pub fn wait_until_failed_over(&self, name: &str, old: u16) {
        let slot = self.slot_of(name);
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            let ok = self.live_ports().into_iter().all(|port| {
                self.cluster_info(port)
                    .is_some_and(|i| i.contains("cluster_state:ok"))
                    && self.cluster_nodes(port).is_some_and(|n| {
                        parse_nodes(&n).iter().any(|s| {
                            s.master != old
                                && s.slots.iter().any(|&(lo, hi)| (lo..=hi).contains(&slot))
                        })
                    })
            });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no replica took over from {old} within {SETTLE:?}");
    }

    fn settled(&self, masters: usize) -> Result<(), String> {
        let mut views = BTreeMap::new();
        for port in self.live_ports() {
            let info = self
                .cluster_info(port)
                .ok_or(format!("{port}: no CLUSTER INFO"))?;
            if !info.contains("cluster_state:ok") {
                return Err(format!("{port}: cluster_state not ok"));
            }
            let nodes = self
                .cluster_nodes(port)
                .ok_or(format!("{port}: no CLUSTER NODES"))?;
            if nodes.contains("fail") || nodes.contains("handshake") || nodes.contains("noaddr") {
                return Err(format!("{port}: a node is failing or joining"));
            }
            let shards = parse_nodes(&nodes);
            let covered: u32 = shards
                .iter()
                .flat_map(|s| &s.slots)
                .map(|&(lo, hi)| u32::from(hi - lo) + 1)
                .sum();
            if shards.len() != masters || covered != 16_384 {
                return Err(format!("{port}: {} shards, {covered} slots", shards.len()));
            }
            views.insert(port, shards);
        }
        let mut views = views.into_values();
        let first = views.next().ok_or("no live node")?;
        if views.any(|v| v != first) {
            return Err("the nodes disagree on the shards".into());
        }
        for shard in &first {
            for &replica in &shard.replicas {
                let info = self
                    .info_replication(replica)
                    .ok_or(format!("{replica}: no INFO"))?;
                if !info.contains("master_link_status:up") {
                    return Err(format!("{replica}: replication link down"));
                }
            }
        }
        Ok(())
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.process.is_some())
            .map(|n| n.port)
            .collect()
    }

    fn node_mut(&mut self, port: u16) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of this cluster")
    }
}

impl Node {
    fn spawn(&mut self, node_timeout: Duration, flavor: &ClusterFlavor) -> bool {
        let mut guard = Command::new("sh")
            .args(["-c", GUARD, "sh"])
            .args(["--port", &self.port.to_string()])
            .args(["--cluster-port", &self.bus_port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", "nodes.conf"])
            .args([
                "--cluster-node-timeout",
                &node_timeout.as_millis().to_string(),
            ])
            // A replica may always take over, however long it was cut off: the tests
            // decide when data may be lost, not the replica's idea of its freshness.
            .args(["--cluster-replica-validity-factor", "0"])
            // A replica's first sync starts at once, not after the default 5 s wait
            // for more replicas to share it.
            .args(["--repl-diskless-sync-delay", "0"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args((flavor.node.args)(self.port))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh for redis-server");
        let stdin = guard.stdin.take().expect("piped stdin");
        let stdout = guard.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        // The server's pid: it was started.
        if line.trim().parse::<u32>().is_err() {
            let _ = guard.kill();
            let _ = guard.wait();
            return false;
        }
        self.process = Some(Guarded {
            guard,
            stdin: Some(stdin),
        });
        true
    }

    fn wait_until_ready(&mut self, flavor: &ClusterFlavor) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(p) = self.process.as_mut()
                && let Ok(Some(_)) = p.guard.try_wait()
            {
                self.process = None;
                return false; // exited: a port was taken
            }
            if (flavor.node.ready)(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.process = None;
        false
    }
}

fn spawn_janitor(dir: &Path) -> Janitor {
    let mut child = Command::new("sh")
        .args(["-c", JANITOR, "sh"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the directory janitor");
    let stdin = child.stdin.take();
    Janitor { child, stdin }
}

/// How the harness talks to the nodes, with the flavour's client.
impl RedisCluster {
    fn connect(&self, port: u16) -> redis::RedisResult<redis::Connection> {
        let c = (self.flavor.client)(port).get_connection_with_timeout(Duration::from_secs(2))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        c.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(c)
    }

    fn query_text(&self, port: u16, cmd: &redis::Cmd) -> Option<String> {
        let mut c = self.connect(port).ok()?;
        cmd.query(&mut c).ok()
    }

    fn cluster_info(&self, port: u16) -> Option<String> {
        self.query_text(port, redis::cmd("CLUSTER").arg("INFO"))
    }

    fn cluster_nodes(&self, port: u16) -> Option<String> {
        self.query_text(port, redis::cmd("CLUSTER").arg("NODES"))
    }

    fn info_replication(&self, port: u16) -> Option<String> {
        self.query_text(port, redis::cmd("INFO").arg("replication"))
    }
}

/// The shards in `CLUSTER NODES` output
/// (`<id> <ip:port@bus> <flags> <master-id> <ping> <pong> <epoch> <link> <slot>…`).
fn parse_nodes(text: &str) -> Vec<Shard> {
    let port_of = |addr: &str| -> u16 {
        addr.split('@')
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| f.len() >= 8)
        .collect();
    let mut shards: Vec<(String, Shard)> = lines
        .iter()
        .filter(|f| f[2].contains("master") && f.len() > 8)
        .map(|f| {
            let slots = f[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| {
                    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                    Some((lo.parse().ok()?, hi.parse().ok()?))
                })
                .collect();
            (
                f[0].to_owned(),
                Shard {
                    master: port_of(f[1]),
                    replicas: Vec::new(),
                    slots,
                },
            )
        })
        .collect();
    for f in lines.iter().filter(|f| f[2].contains("slave")) {
        if let Some((_, shard)) = shards.iter_mut().find(|(id, _)| id == f[3]) {
            shard.replicas.push(port_of(f[1]));
        }
    }
    let mut shards: Vec<Shard> = shards.into_iter().map(|(_, s)| s).collect();
    for s in &mut shards {
        s.replicas.sort_unstable();
    }
    shards.sort_by_key(|s| s.master);
    shards
}
