//! `tokenkit ac …` (filled in by the ac issue).

use crate::output::CliResult;

/// Commands of the ac platform.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub async fn run(command: Command) -> CliResult {
    match command {}
}
