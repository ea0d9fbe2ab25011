//! `tokenkit sandbox`: serve the emulator until stopped.

use std::net::SocketAddr;
use std::time::Duration;

use tokenkit::sandbox::{Faults, Sandbox, SandboxConfig};

use crate::output::CliResult;

/// Arguments of `sandbox`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Fraction of platform requests answered with an HTML 503 page.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Fraction of platform requests handled but whose connection is then cut.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Latency added to every platform request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Lifetime of ilab access tokens, in seconds.
    #[arg(long, default_value_t = 86_399)]
    ilab_ttl: u64,
    /// Lifetime of ac tokens, in seconds.
    #[arg(long, default_value_t = 86_400)]
    ac_ttl: u64,
    /// Lifetime of bo access tokens, in seconds.
    #[arg(long, default_value_t = 60)]
    bo_ttl: u64,
    /// The experiment's launch URL (absolute http:// or https://): the console's
    /// "我要做实验" buttons open it with `ticket=<a fresh ticket>` added to its query.
    #[arg(long, value_name = "URL")]
    ilab_launch_url: Option<String>,
}

impl Args {
    fn config(&self) -> Result<SandboxConfig, tokenkit::Error> {
        let mut config = SandboxConfig {
            addr: self.addr,
            faults: Faults {
                fail_rate: self.fail_rate.clamp(0.0, 1.0),
                drop_rate: self.drop_rate.clamp(0.0, 1.0),
                latency: Duration::from_millis(self.latency_ms),
            },
            ..SandboxConfig::default()
        };
        config.ilab.ttl = Duration::from_secs(self.ilab_ttl);
        config.ac.ttl = Duration::from_secs(self.ac_ttl);
        config.bo.ttl = Duration::from_secs(self.bo_ttl);
        if let Some(url) = &self.ilab_launch_url {
            config.ilab.launch_url = Some(url.clone());
            // Then the sandbox's own rule (no spaces, …), said here rather than as a
            // failure to listen.
            launch_url_problem(url)
                .map_or_else(|| config.ilab.check(), Err)
                .map_err(|why| {
                    tokenkit::Error::config(format!(
                        "--ilab-launch-url: {why} (give an absolute http:// or https:// \
                         URL, e.g. http://127.0.0.1:8080/launch)"
                    ))
                })?;
        }
        Ok(config)
    }
}

/// What is wrong with a launch URL a browser could not be sent to with a ticket added:
/// not absolute, another scheme than http(s), no host, a `#fragment` (the ticket would
/// land in it, never reaching the server); or credentials, which the console's ilab
/// page would show. It never quotes the URL, which may hold a password.
fn launch_url_problem(url: &str) -> Option<String> {
    let Ok(parsed) = tokenkit::core::reqwest::Url::parse(url) else {
        return Some("not an absolute URL".to_owned());
    };
    let problem = if !matches!(parsed.scheme(), "http" | "https") {
        "the scheme is not http or https"
    } else if parsed.host_str().is_none_or(str::is_empty) {
        "the URL names no host"
    } else if !parsed.username().is_empty() || parsed.password().is_some() {
        "the URL holds credentials"
    } else if parsed.fragment().is_some() {
        "the URL has a #fragment, which the ticket would end up in"
    } else {
        return None;
    };
    Some(problem.to_owned())
}

pub async fn run(args: Args) -> CliResult {
    let sandbox = Sandbox::start(args.config()?).await.map_err(|e| {
        tokenkit::Error::config(format!("cannot listen on {}: {}", args.addr, e.kind()))
    })?;
    // The first line is the contract scripts read; the second is for people.
    println!("listening on {}", sandbox.base_url());
    println!("console on {}/_sandbox/", sandbox.base_url());
    tokio::select! {
        () = sandbox.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
