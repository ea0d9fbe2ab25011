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
}

impl Args {
    fn config(&self) -> SandboxConfig {
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
        config
    }
}

pub async fn run(args: Args) -> CliResult {
    let sandbox = Sandbox::start(args.config()).await.map_err(|e| {
        tokenkit::Error::config(format!("cannot listen on {}: {}", args.addr, e.kind()))
    })?;
    // The first line is the contract scripts read.
    println!("listening on {}", sandbox.base_url());
    tokio::select! {
        () = sandbox.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
