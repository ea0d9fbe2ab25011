//! The platform-independent core of tokenkit.
//!
//! A platform crate turns credentials into a [`Token`] by implementing
//! [`TokenProvider`]; the [`TokenCache`] decides when to ask for one; a [`TokenStore`]
//! remembers it; callers only call [`TokenCache::token`].
//!
//! - [`Secret`] and its named kin: redacted, zeroized secrets.
//! - [`Token`], [`Expiry`]: skew-proof expiry anchored to the monotonic clock.
//! - [`TokenCache`]: single-flight, background refresh, backoff, budgets.
//! - [`MemoryStore`], [`FileStore`]: versioned stores with a refresh lease;
//!   [`Keyring`]: secrets sealed at rest ([`store::seal`]).
//! - [`http`]: the HTTP plumbing every platform crate uses.
//! - [`lenient`], [`jwt`], [`civil`]: decoding helpers.

pub mod auth;
pub mod cache;
pub mod civil;
mod error;
mod expiry;
pub mod http;
pub mod jwt;
pub mod lenient;
#[cfg(test)]
mod props;
mod provider;
mod redact;
mod scrub;
mod secret;
mod sent;
pub mod store;
mod token;

pub use async_trait::async_trait;
pub use cache::{Backoff, CacheConfig, CachedToken, TokenCache, TokenCacheBuilder, TokenGuard};
pub use error::{CutOff, EXCERPT_LEN, Error, TransientKind};
pub use expiry::{
    Arrival, EPOCH_MILLIS_THRESHOLD, Expiry, ExpiryEstimate, LONGEST_LIFETIME,
    epoch_seconds_or_millis,
};
pub use provider::{RefreshPolicy, TokenProvider};
pub use redact::{excerpt, unquoted};
/// The HTTP client crate the authenticated-call layer works with.
pub use reqwest;
/// The middleware crate [`auth::AuthMiddleware`] plugs into.
#[cfg(feature = "middleware")]
pub use reqwest_middleware;
pub use scrub::{MIN_BLOB_INTERIOR, PERCENT_LAYERS, SHORT_SECRET, scrub};
pub use secret::{AccessToken, AppSecret, Password, RefreshToken, Secret, SecretKey};
pub use sent::Sent;
pub use store::seal::{Keyring, StoreKey};
pub use store::{CasOutcome, FileStore, Lease, MemoryStore, PendingRecord, TokenStore, Versioned};
pub use token::{Cluster, Grant, Metadata, Token, TokenRecord, UserIdentity};
