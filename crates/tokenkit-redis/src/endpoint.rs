//! Where a [`RedisStore`](crate::RedisStore) connects and as whom: the URL (one server
//! or a cluster's seed nodes), its TLS parameters, and the builder's TLS and credential
//! options, turned into a [`Target`].
//!
//! URL forms: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS),
//! `redis+unix:///path` (given to the redis crate as it is), and for a Redis Cluster
//! `redis+cluster://[user:password@]host:port[,host:port…]/` and `rediss+cluster://…`
//! (see [`crate::cluster`]). On the TLS URLs the query parameters `ca=PATH` (trust
//! exactly this CA instead of the system store), `cert=PATH` and `key=PATH` (a client
//! certificate) are ours: they are taken out before the URL reaches the redis crate.
//! `protocol=` is the redis crate's. Any other parameter, and any `#fragment` — in
//! particular the redis crate's `#insecure`, which turns verification off — is
//! refused: this store always verifies the server.
//!
//! No error here quotes the URL: it may hold a password.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use redis::{ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};
use tokenkit_core::{Error, Password};

use crate::RedisStoreBuilder;
use crate::cluster;
use crate::connection::Target;
use crate::tls::{self, Ca, ClientCert, Pem};

/// The parsed address and the builder's options; see the module docs.
pub(crate) struct Endpoint {
    address: Result<Address, Error>,
    ca: Option<Ca>,
    client_cert: Option<ClientCert>,
    credentials: Option<(String, Password)>,
}

/// What the builder was given to connect to.
enum Address {
    /// A URL: one server, or a cluster's seed list.
    Url(Url),
    /// A cluster's seed nodes, one URL each
    /// ([`RedisStore::cluster_builder`](crate::RedisStore::cluster_builder)).
    Seeds {
        seeds: Vec<ConnectionInfo>,
        tls: bool,
    },
}

/// A URL with our parameters taken out.
struct Url {
    /// What the redis crate is given (may hold a password: never printed); for a
    /// cluster, the seed list still in its `redis+cluster://` form.
    redis: String,
    tls: bool,
    cluster: bool,
    ca: Option<Ca>,
    client_cert: Option<ClientCert>,
}

impl Endpoint {
    /// `url` parsed; an error is kept for `build()` to return.
    pub(crate) fn parse(url: &str) -> Self {
        Self::with(Url::parse(url).map(Address::Url))
    }

    /// The seed nodes of a cluster, one URL each; an error is kept for `build()`.
    pub(crate) fn seeds<S: AsRef<str>>(urls: impl IntoIterator<Item = S>) -> Self {
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        let tls = urls.iter().any(|u| u.starts_with("rediss://"));
        Self::with(cluster::seeds_from_urls(&urls).map(|seeds| Address::Seeds { seeds, tls }))
    }

    fn with(address: Result<Address, Error>) -> Self {
        Self {
            address,
            ca: None,
            client_cert: None,
            credentials: None,
        }
    }

    /// `single node` or `cluster`, for `Debug` (`None` for an invalid address).
    pub(crate) fn topology(&self) -> Option<&'static str> {
        match self.address.as_ref().ok()? {
            Address::Url(url) if !url.cluster => Some("single node"),
            _ => Some("cluster"),
        }
    }

    /// What to connect to. The builder's options take the place of the URL's.
    pub(crate) fn target(self) -> Result<Target, Error> {
        let (single, seeds, tls, url_ca, url_cert) = match self.address? {
            Address::Url(url) if url.cluster => (
                None,
                cluster::seeds_from_url(&url.redis)?,
                url.tls,
                url.ca,
                url.client_cert,
            ),
            Address::Url(url) => (
                Some(url.redis),
                Vec::new(),
                url.tls,
                url.ca,
                url.client_cert,
            ),
            Address::Seeds { seeds, tls } => (None, seeds, tls, None, None),
        };
        let ca = self.ca.or(url_ca);
        let client_cert = self.client_cert.or(url_cert);
        let certificates = if tls {
            tls::ensure_crypto_provider()?;
            Some(tls::certificates(ca.as_ref(), client_cert.as_ref())?)
        } else if ca.is_some() || client_cert.is_some() {
            return Err(Error::config(
                "a CA or client certificate for redis needs a rediss:// URL (TLS)",
            ));
        } else {
            None
        };
        let credentials = self.credentials.as_ref();
        let Some(url) = single else {
            let seeds = seeds
                .into_iter()
                .map(|seed| with_settings(seed, credentials))
                .collect();
            return Ok(Target::Cluster {
                seeds,
                certificates,
            });
        };
        let info = url
            .as_str()
            .into_connection_info()
            // Not the URL, nor the redis crate's text: either may quote the password.
            .map_err(|_| Error::config("invalid redis URL"))?;
        let info = with_settings(info, credentials);
        let client = match certificates {
            Some(certificates) => redis::Client::build_with_tls(info, certificates)
                .map_err(|_| Error::config("redis TLS: the certificates could not be used"))?,
            None => redis::Client::open(info).map_err(|_| Error::config("invalid redis URL"))?,
        };
        Ok(Target::Single(client))
    }
}

