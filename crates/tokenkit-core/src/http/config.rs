//! [`HttpConfig`]: the HTTP settings of a platform client — timeouts, caps, and how the
//! client built for it reaches the platform (proxy, extra trusted CAs), or a client of
//! the user's own.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::Secret;

use super::{DEFAULT_MAX_BODY, DEFAULT_MAX_DATE_SKEW, proxy};

/// HTTP settings of a platform client.
///
/// ```
/// use std::time::Duration;
/// use tokenkit_core::http::{Http, HttpConfig};
/// let http = Http::new("ilab", HttpConfig::default().timeout(Duration::from_secs(5)))?;
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
///
/// Its `Debug` shows a proxy without its credentials and a user-supplied client only as
/// such (a client's own `Debug` may show its default headers).
#[derive(Clone)]
pub struct HttpConfig {
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) max_body: usize,
    pub(super) max_date_skew: Duration,
    pub(super) max_lifetime: Option<Duration>,
    pub(super) client: Option<reqwest::Client>,
    pub(super) proxy: ProxyChoice,
    pub(super) proxy_bypass: Option<String>,
    pub(super) roots: Vec<RootCa>,
}

/// Which proxy the client built by [`Http::new`](super::Http::new) uses.
#[derive(Clone)]
pub(super) enum ProxyChoice {
    /// The environment's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and
    /// their lower-case forms), as curl reads them: reqwest's default.
    Environment,
    /// One proxy for every request; its URL may hold credentials.
    Explicit(Secret),
    /// No proxy, whatever the environment says.
    Direct,
}

/// An extra trusted CA: PEM given in memory, or a file read when the client is built.
#[derive(Clone)]
pub(super) enum RootCa {
    Pem(Vec<u8>),
    File(PathBuf),
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_body: DEFAULT_MAX_BODY,
            max_date_skew: DEFAULT_MAX_DATE_SKEW,
            max_lifetime: None,
            client: None,
            proxy: ProxyChoice::Environment,
            proxy_bypass: None,
            roots: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Time allowed to establish a connection (only for the client built here).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request, body included (also with a client of your
    /// own: it is set on every request).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How far a response's `Date` may differ from the local clock before it is
    /// discarded (default [`DEFAULT_MAX_DATE_SKEW`]).
    pub fn max_date_skew(mut self, skew: Duration) -> Self {
        self.max_date_skew = skew;
        self
    }

    /// The longest token lifetime believed: a platform stating a longer one is capped
    /// here, with a warning. Each platform client has its own default (the documented
    /// lifetimes are hours to a day); [`DEFAULT_MAX_LIFETIME`](super::DEFAULT_MAX_LIFETIME)
    /// otherwise.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Sets the lifetime cap unless one was set: how a platform client gives its own
    /// default without overriding the user's.
    pub fn or_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime.get_or_insert(max);
        self
    }

    /// Use this client (its pool, proxy and TLS settings) instead of building one. The
    /// total timeout and the body cap still apply to every answer, and an answer that
    /// came through a redirect the client followed is refused (a redirect may carry
    /// the request's secrets to another host): build it with
    /// `redirect(reqwest::redirect::Policy::none())`. It excludes [`HttpConfig::proxy`],
    /// [`HttpConfig::no_proxy`] and the CA settings, which only the client built here
    /// takes ([`Http::new`](super::Http::new) says so with a configuration error).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Send every request through this proxy (`http://host:port`, `https://…`; a URL
    /// without a scheme is `http://`), instead of the environment's `HTTPS_PROXY` /
    /// `HTTP_PROXY`. Credentials in the URL (`http://user:pass@host:port`,
    /// percent-encoded) are sent as `Proxy-Authorization: Basic`; they appear in no
    /// error and no `Debug`. As with curl's `-x`, the hosts of `NO_PROXY` are still
    /// reached directly; [`HttpConfig::proxy_bypass`] gives the list instead.
    ///
    /// ```
    /// use tokenkit_core::http::{Http, HttpConfig};
    /// let config = HttpConfig::default().proxy("http://alice:s3cret@proxy.campus.example:3128");
    /// assert!(!format!("{config:?}").contains("s3cret"));
    /// let http = Http::new("ac", config)?;
    /// # Ok::<(), tokenkit_core::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Explicit(Secret::new(url.into()));
        self
    }

    /// The hosts the proxy of [`HttpConfig::proxy`] is not used for, in `NO_PROXY`'s
    /// syntax (`localhost,.campus.example,10.0.0.0/8`; `*` for every host; `""` for
    /// none), instead of the environment's `NO_PROXY` (curl's `--noproxy`).
    pub fn proxy_bypass(mut self, hosts: impl Into<String>) -> Self {
        self.proxy_bypass = Some(hosts.into());
        self
    }

    /// Use no proxy at all, whatever the environment's proxy variables say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Trust these CA certificates (PEM, one or several) besides the system's: a
    /// campus CA, or the CA of a TLS-inspecting proxy.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(RootCa::Pem(pem.into()));
        self
    }

    /// Trust the CA certificates (PEM) of this file besides the system's; the file is
    /// read when the client is built.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.roots.push(RootCa::File(path.into()));
        self
    }

    /// Whether a setting that only a client built here takes was given.
    pub(super) fn builds_settings(&self) -> Option<&'static str> {
        if !matches!(self.proxy, ProxyChoice::Environment) || self.proxy_bypass.is_some() {
            Some("a proxy setting")
        } else if !self.roots.is_empty() {
            Some("an extra trusted CA")
        } else {
            None
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("max_date_skew", &self.max_date_skew)
            .field("max_lifetime", &self.max_lifetime)
            .field("client", &self.client.as_ref().map(|_| "[user-supplied]"))
            .field("proxy", &self.proxy)
            .field("proxy_bypass", &self.proxy_bypass)
            .field("roots", &self.roots)
            .finish()
    }
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::Explicit(url) => f
                .debug_tuple("Explicit")
                .field(&proxy::redacted(url.expose_secret()))
                .finish(),
            Self::Direct => f.write_str("Direct"),
        }
    }
}

impl fmt::Debug for RootCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}
