//! `tokenkit bo …` (filled in by the bo issue).

use crate::output::CliResult;

/// Commands of the bo platform.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub async fn run(command: Command) -> CliResult {
    match command {}
}
