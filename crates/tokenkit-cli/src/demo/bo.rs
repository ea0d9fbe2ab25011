//! The bo part of the demo (filled in by the bo issue).

use tokenkit::sandbox::Sandbox;

use crate::output::CliResult;

pub async fn run(sandbox: &Sandbox) -> CliResult {
    let _ = sandbox;
    Ok(())
}
