//! `--proxy` and `--ca-file`: how the commands that talk to a platform reach it.
//!
//! Without `--proxy` the environment's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` apply (as with curl); `--proxy` replaces the first three, and `NO_PROXY`
//! still names the hosts reached directly.

use std::path::PathBuf;

use tokenkit::core::http::HttpConfig;

const PROXY_ENV: &str = "TOKENKIT_PROXY";

/// The HTTP flags shared by the platform commands. No `Debug`: a proxy URL may hold a
/// password.
#[derive(Clone, clap::Args)]
pub struct HttpArgs {
    /// Send every request through this proxy, `http://[USER:PASSWORD@]HOST:PORT`,
    /// instead of HTTPS_PROXY / HTTP_PROXY (the hosts of NO_PROXY are still reached
    /// directly). A password on the command line shows in `ps`: prefer the
    /// TOKENKIT_PROXY environment variable.
    #[arg(long, value_name = "URL", env = PROXY_ENV, hide_env_values = true)]
    proxy: Option<String>,
    /// Trust the CA certificates (PEM) of this file besides the system's: a campus CA,
    /// or the CA of a TLS-inspecting proxy.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
}

impl HttpArgs {
    /// The HTTP settings of the platform client.
    pub fn config(&self) -> HttpConfig {
        let mut config = HttpConfig::default();
        // An empty TOKENKIT_PROXY (exported to turn it off) is no proxy setting.
        if let Some(url) = self.proxy.as_deref().filter(|url| !url.trim().is_empty()) {
            config = config.proxy(url);
        }
        if let Some(path) = &self.ca_file {
            config = config.ca_file(path);
        }
        config
    }
}
