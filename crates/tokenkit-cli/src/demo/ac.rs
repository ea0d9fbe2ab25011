//! The ac part of the demo (filled in by the ac issue).

use tokenkit::sandbox::Sandbox;

use crate::output::CliResult;

pub async fn run(sandbox: &Sandbox) -> CliResult {
    let _ = sandbox;
    Ok(())
}
