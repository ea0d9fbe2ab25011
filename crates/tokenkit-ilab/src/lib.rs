//! tokenkit backend for the ilab virtual-experiment platform (PROTOCOLS.md §1).
//!
//! The platform launches an experiment by opening its URL with a `ticket`; the
//! experiment's backend exchanges the ticket for a token and the user's identity, and
//! may refresh that grant at most twice.
//!
//! - [`IlabClient`]: the two operations, signed as §1.1/§1.2 say, in the documents'
//!   dialect or the `open/api/v2` one ([`Dialect`]), with upper- or lower-case hex.
//! - [`Ticket`]: decoded exactly once from the launch URL, encoded exactly once on the
//!   wire.
//! - [`IlabProvider`]: one grant as a [`TokenProvider`](tokenkit_core::TokenProvider)
//!   for the [`TokenCache`](tokenkit_core::TokenCache): single-use ticket, budget of
//!   two refreshes, spent only near expiry, never repeated blindly.
//! - [`SessionRegistry`]: one grant per user (`un`) for a backend serving many users;
//!   over a store shared with other processes (and the CLI's keys, with
//!   [`SessionRegistry::key_prefix`]), a user launched elsewhere is resumed from the store.
//! - [`ExperimentResult`] and [`Reporter`]: a student's result (§1.4), reported with
//!   the grant's token, kept pending in the grant's store until the platform
//!   acknowledged it, retried with the same `originId`, handed back when it cannot be
//!   delivered; `data_get` reads results back.
//!
//! ```no_run
//! use tokenkit_core::TokenCache;
//! use tokenkit_ilab::{IlabClient, IlabProvider, Ticket};
//! # async fn demo() -> Result<(), tokenkit_ilab::Error> {
//! let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
//! let ticket = Ticket::from_launch_url("https://lab.example/launch?ticket=eyJ0eXAi…")?;
//! let cache = TokenCache::new(IlabProvider::new(client, ticket));
//! let token = cache.token().await?;
//! println!("{:?} until {:?}", token.user(), token.expiry().wall());
//! # Ok(()) }
//! ```

mod attempt;
mod client;
mod codes;
mod data_get;
mod dialect;
mod fields;
mod outcome;
mod pending;
mod provider;
mod registry;
mod reply;
mod report;
mod result;
mod scheme;
mod session;
mod signature;
mod step;
mod ticket;
mod upload_answer;

#[cfg(test)]
mod props;
#[cfg(test)]
mod test_vectors;

pub use client::{IlabClient, IlabClientBuilder, MAX_LIFETIME, RequestMethod};
pub use codes::{Operation, RELAUNCH, meaning};
pub use dialect::{
    ACCESS_TOKEN_PARAM, DATA_GET_PATH, DATA_UPLOAD_PATH, Dialect, REFRESH_TOKEN_PARAM,
};
pub use fields::InvalidRecord;
pub use outcome::{Failure, FlushReport, Receipt, Retry, UploadError};
pub use provider::{IlabProvider, compact};
pub use registry::SessionRegistry;
pub use reply::REFRESH_BUDGET;
pub use report::Reporter;
pub use result::{ExperimentResult, ExperimentResultBuilder, FINISHED};
pub use scheme::{IlabScheme, TOKEN_INVALID};
pub use session::Session;
pub use signature::{HexCase, signature};
pub use step::Step;
pub use ticket::Ticket;
pub use tokenkit_core::Error;

/// The platform name used in errors and logs.
pub const PLATFORM: &str = "ilab";
