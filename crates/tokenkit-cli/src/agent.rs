//! `tokenkit agent --config agent.toml`: serve the configured grants to programs in
//! any language until `SIGTERM` (see docs/agent.md).

use std::path::PathBuf;

use tokenkit::agent::Config;

use crate::output::CliResult;

/// Arguments of `agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file: listeners, store, grants (see examples/agent.toml).
    #[arg(long, value_name = "agent.toml")]
    config: PathBuf,
    /// Check the config file and exit (nothing is fetched, nothing listens).
    #[arg(long)]
    check: bool,
}

pub async fn run(args: Args) -> CliResult {
    if !args.check {
        return tokenkit::agent::run(&args.config).await;
    }
    let config = Config::load(&args.config)?;
    for field in config.inline_secrets() {
        eprintln!(
            "warning: {field} is written in the config file; prefer {{ env = \"VARIABLE\" }} or {{ file = \"PATH\" }}"
        );
    }
    // A store key, a proxy URL or a CA file that cannot be read is found now, not at
    // start.
    config.store_keyring()?;
    config.http()?;
    let mut grants: Vec<String> = config
        .grants
        .iter()
        .map(|(name, grant)| format!("{name} ({})", grant.platform()))
        .collect();
    grants.extend(
        config
            .ilab
            .keys()
            .map(|name| format!("{name} (ilab sessions)")),
    );
    println!("config ok: {}", grants.join(", "));
    Ok(())
}
