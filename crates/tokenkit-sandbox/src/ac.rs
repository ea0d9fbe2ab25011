//! The ac platform's routes (skeleton; filled in by the ac issue).

use std::time::Duration;

use axum::Router;

use crate::Common;

/// Settings of the emulated ac platform.
#[derive(Debug, Clone)]
pub struct AcConfig {
    /// Lifetime of the access tokens it issues.
    pub ttl: Duration,
}

impl Default for AcConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(86400),
        }
    }
}

pub(crate) fn routes(common: Common, config: AcConfig) -> Router {
    let _ = config;
    common.platform_routes("ac", Router::new())
}
