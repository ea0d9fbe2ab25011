//! The agent's config file (TOML): where it listens, where grants are kept, and the
//! grants themselves.
//!
//! ```toml
//! [listen]
//! unix = "/run/tokenkit/agent.sock"   # mode 0600; the default when nothing is given
//! tcp = "127.0.0.1:7700"              # loopback only, unless allow_non_loopback = true
//! bearer_file = "/etc/tokenkit/bearer" # optional: TCP requests must carry it
//!
//! [agent]
//! store = "file:/var/lib/tokenkit"    # memory: (default), file:PATH, redis://…, rediss://…?ca=PATH
//! store_key = { file = "/etc/tokenkit/store.key" }  # optional: seal tokens at rest
//! wait_ms = 10000                     # how long a request waits for a token
//! flush_ms = 30000                    # how often pending ilab results are delivered
//!
//! [http]                              # optional; without it: HTTPS_PROXY, NO_PROXY…
//! proxy = { env = "TOKENKIT_PROXY" }  # or { file = "…" }; false: no proxy at all
//! proxy_bypass = ["localhost"]        # instead of NO_PROXY
//! ca_file = "campus-ca.pem"           # trusted besides the system's CAs
//!
//! [grants.hpc]
//! platform = "ac"
//! base_url = "https://api01.example.com:65102"
//! user = "alice"
//! access_key = "AK…"
//! secret_key = { env = "TOKENKIT_AC_SECRET_KEY" }
//! cluster = "11112"
//!
//! [ilab.lab]
//! base_url = "https://ilab.example"
//! appid = "1681600222748241929"
//! secret = { file = "/run/secrets/ilab" }
//! ```
//!
//! Unknown keys are errors (a typo must not silently drop a setting). Relative paths
//! are relative to the config file's directory.

mod grant;
mod http;
mod secret;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokenkit_core::{Error, Keyring};

pub use grant::{AcGrant, BoGrant, GrantConfig, IlabApp, IlabDialect};
pub use http::{HttpSettings, PlatformHttp, ProxySetting};
pub use secret::SecretSource;

/// The whole file, as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the agent listens.
    #[serde(default)]
    pub listen: Listen,
    /// Settings of the agent itself.
    #[serde(default)]
    pub agent: Settings,
    /// How the platform clients reach the platforms (proxy, extra CA).
    #[serde(default)]
    pub http: HttpSettings,
    /// The grants, by name (the `{name}` of `/v1/grants/{name}/token`).
    #[serde(default)]
    pub grants: BTreeMap<String, GrantConfig>,
    /// The ilab experiments, by name (the `{app}` of `/v1/ilab/{app}/sessions`).
    #[serde(default)]
    pub ilab: BTreeMap<String, IlabApp>,
    /// The directory relative paths are taken from (the config file's).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[listen]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// A Unix socket path (created with mode 0600).
    pub unix: Option<PathBuf>,
    /// A TCP address.
    pub tcp: Option<SocketAddr>,
    /// Serve TCP on an address that is not loopback (every host that can reach it can
    /// then ask for tokens: set `bearer_file` too).
    #[serde(default)]
    pub allow_non_loopback: bool,
    /// A file holding the bearer secret TCP requests must carry
    /// (`Authorization: Bearer …`).
    pub bearer_file: Option<PathBuf>,
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where grants are kept: `memory:`, `file:PATH` or a Redis URL.
    #[serde(default = "default_store")]
    pub store: String,
    /// The keyring that seals the tokens and pending records a `file:` or Redis store
    /// keeps ([`tokenkit_core::store::seal`]): `{ env = "TOKENKIT_STORE_KEY" }` or
    /// `{ file = "PATH" }` (a file private to its owner). Never written in the config
    /// itself: config files are copied and printed more often than a key may be.
    /// Ignored by `memory:`.
    #[serde(default)]
    pub store_key: Option<SecretSource>,
    /// How long a token request waits for a token being fetched, in milliseconds.
    #[serde(default = "default_wait_ms")]
    pub wait_ms: u64,
    /// How long `SIGTERM` lets requests in progress finish, in milliseconds.
    #[serde(default = "default_drain_ms")]
    pub drain_ms: u64,
    /// How often the ilab results still pending in the store are delivered, in
    /// milliseconds.
    #[serde(default = "default_flush_ms")]
    pub flush_ms: u64,
}

fn default_store() -> String {
    "memory:".into()
}

fn default_wait_ms() -> u64 {
    10_000
}

fn default_drain_ms() -> u64 {
    10_000
}

fn default_flush_ms() -> u64 {
    30_000
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            store: default_store(),
            store_key: None,
            wait_ms: default_wait_ms(),
            drain_ms: default_drain_ms(),
            flush_ms: default_flush_ms(),
        }
    }
}

impl Settings {
    /// How long a token request waits.
    pub fn wait(&self) -> Duration {
        Duration::from_millis(self.wait_ms)
    }

    /// How long draining may take.
    pub fn drain(&self) -> Duration {
        Duration::from_millis(self.drain_ms)
    }

    /// How often pending ilab results are delivered.
    pub fn flush(&self) -> Duration {
        Duration::from_millis(self.flush_ms)
    }
}

/// The default socket when `[listen]` names nothing: `tokenkit-agent.sock` in
/// `$XDG_RUNTIME_DIR` (a per-user directory) if set, else next to the config file.
pub const DEFAULT_SOCKET: &str = "tokenkit-agent.sock";

