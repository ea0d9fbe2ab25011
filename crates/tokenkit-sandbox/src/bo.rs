//! The bo platform's routes (skeleton; filled in by the bo issue).

use std::time::Duration;

use axum::Router;

use crate::Common;

/// Settings of the emulated bo platform.
#[derive(Debug, Clone)]
pub struct BoConfig {
    /// Lifetime of the access tokens it issues.
    pub ttl: Duration,
}

impl Default for BoConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
        }
    }
}

pub(crate) fn routes(common: Common, config: BoConfig) -> Router {
    let _ = config;
    common.platform_routes("bo", Router::new())
}
