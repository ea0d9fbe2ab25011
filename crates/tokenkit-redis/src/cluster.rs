//! Redis Cluster: the seed nodes of a `redis+cluster://` URL, and the cluster
//! connection, made at the first operation.
//!
//! Nothing else in the store is cluster-specific: every name of a grant shares one
//! hash tag ([`crate::keys`]), so each script and command touches one slot, and the
//! cluster connection routes it to that slot's master.

use std::time::Duration;

use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{
    ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult, TlsCertificates,
};
use tokenkit_core::Error;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::{probe, refusal};

/// The schemes of a cluster URL, and those of its seed nodes.
const SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// The form of a cluster URL, for error messages (which never quote the URL itself:
/// it may hold a password).
const FORM: &str = "a redis cluster URL is redis+cluster://[user:password@]host:port[,host:port…]/ \
                    (or rediss+cluster:// for TLS)";

/// The seed nodes of `redis+cluster://[user:password@]host1:port1,host2:port2[,…]/`:
/// one `redis://[user:password@]hostN:portN/` each, with the URL's credentials, path and
/// query.
pub(crate) fn seeds_from_url(url: &str) -> Result<Vec<ConnectionInfo>, Error> {
    let (rest, seed_scheme) = SCHEMES
        .iter()
        .find_map(|(scheme, seed)| url.strip_prefix(scheme).map(|rest| (rest, *seed)))
        .ok_or_else(|| Error::config(FORM))?;
    // A host list holds no `@`: anything before the last one is the credentials.
    let (credentials, rest) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let hosts_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (hosts, path) = rest.split_at(hosts_end);
    if hosts.is_empty() || hosts.split(',').any(str::is_empty) {
        return Err(Error::config(FORM));
    }
    let seeds = hosts
        .split(',')
        .map(|host| seed(&format!("{seed_scheme}{credentials}{host}{path}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(seeds)
}

/// The seed nodes given one URL each (`redis://host:port`, `rediss://…`).
pub(crate) fn seeds_from_urls<S: AsRef<str>>(
    urls: impl IntoIterator<Item = S>,
) -> Result<Vec<ConnectionInfo>, Error> {
    let seeds = urls
        .into_iter()
        .map(|url| seed(url.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    if seeds.is_empty() {
        return Err(Error::config(
            "a redis cluster needs at least one seed node",
        ));
    }
    Ok(seeds)
}

/// One seed node: a TCP address (a cluster announces IPs and ports, never sockets) on
/// database 0 (a cluster has no other).
fn seed(url: &str) -> Result<ConnectionInfo, Error> {
    // Not the URL, nor the crate's message (which may quote it).
    let info = url
        .into_connection_info()
        .map_err(|_| Error::config(format!("invalid redis cluster seed node: {FORM}")))?;
    if matches!(info.addr(), redis::ConnectionAddr::Unix(_)) {
        return Err(Error::config(
            "a redis cluster seed node must be host:port (a cluster announces TCP addresses)",
        ));
    }
    if info.redis_settings().db() != 0 {
        return Err(Error::config(
            "a redis cluster has only database 0: drop the /DB of the URL (or make it /0)",
        ));
    }
    Ok(info)
}

/// A cluster connection made at the first operation that needs it. A failed attempt
/// leaves nothing behind: the next operation tries again.
pub(crate) struct LazyCluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
    /// The seed nodes as clients of one node each, to tell why a first connection
    /// failed ([`LazyCluster::refusal_of_a_seed`]).
    seeds: Vec<redis::Client>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl LazyCluster {
    /// The client for `seeds` (`direct`: the same seeds as clients of one node each);
    /// no connection yet.
    pub(crate) fn new(
        seeds: &[ConnectionInfo],
        s: &Settings,
        certificates: Option<TlsCertificates>,
        direct: Vec<redis::Client>,
    ) -> Result<Self, Error> {
        // Retries of MOVED, ASK, TRYAGAIN and CLUSTERDOWN (a failover under way) come
        // quickly and often enough to succeed within one operation timeout if the
        // cluster settles meanwhile; the operation timeout still bounds them all.
        let max_wait =
            (s.operation_timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(500));
        let builder = ClusterClient::builder(seeds.iter().cloned())
            .connection_timeout(s.connect_timeout)
            .response_timeout(s.operation_timeout)
            .retries(16)
            .min_retry_wait(10)
            .max_retry_wait(u64::try_from(max_wait.as_millis()).unwrap_or(500));
        // The CA and client certificate of `rediss+cluster://`, for every node.
        let builder = match certificates {
            Some(certificates) => builder.certs(certificates),
            None => builder,
        };
        let client = builder.build().map_err(|_| {
            // Not the crate's message: it may quote a seed.
            Error::config(
                "invalid redis cluster seed nodes: they must share one username, password \
                 and scheme (redis:// or rediss://)",
            )
        })?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            seeds: direct,
            connect_timeout: s.connect_timeout,
            response_timeout: s.operation_timeout,
        })
    }

    /// The cluster connection, connecting (and discovering the slots) if this is the
    /// first use or every earlier attempt failed.
    pub(crate) async fn connection(&self) -> RedisResult<ClusterConnection> {
        match self
            .connection
            .get_or_try_init(|| self.client.get_async_connection())
            .await
        {
            Ok(connection) => Ok(connection.clone()),
            Err(e) if e.kind() == ErrorKind::Io => Err(self.refusal_of_a_seed().await.unwrap_or(e)),
            Err(e) => Err(e),
        }
    }

    /// The redis crate reports a first connection that failed on every seed as a bare
    /// I/O error ("Failed to create initial connections", the seeds' errors as text),
    /// which reads as a lost connection, retried in vain. A seed asked once directly
    /// tells the cause: a refusal no retry mends (its certificate, our password) is the
    /// error instead.
    async fn refusal_of_a_seed(&self) -> Option<RedisError> {
        for seed in &self.seeds {
            if let Err(e) = probe::attempt(seed, self.connect_timeout, self.response_timeout).await
                && refusal::describe(&e).is_some()
            {
                return Some(e);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(seeds: &[ConnectionInfo]) -> Vec<String> {
        seeds.iter().map(|s| s.addr().to_string()).collect()
    }

    #[test]
    fn a_cluster_url_names_its_seed_nodes_with_their_credentials() {
        let seeds =
            seeds_from_url("redis+cluster://user:SENTINEL-PW@127.0.0.1:7000,127.0.0.1:7001/")
                .expect("valid");
        assert_eq!(ports(&seeds), ["127.0.0.1:7000", "127.0.0.1:7001"]);
        for s in &seeds {
            assert_eq!(s.redis_settings().username(), Some("user"));
            assert_eq!(s.redis_settings().password(), Some("SENTINEL-PW"));
            assert_eq!(s.redis_settings().db(), 0);
        }
        let seeds = seeds_from_url("redis+cluster://h1:1,h2:2,[::1]:3").expect("no path");
        assert_eq!(ports(&seeds), ["h1:1", "h2:2", "::1:3"]);
        let seeds = seeds_from_url("redis+cluster://h1:1/0").expect("db 0");
        assert_eq!(seeds.len(), 1);
        // A percent-encoded `@` in the password stays in the password.
        let seeds = seeds_from_url("redis+cluster://:p%40ss@h1:1,h2:2/").expect("encoded");
        assert_eq!(seeds[1].redis_settings().password(), Some("p@ss"));
    }

    #[test]
    fn bad_cluster_urls_are_clear_errors_that_never_quote_the_url() {
        let cases = [
            ("redis+cluster://:SENTINEL-PW@h1:1/3", "only database 0"),
            ("redis+cluster://:SENTINEL-PW@/", "host:port"),
            ("redis+cluster://:SENTINEL-PW@h1:1,,h2:2/", "host:port"),
            ("redis+cluster://:SENTINEL-PW@h1:notaport/", "invalid"),
            ("redis+cluster://:SENTINEL-PW@h1:1/x", "invalid"),
            ("redis://:SENTINEL-PW@h1:1/", "redis+cluster://"),
        ];
        for (url, expected) in cases {
            let err = seeds_from_url(url).expect_err(url);
            let text = err.to_string();
            assert!(text.contains(expected), "{url}: {text}");
            assert!(!text.contains("SENTINEL"), "{text}");
            assert!(!format!("{err:?}").contains("SENTINEL"), "{err:?}");
            assert!(!err.is_transient());
        }
        for seeds in [
            vec!["redis://:SENTINEL-PW@h1:1/2"],
            vec!["redis+unix:///tmp/SENTINEL.sock"],
            vec!["SENTINEL-PW"],
        ] {
            let err = seeds_from_urls(&seeds).expect_err("invalid seed");
            assert!(!err.to_string().contains("SENTINEL"), "{err}");
        }
        // Seeds of one cluster share their credentials and their scheme.
        for seeds in [
            ["redis://:SENTINEL-A@h1:1", "redis://:SENTINEL-B@h2:2"],
            ["redis://u1:SENTINEL@h1:1", "redis://u2:SENTINEL@h2:2"],
        ] {
            let seeds = seeds_from_urls(seeds).expect("each seed is valid");
            let err = LazyCluster::new(&seeds, &Settings::default(), None, Vec::new())
                .err()
                .expect("mixed");
            assert!(err.to_string().contains("must share"), "{err}");
            assert!(!err.to_string().contains("SENTINEL"), "{err}");
        }
        let none: [&str; 0] = [];
        let err = seeds_from_urls(none).expect_err("no seed");
        assert!(err.to_string().contains("at least one"), "{err}");
    }
}
