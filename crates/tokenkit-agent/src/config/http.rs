//! `[http]`: how every platform client the agent builds (ac, bo, ilab) reaches its
//! platform — through which proxy, bypassed for which hosts, trusting which extra CA.
//!
//! ```toml
//! [http]
//! proxy = { env = "TOKENKIT_PROXY" }                # the URL may hold a password: a secret
//! proxy_bypass = ["localhost", ".campus.example"]   # instead of NO_PROXY
//! ca_file = "campus-ca.pem"                         # relative to the config file's directory
//! ```
//!
//! Without `proxy`, the environment's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` apply, as with curl; `proxy = false` reaches the platforms directly,
//! whatever they say. The settings become one [`HttpConfig`] ([`PlatformHttp`]), read
//! at start and on every `SIGHUP`: a proxy URL from a rotated file or a replaced CA file
//! rebuilds the clients on reload.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use sha2::{Digest, Sha256};
use tokenkit_core::Error;
use tokenkit_core::http::{Http, HttpConfig};

use super::SecretSource;
use super::secret::SourceVisitor;

/// `[http]`, as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// The proxy of every platform request, or none; `None` (the key left out): the
    /// environment's proxy variables.
    pub proxy: Option<ProxySetting>,
    /// The hosts reached without the proxy of `proxy`, one per entry, in `NO_PROXY`'s
    /// syntax (`localhost`, `.campus.example`, `10.0.0.0/8`, `*`), instead of the
    /// environment's `NO_PROXY`; `[]` bypasses nothing.
    pub proxy_bypass: Option<Vec<String>>,
    /// A PEM file of CA certificates trusted besides the system's (a campus CA, or a
    /// TLS-inspecting proxy's); a relative path is the config file's directory's.
    pub ca_file: Option<PathBuf>,
}

/// `http.proxy`: a proxy URL's source, or `false` for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// `proxy = false`: directly, whatever the environment's proxy variables say.
    Direct,
    /// `proxy = { env = … }`, `{ file = … }` or (with a warning) the URL written in the
    /// file: `http://[user:password@]host:port`, the credentials sent to the proxy only.
    Url(SecretSource),
}

impl HttpSettings {
    /// The inline secret of the table, if any (for the warning).
    pub(super) fn inline_secret(&self) -> Option<&'static str> {
        matches!(&self.proxy, Some(ProxySetting::Url(source)) if source.is_inline())
            .then_some("http.proxy")
    }

    /// What can be checked without reading a source or a file.
    pub(super) fn check(&self) -> Result<(), Error> {
        if let Some(hosts) = &self.proxy_bypass {
            if !matches!(self.proxy, Some(ProxySetting::Url(_))) {
                return Err(Error::config(
                    "http.proxy_bypass lists the hosts the proxy of http.proxy is not used for: \
                     set http.proxy to the proxy's URL (without it, the environment's NO_PROXY \
                     applies)",
                ));
            }
            for (i, host) in hosts.iter().enumerate() {
                if host.trim().is_empty() {
                    return Err(Error::config(format!("http.proxy_bypass[{i}] is empty")));
                }
                // A comma would hide a second entry in one (NO_PROXY's separator).
                if host.contains(',') || host.chars().any(char::is_whitespace) {
                    return Err(Error::config(format!(
                        "http.proxy_bypass[{i}] holds a comma or a space: give one host per entry"
                    )));
                }
            }
        }
        if self
            .ca_file
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(Error::config("http.ca_file is empty"));
        }
        Ok(())
    }

    /// Reads the proxy's source and the CA file, and checks both as a client would use
    /// them. Errors name the key (and the variable or file), never the proxy's URL.
    pub(super) fn resolve(&self, base_dir: &Path) -> Result<PlatformHttp, Error> {
        let mut config = HttpConfig::default();
        // What the clients are built from: equal digests, equal clients.
        let mut digest = Sha256::new();
        match &self.proxy {
            None => part(&mut digest, "proxy", b"environment"),
            Some(ProxySetting::Direct) => {
                part(&mut digest, "proxy", b"direct");
                config = config.no_proxy();
            }
            Some(ProxySetting::Url(source)) => {
                let url = source.resolve(base_dir).map_err(|e| {
                    Error::config(format!("http.proxy: {}", super::config_reason(&e)))
                })?;
                part(&mut digest, "proxy url", url.as_bytes());
                config = config.proxy(url);
                if let Some(hosts) = &self.proxy_bypass {
                    let hosts = hosts.join(",");
                    part(&mut digest, "proxy_bypass", hosts.as_bytes());
                    config = config.proxy_bypass(hosts);
                }
                // Checked as the platforms' clients will take it; core's messages name
                // "the proxy URL" and never quote it.
                Http::new("http.proxy", config.clone())?;
            }
        }
        if let Some(path) = &self.ca_file {
            let path = base_dir.join(path);
            // Read once: every client of this config trusts the same certificates.
            let pem = std::fs::read(&path).map_err(|e| {
                Error::config(format!(
                    "http.ca_file: cannot read the CA file {}: {}",
                    path.display(),
                    e.kind()
                ))
            })?;
            let alone = HttpConfig::default().add_root_certificate_pem(pem.clone());
            Http::new("http.ca_file", alone).map_err(|e| {
                let reason = super::config_reason(&e);
                let reason = reason.strip_prefix("http.ca_file: ").unwrap_or(&reason);
                Error::config(format!("http.ca_file: {}: {reason}", path.display()))
            })?;
            part(&mut digest, "ca_file", &pem);
            config = config.add_root_certificate_pem(pem);
        }
        Ok(PlatformHttp {
            config,
            fingerprint: digest.finalize().into(),
        })
    }
}

