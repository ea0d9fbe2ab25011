//! `tokenkit ilab …` (filled in by the ilab issue).

use crate::output::CliResult;

/// Commands of the ilab platform.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub async fn run(command: Command) -> CliResult {
    match command {}
}
