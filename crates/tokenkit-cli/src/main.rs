//! `tokenkit`: tokens for scripts, a local sandbox of the three platforms, and a demo.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error, 3 re-authentication required.

mod ac;
mod agent;
mod bo;
mod demo;
mod http;
mod ilab;
mod inspect;
mod output;
mod refused;
mod results;
mod sandbox;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Obtain, cache and renew API tokens of the ilab, ac and bo platforms.
///
/// The argument types deliberately do not derive `Debug`: they hold secrets passed as
/// flags (`--secret`, `--password`, `--des-key`, tokens).
#[derive(Parser)]
#[command(name = "tokenkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the local sandbox of all three platforms until stopped.
    Sandbox(sandbox::Args),
    /// Serve the configured grants' tokens to programs in any language (a Unix socket
    /// and/or loopback HTTP) until SIGTERM; SIGHUP reloads the config.
    Agent(agent::Args),
    /// Walk through every platform's token lifecycle against an in-process sandbox.
    Demo,
    /// Decode a token's claims and show its expiry.
    Inspect(inspect::Args),
    /// The ilab virtual-experiment platform.
    #[command(subcommand)]
    Ilab(ilab::Command),
    /// The ac compute-cloud OpenAPI.
    #[command(subcommand)]
    Ac(ac::Command),
    /// The bo backend.
    #[command(subcommand)]
    Bo(bo::Command),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TOKENKIT_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Agent(args) => agent::run(args).await,
        Command::Demo => demo::run().await,
        Command::Inspect(args) => inspect::run(&args),
        Command::Ilab(cmd) => ilab::run(cmd).await,
        Command::Ac(cmd) => ac::run(cmd).await,
        Command::Bo(cmd) => bo::run(cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::fail(&e),
    }
}
