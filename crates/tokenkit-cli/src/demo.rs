//! `tokenkit demo`: every platform's token lifecycle against an in-process sandbox.

mod ac;
mod bo;
mod ilab;

use std::time::Duration;

use tokenkit::sandbox::{Sandbox, SandboxConfig};

use crate::output::CliResult;

pub async fn run() -> CliResult {
    let mut config = SandboxConfig::default();
    // Short lifetimes so expiry can be watched within seconds.
    config.ilab.ttl = Duration::from_secs(2);
    config.ac.ttl = Duration::from_secs(2);
    config.bo.ttl = Duration::from_secs(2);
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| tokenkit::Error::config(format!("cannot start the sandbox: {}", e.kind())))?;
    println!("tokenkit demo: sandbox listening on {}", sandbox.base_url());
    ilab::run(&sandbox).await?;
    ac::run(&sandbox).await?;
    bo::run(&sandbox).await?;
    println!(
        "\nrequests the sandbox saw: {}",
        sandbox.stats().snapshot()["requests"]
    );
    Ok(())
}
