//! The ilab platform's routes (skeleton; filled in by the ilab issue).

use std::time::Duration;

use axum::Router;

use crate::Common;

/// Settings of the emulated ilab platform.
#[derive(Debug, Clone)]
pub struct IlabConfig {
    /// Lifetime of the access tokens it issues.
    pub ttl: Duration,
}

impl Default for IlabConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(86399),
        }
    }
}

pub(crate) fn routes(common: Common, config: IlabConfig) -> Router {
    let _ = config;
    common.platform_routes("ilab", Router::new())
}