/// `info` with the builder's credentials, and without `CLIENT SETINFO` on connect: Redis
/// 7.2+ would want it in the ACL rule (the redis crate ignores its refusal, but the
/// server logs one per connection), and older servers do not know it.
fn with_settings(info: ConnectionInfo, credentials: Option<&(String, Password)>) -> ConnectionInfo {
    let mut settings: RedisConnectionInfo = info.redis_settings().clone().set_skip_set_lib_name();
    if let Some((username, password)) = credentials {
        settings = settings
            .set_username(username)
            .set_password(password.expose_secret());
    }
    info.set_redis_settings(settings)
}

impl Url {
    fn parse(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let scheme = url
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .unwrap_or_default();
        let (tls, cluster) = match scheme.as_str() {
            "rediss" | "valkeys" => (true, false),
            "redis" | "valkey" => (false, false),
            "rediss+cluster" => (true, true),
            "redis+cluster" => (false, true),
            // The redis crate's own query (`db`, `user`, `pass`); no TLS.
            "redis+unix" | "valkey+unix" | "unix" => {
                return Ok(Self {
                    redis: url.to_owned(),
                    tls: false,
                    cluster: false,
                    ca: None,
                    client_cert: None,
                });
            }
            _ => {
                return Err(Error::config(
                    "a redis URL starts with redis://, rediss://, redis+unix://, \
                     redis+cluster:// or rediss+cluster://",
                ));
            }
        };
        // As in any URL, the fragment starts at the first `#`, the query at the first
        // `?` before it (a password holding either must be percent-encoded).
        let (rest, fragment) = match url.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (url, None),
        };
        match fragment {
            None => {}
            Some("insecure") => {
                return Err(Error::config(
                    "a redis URL with #insecure is refused: this store always verifies \
                     the server's certificate (name its CA with ?ca=PATH)",
                ));
            }
            Some(_) => return Err(Error::config("a redis URL takes no #fragment")),
        }
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut kept = Vec::new();
        let (mut ca, mut cert, mut key) = (None, None, None);
        for (position, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "ca" => &mut ca,
                "cert" => &mut cert,
                "key" => &mut key,
                "protocol" => {
                    kept.push(pair);
                    continue;
                }
                _ => return Err(unknown_parameter(position + 1)),
            };
            if slot.replace(path(name, value)?).is_some() {
                return Err(Error::config(format!("the redis URL gives {name}= twice")));
            }
        }
        if !tls && (ca.is_some() || cert.is_some() || key.is_some()) {
            return Err(Error::config(
                "ca=, cert= and key= need a rediss:// URL (TLS)",
            ));
        }
        let client_cert = match (cert, key) {
            (Some(cert), Some(key)) => Some(ClientCert {
                cert,
                key,
                option: "cert= and key=",
            }),
            (None, None) => None,
            _ => {
                return Err(Error::config(
                    "a redis URL with cert= needs key= too, and key= needs cert=",
                ));
            }
        };
        let redis = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self {
            redis,
            tls,
            cluster,
            ca: ca.map(|path| Ca {
                pem: Pem::File(path),
                option: "ca=",
            }),
            client_cert,
        })
    }
}

/// A path parameter, percent-decoded (only that: a `+` stays a `+`).
fn path(name: &str, value: &str) -> Result<PathBuf, Error> {
    let decoded = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| Error::config(format!("the redis URL's {name}= is not UTF-8")))?;
    if decoded.is_empty() {
        return Err(Error::config(format!(
            "the redis URL's {name}= needs a path"
        )));
    }
    Ok(PathBuf::from(decoded.into_owned()))
}

/// The `position`th (from 1) query parameter is unknown. Not named: a mistyped URL
/// could put a password there.
fn unknown_parameter(position: usize) -> Error {
    Error::config(format!(
        "query parameter {position} of the redis URL is unknown (known: ca, cert, key, \
         protocol)"
    ))
}

