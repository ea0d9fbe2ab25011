//! A TLS-only `redis-server`, and a TLS-only Redis Cluster, with certificates generated
//! at test time: a CA, a server certificate for `127.0.0.1` and `localhost`, a client
//! certificate, and a second, unrelated CA. A server has no plain port (`--port 0`), so
//! a `redis://` client is refused; it is ready when it answers `PING` over TLS.
//!
//! Declared beside `support` by the tests that need it:
//! `#[path = "support/tls.rs"] mod tls;` (it uses `crate::support`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use redis::{ClientTlsConfig, TlsCertificates};
use tokenkit_redis::{RedisStore, RedisStoreBuilder};

use crate::support::cluster::{ClusterFlavor, RedisCluster};
use crate::support::{Flavor, RedisServer};

/// Certificates and keys as PEM files in a temporary directory (removed on drop).
pub struct Pki {
    dir: PathBuf,
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: trusting it instead of `ca` must fail.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    /// Generates a fresh set.
    pub fn generate() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-redis-pki-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("create the PKI directory");
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write a PEM file");
            path
        };
        let (ca_pem, ca) = authority("tokenkit test CA");
        let (other_pem, _) = authority("an unrelated CA");
        let server = leaf(
            &ca,
            "redis server",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = leaf(
            &ca,
            "tokenkit client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Self {
            ca: write("ca.pem", ca_pem),
            other_ca: write("other-ca.pem", other_pem),
            server_cert: write("server.pem", server.0),
            server_key: write("server-key.pem", server.1),
            client_cert: write("client.pem", client.0),
            client_key: write("client-key.pem", client.1),
            dir,
        }
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).expect("read a PEM file")
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA: its certificate (PEM) and what signs with it.
fn authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).expect("the CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

/// A certificate signed by `ca` for `names`: (certificate PEM, key PEM).
fn leaf(
    ca: &Issuer<'static, KeyPair>,
    name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().expect("a key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, ca).expect("a signed certificate");
    (cert.pem(), key.serialize_pem())
}

/// Whether the server asks clients for a certificate (`--tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    No,
    Required,
}

/// A running TLS-only `redis-server` and the certificates it was started with.
pub struct TlsServer {
    pub server: RedisServer,
    pub pki: Arc<Pki>,
    pub client_auth: ClientAuth,
}

impl TlsServer {
    /// A new server, or `None` (outside CI) if `redis-server` is not installed.
    pub fn start(client_auth: ClientAuth) -> Option<Self> {
        install_crypto_provider();
        let pki = Arc::new(Pki::generate());
        let flavor = tls_only(&pki, client_auth, Vec::new());
        let server = RedisServer::start_with(flavor)?;
        Some(Self {
            server,
            pki,
            client_auth,
        })
    }

    /// `rediss://127.0.0.1:PORT/` (the system trust store: not this server's CA).
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.server.port())
    }

    /// The URL naming this server's CA with `?ca=`.
    pub fn url_with_ca(&self) -> String {
        format!("{}?ca={}", self.url(), query_path(&self.pki.ca))
    }

    /// The URL naming this server's CA and the client certificate and key.
    pub fn url_with_client_cert(&self) -> String {
        format!(
            "{}&cert={}&key={}",
            self.url_with_ca(),
            query_path(&self.pki.client_cert),
            query_path(&self.pki.client_key)
        )
    }

    /// A store builder trusting this server's CA (and presenting the client
    /// certificate if the server requires one), with test-sized timeouts.
    pub fn builder(&self) -> RedisStoreBuilder {
        let builder = test_sized(RedisStore::builder(self.url())).ca_file(&self.pki.ca);
        match self.client_auth {
            ClientAuth::No => builder,
            ClientAuth::Required => {
                builder.client_cert(&self.pki.client_cert, &self.pki.client_key)
            }
        }
    }

    /// A connected store, as [`TlsServer::builder`] configures it.
    pub async fn store(&self) -> RedisStore {
        self.builder().connect().await.expect("connect over TLS")
    }

    /// An administrator's connection over TLS (the default user).
    pub async fn admin(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("admin connection over TLS")
    }

    fn client(&self) -> redis::Client {
        tls_client(self.server.port(), &self.pki, self.client_auth)
    }
}

/// A TLS-only server (`--port 0`) with `pki`'s server certificate, trusting its CA,
/// with `extra` arguments; ready when it answers `PING` over TLS.
fn tls_only(pki: &Arc<Pki>, client_auth: ClientAuth, extra: Vec<String>) -> Flavor {
    let for_args = Arc::clone(pki);
    let for_ready = Arc::clone(pki);
    Flavor {
        args: Box::new(move |port| {
            let p = &for_args;
            let mut args = vec![
                "--port".to_owned(),
                "0".to_owned(),
                "--tls-port".to_owned(),
                port.to_string(),
            ];
            for (flag, path) in [
                ("--tls-cert-file", &p.server_cert),
                ("--tls-key-file", &p.server_key),
                ("--tls-ca-cert-file", &p.ca),
            ] {
                args.push(flag.to_owned());
                args.push(path.to_string_lossy().into_owned());
            }
            args.push("--tls-auth-clients".to_owned());
            args.push(
                match client_auth {
                    ClientAuth::No => "no",
                    ClientAuth::Required => "yes",
                }
                .to_owned(),
            );
            args.extend(extra.iter().cloned());
            args
        }),
        ready: Box::new(move |port| tls_ping(port, &for_ready, client_auth)),
    }
}