/// The longest grant or app name (it is a URL segment and a metric label).
pub const MAX_NAME_LEN: usize = 64;

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "cannot read the config file {}: {}",
                path.display(),
                e.kind()
            ))
        })?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, &base_dir)
            .map_err(|e| Error::config(format!("{}: {}", path.display(), config_reason(&e))))
    }

    /// Parses and checks a config's text; relative paths are taken from `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self, Error> {
        let mut config: Self = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        config.base_dir = base_dir.to_path_buf();
        config.check()?;
        Ok(config)
    }

    /// The Unix socket to serve: the configured one, or the default when no address at
    /// all is configured; `None` for TCP only.
    pub fn unix_socket(&self) -> Option<PathBuf> {
        match (&self.listen.unix, self.listen.tcp) {
            (Some(path), _) => Some(self.base_dir.join(path)),
            (None, Some(_)) => None,
            (None, None) => Some(match std::env::var_os("XDG_RUNTIME_DIR") {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(DEFAULT_SOCKET),
                _ => self.base_dir.join(DEFAULT_SOCKET),
            }),
        }
    }

    /// `agent.store` with a relative `file:` directory, or relative `ca=`, `cert=` and
    /// `key=` paths of a Redis URL, taken from the config file's directory, as every
    /// other path of the config is.
    pub fn store_url(&self) -> String {
        match self.agent.store.trim().strip_prefix("file:") {
            Some(dir) if !dir.is_empty() && Path::new(dir).is_relative() => {
                format!("file:{}", self.base_dir.join(dir).display())
            }
            _ => crate::store_url::with_paths_from(&self.agent.store, &self.base_dir),
        }
    }

    /// The keyring `agent.store_key` names, read now (a reload reads it again); `None`
    /// without one. The error names the variable or file, never key material.
    pub fn store_keyring(&self) -> Result<Option<Keyring>, Error> {
        let keyring = match &self.agent.store_key {
            None => return Ok(None),
            Some(SecretSource::Env(name)) => Keyring::from_env(name),
            Some(SecretSource::File(path)) => Keyring::from_file(self.path(path)),
            Some(SecretSource::Inline(_)) => Err(Error::config(INLINE_STORE_KEY)),
        };
        keyring
            .map(Some)
            .map_err(|e| Error::config(format!("agent.store_key: {}", config_reason(&e))))
    }

    /// The HTTP settings of every platform client, `[http]` with its proxy URL and CA
    /// file read now (a reload reads them again). The error names the key and the
    /// variable or file, never the proxy's URL.
    pub fn http(&self) -> Result<PlatformHttp, Error> {
        self.http.resolve(&self.base_dir)
    }

    /// `path` as the config means it (relative to its directory).
    pub fn path(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }

    /// The secrets written in the file itself, as `grant.field` (for the warning).
    pub fn inline_secrets(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (name, grant) in &self.grants {
            for (field, source) in grant.secrets() {
                if source.is_inline() {
                    found.push(format!("grants.{name}.{field}"));
                }
            }
        }
        for (name, app) in &self.ilab {
            if app.secret.is_inline() {
                found.push(format!("ilab.{name}.secret"));
            }
        }
        found.extend(self.http.inline_secret().map(str::to_owned));
        found
    }

    fn check(&self) -> Result<(), Error> {
        if let Some(addr) = self.listen.tcp
            && !addr.ip().is_loopback()
            && !self.listen.allow_non_loopback
        {
            return Err(Error::config(format!(
                "listen.tcp = {addr} is not a loopback address: every host that can reach it \
                 could ask for tokens; use 127.0.0.1 or ::1, or set listen.allow_non_loopback = \
                 true (with listen.bearer_file)"
            )));
        }
        if self
            .agent
            .store_key
            .as_ref()
            .is_some_and(SecretSource::is_inline)
        {
            return Err(Error::config(format!(
                "agent.store_key: {INLINE_STORE_KEY}"
            )));
        }
        if self.agent.wait_ms == 0 {
            return Err(Error::config("agent.wait_ms must be at least 1"));
        }
        if self.agent.flush_ms < 100 {
            return Err(Error::config("agent.flush_ms must be at least 100"));
        }
        self.http.check()?;
        for name in self.grants.keys().chain(self.ilab.keys()) {
            check_name(name)?;
        }
        for (name, grant) in &self.grants {
            grant
                .check()
                .map_err(|reason| Error::config(format!("grants.{name}: {reason}")))?;
        }
        Ok(())
    }
}

/// Why `agent.store_key` cannot be written in the config file.
const INLINE_STORE_KEY: &str = "give the key as { env = \"VARIABLE\" } or { file = \"PATH\" }, \
     not written in the config file (config files are copied, committed and printed more often \
     than a key may be)";

/// A name fit for a URL segment and a metric label.
fn check_name(name: &str) -> Result<(), Error> {
    let fits = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fits {
        Ok(())
    } else {
        Err(Error::config(format!(
            "the name {name:?} must be 1 to {MAX_NAME_LEN} characters of A-Z, a-z, 0-9, '-', '_', '.'"
        )))
    }
}

/// Where and what, without the excerpt of the file toml's own message shows: that line
/// may hold an inline secret. Values quoted in the message are elided too.
fn syntax_error(text: &str, error: &toml::de::Error) -> Error {
    let message = tokenkit_core::unquoted(error.message().trim_end());
    match error.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            Error::config(format!("line {line}, column {column}: {message}"))
        }
        None => Error::config(message),
    }
}

/// The reason of a config error without the `configuration error:` prefix its Display
/// adds, so a file's name can go in front.
fn config_reason(error: &Error) -> String {
    match error {
        Error::Config(reason) => reason.clone(),
        other => other.to_string(),
    }
}
