//! tokenkit backend for the ac compute-cloud OpenAPI (PROTOCOLS.md §2).
//!
//! An account logs in — with `user`, `password` and `orgId` (§2.1), or with an access
//! key whose secret key signs each login (§2.5, the login the platform recommends) —
//! and receives one token per region (cluster); `clusterId` `0` is the platform token.
//! A token is renewed with `tokens/next` until 24 h past its expiry, after which only a
//! new login helps; a renewed token replaces the old one.
//!
//! - [`AcClient`]: [`login`](AcClient::login), [`renew`](AcClient::renew),
//!   [`state`](AcClient::state), [`center`](AcClient::center), and authenticated
//!   calls with its tokens ([`calls`](AcClient::calls), the [`AcScheme`]).
//! - [`AcProvider`]: one cluster's token for the core's `TokenCache`, renewing and
//!   falling back to a login by itself.
//! - [`AcAccount`]: one account, many clusters: their caches share logins, in one
//!   process and across processes sharing a store.
//! - [`Discovery`]: the region's service URLs (`center`), kept per token.
//! - [`AcClaims`]: the typed claims (`expireTime` in epoch ms, `accountStatus`, …).
//!
//! ```no_run
//! use std::sync::Arc;
//! use tokenkit_ac::{AcAccount, AcClient, ClusterSelector, ServiceKind};
//! # async fn run() -> Result<(), tokenkit_core::Error> {
//! let client = AcClient::builder("https://api01.example.com:65102")
//!     .user("alice").access_key("85f96a42b13f4d2c8b760d2775bbcca8", "the-secret-key").build()?;
//! let account = AcAccount::new(client.clone());
//! let cache = Arc::new(account.cache(ClusterSelector::id("11112")));
//! let jobs = client.discovery(Arc::clone(&cache)).url(ServiceKind::Hpc).await?;
//! let calls = client.calls(cache); // the token header; a 10008 renews once and repeats once
//! let answer = calls.send(calls.get(format!("{jobs}/hpc/openapi/v2/jobs"))).await?;
//! # Ok(()) }
//! ```

mod account;
mod center;
mod claims;
mod client;
mod login;
#[cfg(test)]
mod props;
mod provider;
mod region;
pub mod reply;
mod scheme;
mod signature;
mod token;

pub use account::AcAccount;
pub use center::{CenterRegion, ClusterUser, Discovery, ServiceKind, ServiceUrl, parse_center};
pub use claims::{AcClaims, AccountStatus};
pub use client::{AcClient, AcClientBuilder, DEFAULT_ASSUMED_LIFETIME, MAX_LIFETIME};
pub use login::CLOCK_SKEW_NOTICE;
pub use provider::{AcProvider, LOGIN_TOKEN_FLOOR, RENEWAL_WINDOW};
pub use region::{ClusterSelector, Login, Region};
pub use reply::is_token_refused;
pub use scheme::AcScheme;
pub use signature::access_key_signature;

/// The platform name in errors.
pub const PLATFORM: &str = "ac";
