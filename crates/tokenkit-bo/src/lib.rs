//! tokenkit backend for the bo platform: refresh with the DES-encrypted `XverifyApi`
//! header (PROTOCOLS.md §3).
//!
//! - [`VerifySigner`]: the `XverifyApi` header (DES-CBC, PKCS#7, Base64 or hex).
//! - [`BoClient`]: `GET /bo/api/v3/auth/token/refresh`, answers parsed in camelCase or
//!   snake_case, `success: false` as a typed [`Error::Rejected`](tokenkit_core::Error).
//! - [`BoProvider`]: a logged-in session kept alive by the core's `TokenCache`,
//!   storing each rotated refresh token before the new access token is used.
//! - [`TokenUser`]: who the token belongs to.
//!
//! ```no_run
//! use tokenkit_bo::{BoClient, BoProvider, BoSession, VerifySigner};
//! use tokenkit_core::TokenCache;
//! # async fn f(access: String, refresh: String) -> Result<(), tokenkit_core::Error> {
//! let signer = VerifySigner::builder("12345678").build()?; // the DES key, 8 bytes
//! let client = BoClient::builder("https://bo.example.com", "demo-owner", signer)
//!     .sys_id("portal")
//!     .build()?;
//! let cache = TokenCache::new(BoProvider::new(client, BoSession::new(access, refresh)));
//! let token = cache.token().await?; // refreshed as needed
//! # Ok(()) }
//! ```

mod client;
#[cfg(test)]
mod props;
mod provider;
pub mod rejection;
mod response;
mod scheme;
mod session;
mod user;
mod verify;

pub use client::{
    BoClient, BoClientBuilder, CONTENT_TYPE_VALUE, MAX_LIFETIME, NodeJsMode, REFRESH_PATH,
};
pub use provider::BoProvider;
pub use response::{EPOCH_MS_THRESHOLD, expiry, expiry_from};
pub use scheme::BoScheme;
pub use session::BoSession;
pub use user::TokenUser;
pub use verify::{
    DEFAULT_TEMPLATE, VerifyContext, VerifyEncoding, VerifySigner, VerifySignerBuilder,
};

/// The platform name in errors and logs.
pub const PLATFORM: &str = "bo";