/// TLS and credential options; see the [crate docs](crate) on `rediss://`.
impl RedisStoreBuilder {
    /// Trusts exactly the CA certificates in this PEM file to sign the server's
    /// certificate, instead of the system trust store (replaces the URL's `ca=`).
    /// Needs a `rediss://` URL. The file is read when the store is built.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), tokenkit_core::Error> {
    /// let store = tokenkit_redis::RedisStore::builder("rediss://redis.internal:6380/")
    ///     .ca_file("/etc/tokenkit/redis-ca.pem")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.endpoint.ca = Some(Ca {
            pem: Pem::File(path.into()),
            option: "ca_file",
        });
        self
    }

    /// As [`ca_file`](Self::ca_file), with the PEM itself.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.endpoint.ca = Some(Ca {
            pem: Pem::Bytes(pem.into()),
            option: "ca_pem",
        });
        self
    }

    /// Presents this client certificate chain and private key (PEM files) to a server
    /// that asks for one (mutual TLS; replaces the URL's `cert=` and `key=`). Needs a
    /// `rediss://` URL.
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.endpoint.client_cert = Some(ClientCert {
            cert: cert.into(),
            key: key.into(),
            option: "client_cert",
        });
        self
    }

    /// Authenticates as this ACL user (Redis 6+), without a password in the URL
    /// (replaces the URL's user and password). For the rule the user needs, see
    /// [`acl::minimal_rule`](crate::acl::minimal_rule).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), tokenkit_core::Error> {
    /// use tokenkit_core::Password;
    /// let password = Password::new(std::env::var("REDIS_PASSWORD").unwrap_or_default());
    /// let store = tokenkit_redis::RedisStore::builder("rediss://redis.internal:6380/")
    ///     .credentials("tokenkit", password)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        self.endpoint.credentials = Some((username.into(), password.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "SENTINEL-PW-url-9d2c";

    fn parsed(url: &str) -> Url {
        Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn refused(url: &str) -> String {
        let err = Url::parse(url)
            .err()
            .unwrap_or_else(|| panic!("{url} parsed"));
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(PW), "{text}");
        text
    }

    #[test]
    fn our_parameters_are_taken_out_and_decoded() {
        let url = parsed(&format!(
            "rediss://u:{PW}@h:6380/2?ca=/etc/ca%20dir/c++.pem&cert=/c.pem&key=/k.pem"
        ));
        assert_eq!(url.redis, format!("rediss://u:{PW}@h:6380/2"));
        assert!(url.tls);
        let Some(Ca {
            pem: Pem::File(ca), ..
        }) = url.ca
        else {
            panic!("a CA file")
        };
        assert_eq!(ca, PathBuf::from("/etc/ca dir/c++.pem"));
        let client = url.client_cert.expect("a client certificate");
        assert_eq!(
            (client.cert, client.key),
            (PathBuf::from("/c.pem"), PathBuf::from("/k.pem"))
        );
        // The redis crate's own parameter stays.
        let url = parsed("rediss://h/?protocol=resp3&ca=/ca.pem");
        assert_eq!(url.redis, "rediss://h/?protocol=resp3");
        assert_eq!(parsed("redis://h:1/0").redis, "redis://h:1/0");
        assert!(!parsed("redis://h:1/0").tls);
        let unix = parsed("redis+unix:///run/redis.sock?db=1");
        assert_eq!(unix.redis, "redis+unix:///run/redis.sock?db=1");
    }

    #[test]
    fn insecure_unknown_and_misplaced_parameters_are_refused_without_the_url() {
        let base = format!("rediss://u:{PW}@h:6380/");
        assert!(refused(&format!("{base}#insecure")).contains("always verifies"));
        assert!(refused(&format!("{base}?ca=/c.pem#insecure")).contains("always verifies"));
        assert!(refused(&format!("{base}#other")).contains("no #fragment"));
        let text = refused(&format!("{base}?ca=/c.pem&tls_verify=0"));
        assert!(
            text.contains("query parameter 2 of the redis URL is unknown"),
            "{text}"
        );
        // A "parameter" that could be a password is not quoted.
        let text = refused(&format!("{base}?{PW}"));
        assert!(
            text.contains("query parameter 1 of the redis URL is unknown"),
            "{text}"
        );
        assert!(refused(&format!("{base}?ca=")).contains("needs a path"));
        assert!(refused(&format!("{base}?ca=/a&ca=/b")).contains("twice"));
        assert!(refused(&format!("{base}?cert=/c.pem")).contains("needs key="));
        assert!(refused(&format!("redis://u:{PW}@h/?ca=/c.pem")).contains("rediss://"));
        assert!(refused(&format!("http://u:{PW}@h/")).contains("starts with"));
    }

    #[tokio::test]
    async fn tls_options_on_a_plain_url_are_an_error_not_ignored() {
        let err = crate::RedisStore::builder(format!("redis://u:{PW}@127.0.0.1:1/"))
            .ca_file("/etc/ca.pem")
            .build()
            .expect_err("a CA needs TLS");
        let text = format!("{err} {err:?}");
        assert!(text.contains("needs a rediss:// URL"), "{text}");
        assert!(!text.contains(PW), "{text}");
    }

    #[tokio::test]
    async fn credentials_replace_the_urls_and_stay_out_of_debug() {
        let builder = crate::RedisStore::builder("redis://olduser:oldpw@127.0.0.1:1/")
            .credentials("tokenkit", PW);
        assert!(!format!("{builder:?}").contains(PW));
        let endpoint = builder.endpoint;
        let Target::Single(client) = endpoint.target().expect("target") else {
            panic!("one server")
        };
        let settings = client.get_connection_info().redis_settings();
        assert_eq!(settings.username(), Some("tokenkit"));
        assert_eq!(settings.password(), Some(PW));
    }
}
