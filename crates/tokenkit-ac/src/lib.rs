//! tokenkit backend for the ac compute-cloud OpenAPI (PROTOCOLS.md §2).
//!
//! An account logs in with `user`, `password` and `orgId` headers and receives one
//! token per region (cluster); `clusterId` `0` is the platform token. A token is renewed
//! with `tokens/next` until 24 h past its expiry, after which only a new login helps;
//! a renewed token replaces the old one.
//!
//! - [`AcClient`]: [`login`](AcClient::login), [`renew`](AcClient::renew),
//!   [`state`](AcClient::state).
//! - [`AcProvider`]: one cluster's token for the core's `TokenCache`, renewing and
//!   falling back to a login by itself.
//! - [`AcClaims`]: the typed claims (`expireTime` in epoch ms, `accountStatus`, …).
//! - [`is_token_refused`]: recognise the 10008 an API call gets for a stale token.
//!
//! ```no_run
//! use tokenkit_ac::{AcClient, AcProvider, ClusterSelector, is_token_refused};
//! use tokenkit_core::TokenCache;
//! # async fn run() -> Result<(), tokenkit_core::Error> {
//! let client = AcClient::builder("https://api01.example.com:65102")
//!     .user("alice").password("s3cret").org_id("org").build()?;
//! let cache = TokenCache::new(AcProvider::new(client.clone(), ClusterSelector::id("11112")));
//! let token = cache.token().await?;
//! match client.state(token.access_token()).await {
//!     Err(e) if is_token_refused(&e) => { cache.invalidate(&token).await?; }
//!     other => { other?; }
//! }
//! # Ok(()) }
//! ```

mod claims;
mod client;
mod provider;
mod region;
pub mod reply;
mod scheme;
mod token;

pub use claims::{AcClaims, AccountStatus};
pub use client::{AcClient, AcClientBuilder, DEFAULT_ASSUMED_LIFETIME};
pub use provider::{AcProvider, RENEWAL_WINDOW};
pub use region::{ClusterSelector, Login, Region};
pub use reply::is_token_refused;
pub use scheme::AcScheme;

/// The platform name in errors.
pub const PLATFORM: &str = "ac";