/// A Redis Cluster whose nodes speak TLS only — to clients, on the cluster bus and for
/// replication — with the certificates of its `pki`, created by `redis-cli --tls`.
pub struct TlsCluster {
    pub cluster: RedisCluster,
    pub pki: Arc<Pki>,
    pub client_auth: ClientAuth,
}

impl TlsCluster {
    /// `masters` masters without replicas, or `None` (outside CI) if the tools are
    /// missing.
    pub fn start(masters: usize, client_auth: ClientAuth) -> Option<Self> {
        install_crypto_provider();
        let pki = Arc::new(Pki::generate());
        let path = |p: &Path| p.to_string_lossy().into_owned();
        // A node is a TLS client of the others on the bus: it presents the client
        // certificate (the server's is for servers only), which `--tls-auth-clients yes`
        // wants.
        let node = vec![
            "--tls-cluster".to_owned(),
            "yes".to_owned(),
            "--tls-replication".to_owned(),
            "yes".to_owned(),
            "--tls-client-cert-file".to_owned(),
            path(&pki.client_cert),
            "--tls-client-key-file".to_owned(),
            path(&pki.client_key),
        ];
        let cli = vec![
            "--tls".to_owned(),
            "--cacert".to_owned(),
            path(&pki.ca),
            "--cert".to_owned(),
            path(&pki.client_cert),
            "--key".to_owned(),
            path(&pki.client_key),
        ];
        let for_client = Arc::clone(&pki);
        let flavor = ClusterFlavor {
            node: tls_only(&pki, client_auth, node),
            cli,
            client: Box::new(move |port| tls_client(port, &for_client, client_auth)),
            scheme: "rediss",
        };
        // Nothing here fails a node over: the default node timeout, so that a loaded
        // machine never has a node declared failed.
        let cluster = RedisCluster::start_with(masters, 0, Duration::from_secs(15), flavor)?;
        Some(Self {
            cluster,
            pki,
            client_auth,
        })
    }

    /// `rediss+cluster://127.0.0.1:P1,…/` over every node (the system trust store).
    pub fn url(&self) -> String {
        self.cluster.url()
    }

    /// The URL naming the cluster's CA with `?ca=`.
    pub fn url_with_ca(&self) -> String {
        format!("{}?ca={}", self.url(), query_path(&self.pki.ca))
    }

    /// The URL naming the CA and the client certificate and key.
    pub fn url_with_client_cert(&self) -> String {
        format!(
            "{}&cert={}&key={}",
            self.url_with_ca(),
            query_path(&self.pki.client_cert),
            query_path(&self.pki.client_key)
        )
    }

    /// A store builder over every node as a seed (`cluster_builder`), trusting the CA
    /// (and presenting the client certificate if the nodes require one), with
    /// test-sized timeouts.
    pub fn builder(&self) -> RedisStoreBuilder {
        let builder =
            test_sized(RedisStore::cluster_builder(self.cluster.seeds())).ca_file(&self.pki.ca);
        match self.client_auth {
            ClientAuth::No => builder,
            ClientAuth::Required => {
                builder.client_cert(&self.pki.client_cert, &self.pki.client_key)
            }
        }
    }
}

/// Timeouts for a loaded test machine: a TLS handshake costs more than a plain
/// connection, and no test here waits for one to expire.
pub fn test_sized(builder: RedisStoreBuilder) -> RedisStoreBuilder {
    builder
        .operation_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .probe_interval(Duration::from_millis(200))
}

/// `path` as a query parameter value (percent-encoded where a URL needs it).
pub fn query_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The harness talks TLS with the redis crate directly, which needs a process-wide
/// crypto provider (the store installs one itself; the harness may run first).
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

fn tls_client(port: u16, pki: &Pki, client_auth: ClientAuth) -> redis::Client {
    let client_tls = (client_auth == ClientAuth::Required).then(|| ClientTlsConfig {
        client_cert: Pki::read(&pki.client_cert),
        client_key: Pki::read(&pki.client_key),
    });
    redis::Client::build_with_tls(
        format!("rediss://127.0.0.1:{port}/"),
        TlsCertificates {
            client_tls,
            root_cert: Some(Pki::read(&pki.ca)),
        },
    )
    .expect("a TLS client")
}

/// Whether the server answers `PING` over TLS.
fn tls_ping(port: u16, pki: &Pki, client_auth: ClientAuth) -> bool {
    let client = tls_client(port, pki, client_auth);
    let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_millis(500)) else {
        return false;
    };
    if connection
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_err()
    {
        return false;
    }
    redis::cmd("PING")
        .query::<String>(&mut connection)
        .is_ok_and(|pong| pong == "PONG")
}

/// A TCP forwarder to a local port that counts the connections it accepts: how many
/// attempts a client made, whatever became of them (the server counts only those whose
/// TLS handshake succeeded). Stops accepting when dropped.
pub struct Forwarder {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    /// Listens on `ip` (a free port) and forwards to `127.0.0.1:target`; `None` if `ip`
    /// cannot be bound here.
    pub async fn start(ip: &str, target: u16) -> Option<Self> {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
        let port = listener.local_addr().ok()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Some(Self {
            port,
            accepted,
            task,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