/// One named, length-prefixed part of a digest: no two different sequences of parts
/// digest the same bytes.
fn part(digest: &mut Sha256, name: &str, value: &[u8]) {
    for bytes in [name.as_bytes(), value] {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
}

/// The HTTP settings every platform client of one config is built with: `[http]` with
/// its proxy URL and CA file read.
///
/// Its `Debug` shows the proxy without credentials (as [`HttpConfig`]'s does) and not
/// the digest of what it was built from.
#[derive(Clone)]
pub struct PlatformHttp {
    config: HttpConfig,
    fingerprint: [u8; 32],
}

impl PlatformHttp {
    /// The settings of one platform client.
    pub fn config(&self) -> HttpConfig {
        self.config.clone()
    }

    /// A digest of the settings and of the values read (the proxy URL, the CA file's
    /// content): a reload rebuilds the clients when it changes. Never shown: it digests
    /// a credential.
    pub(crate) fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }
}

impl fmt::Debug for PlatformHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformHttp")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<'de> Deserialize<'de> for ProxySetting {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProxyVisitor)
    }
}

struct ProxyVisitor;

impl<'de> Visitor<'de> for ProxyVisitor {
    type Value = ProxySetting;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"{ env = "VARIABLE" }, { file = "PATH" }, a URL, or false for no proxy"#)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        if value {
            Err(E::custom(
                "`proxy = true` names no proxy: give its URL ({ env = \"VARIABLE\" } or \
                 { file = \"PATH\" }), or false for none",
            ))
        } else {
            Ok(ProxySetting::Direct)
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        SourceVisitor.visit_str(value).map(ProxySetting::Url)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SourceVisitor.visit_map(map).map(ProxySetting::Url)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const PASSWORD: &str = "SENTINEL-PW-agent-http-5d1c";

    const AC: &str = r#"
[grants.hpc]
platform = "ac"
base_url = "http://127.0.0.1:1"
user = "demo"
org_id = "demo-org"
password = { env = "TOKENKIT_AC_PASSWORD" }
"#;

    /// A fresh directory for a test's files; removed by the test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tokenkit-agent-http-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    fn parse_in(dir: &Path, http: &str) -> Result<Config, String> {
        Config::parse(&format!("[http]\n{http}\n{AC}"), dir).map_err(|e| e.to_string())
    }

    fn parse(http: &str) -> Result<Config, String> {
        parse_in(Path::new("/etc/tokenkit"), http)
    }

    /// Everything an error or a `Debug` shows.
    fn shown(error: &Error) -> String {
        format!("{error} {error:?}")
    }

    #[test]
    fn the_table_reads_as_written_and_is_optional() {
        let config = parse(
            r#"
proxy = { env = "TOKENKIT_PROXY" }
proxy_bypass = ["localhost", ".campus.example"]
ca_file = "certs/ca.pem"
"#,
        )
        .expect("parses");
        assert_eq!(
            config.http,
            HttpSettings {
                proxy: Some(ProxySetting::Url(SecretSource::Env(
                    "TOKENKIT_PROXY".into()
                ))),
                proxy_bypass: Some(vec!["localhost".into(), ".campus.example".into()]),
                ca_file: Some("certs/ca.pem".into()),
            }
        );
        assert!(config.inline_secrets().is_empty());
        let file = parse("proxy = { file = \"proxy-url\" }").expect("parses");
        assert_eq!(
            file.http.proxy,
            Some(ProxySetting::Url(SecretSource::File("proxy-url".into())))
        );
        let direct = parse("proxy = false").expect("parses");
        assert_eq!(direct.http.proxy, Some(ProxySetting::Direct));
        let none = Config::parse(AC, Path::new(".")).expect("parses");
        assert_eq!(none.http, HttpSettings::default());
        // No [http]: the environment's proxies, nothing to read.
        assert!(none.http().is_ok());
    }

    #[test]
    fn unknown_keys_and_wrong_values_are_errors_naming_the_key() {
        let typo = parse("proxy_bypas = [\"localhost\"]").expect_err("unknown key");
        assert!(typo.contains("proxy_bypas"), "{typo}");
        let yes = parse("proxy = true").expect_err("true names no proxy");
        assert!(
            yes.contains("proxy = true") && yes.contains("false"),
            "{yes}"
        );
        let vault = parse("proxy = { vault = \"x\" }").expect_err("unknown source");
        assert!(vault.contains("vault"), "{vault}");
        let number = parse("proxy = 3128").expect_err("a number");
        assert!(number.contains("false for no proxy"), "{number}");
        let string = parse("proxy = { env = \"P\" }\nproxy_bypass = \"localhost\"")
            .expect_err("a list, not a string");
        assert!(string.contains("sequence"), "{string}");
        assert!(
            parse("ca_file = \"\"")
                .expect_err("empty")
                .contains("http.ca_file")
        );
    }

    #[test]
    fn a_bypass_list_needs_an_explicit_proxy_and_one_host_per_entry() {
        for http in [
            "proxy_bypass = [\"localhost\"]",
            "proxy = false\nproxy_bypass = []",
        ] {
            let error = parse(http).expect_err(http);
            assert!(
                error.contains("http.proxy_bypass") && error.contains("http.proxy"),
                "{error}"
            );
        }
        let proxy = "proxy = { env = \"P\" }\n";
        let comma = parse(&format!("{proxy}proxy_bypass = [\"a, b\"]")).expect_err("a comma");
        assert!(
            comma.contains("http.proxy_bypass[0]") && comma.contains("one host"),
            "{comma}"
        );
        let empty = parse(&format!("{proxy}proxy_bypass = [\"a\", \" \"]")).expect_err("empty");
        assert!(empty.contains("http.proxy_bypass[1] is empty"), "{empty}");
        assert!(parse(&format!("{proxy}proxy_bypass = []")).is_ok());
    }

    #[test]
    fn an_inline_proxy_works_with_a_warning_and_is_never_shown() {
        let url = format!("http://alice:{PASSWORD}@127.0.0.1:3128");
        let config = parse(&format!("proxy = \"{url}\"")).expect("inline works");
        assert_eq!(config.inline_secrets(), vec!["http.proxy".to_owned()]);
        let http = config.http().expect("a valid proxy");
        for text in [format!("{config:?}"), format!("{http:?}")] {
            assert!(!text.contains(PASSWORD), "{text}");
        }
        assert!(format!("{http:?}").contains("http://[credentials]@127.0.0.1:3128"));
    }

    #[test]
    fn a_proxy_that_cannot_be_read_or_used_is_an_error_naming_the_key_not_the_url() {
        let unset = parse("proxy = { env = \"TOKENKIT_AGENT_TEST_UNSET_PROXY\" }")
            .expect("parses")
            .http()
            .expect_err("unset");
        assert!(
            shown(&unset).contains(
                "http.proxy: the environment variable TOKENKIT_AGENT_TEST_UNSET_PROXY is not set"
            ),
            "{unset}"
        );
        let missing = parse("proxy = { file = \"no-such-proxy\" }")
            .expect("parses")
            .http()
            .expect_err("missing");
        assert!(
            shown(&missing)
                .contains("http.proxy: cannot read the secret file /etc/tokenkit/no-such-proxy"),
            "{missing}"
        );
        for url in [
            format!("socks5://alice:{PASSWORD}@127.0.0.1:1080"),
            format!("http://alice:{PASSWORD}@[bad"),
            format!("http://alice:{PASSWORD}@:3128"),
        ] {
            let error = parse(&format!("proxy = \"{url}\""))
                .expect("parses")
                .http()
                .expect_err(&url);
            assert!(matches!(error, Error::Config(_)), "{error:?}");
            let text = shown(&error);
            assert!(text.contains("http.proxy: the proxy URL"), "{text}");
            assert!(!text.contains(PASSWORD), "{text}");
        }
    }

    #[test]
    fn a_proxy_from_a_file_is_read_at_each_resolve_and_its_digest_follows_its_value() {
        let dir = scratch("proxy-file");
        let write =
            |url: &str| std::fs::write(dir.join("proxy-url"), format!("{url}\n")).expect("write");
        write(&format!("http://alice:{PASSWORD}@127.0.0.1:3128"));
        // Relative to the config file's directory.
        let config = parse_in(&dir, "proxy = { file = \"proxy-url\" }").expect("parses");
        let first = config.http().expect("reads");
        assert!(!format!("{first:?}").contains(PASSWORD));
        assert_eq!(
            first.fingerprint(),
            config.http().expect("reads").fingerprint()
        );
        write("http://127.0.0.1:3129");
        let moved = config.http().expect("reads");
        assert_ne!(first.fingerprint(), moved.fingerprint());
        let bypassing = parse_in(
            &dir,
            "proxy = { file = \"proxy-url\" }\nproxy_bypass = [\"localhost\"]",
        )
        .expect("parses");
        assert_ne!(
            moved.fingerprint(),
            bypassing.http().expect("reads").fingerprint()
        );
        let direct = parse_in(&dir, "proxy = false")
            .expect("parses")
            .http()
            .expect("none");
        let environment = Config::parse(AC, &dir)
            .expect("parses")
            .http()
            .expect("none");
        assert_ne!(direct.fingerprint(), environment.fingerprint());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_ca_file_is_taken_from_the_config_directory_and_must_hold_pem() {
        let dir = scratch("ca-file");
        let missing = parse_in(&dir, "ca_file = \"ca.pem\"")
            .expect("parses")
            .http()
            .expect_err("missing");
        let expected = format!(
            "http.ca_file: cannot read the CA file {}: ",
            dir.join("ca.pem").display()
        );
        assert!(shown(&missing).contains(&expected), "{missing}");
        std::fs::write(dir.join("ca.pem"), "not a certificate\n").expect("write");
        let not_pem = parse_in(&dir, "ca_file = \"ca.pem\"")
            .expect("parses")
            .http()
            .expect_err("not PEM");
        let text = shown(&not_pem);
        assert!(
            text.contains(&format!("http.ca_file: {}: ", dir.join("ca.pem").display()))
                && text.contains("PEM"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
