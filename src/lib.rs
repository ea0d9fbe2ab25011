#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No backend is on by default; pick what you use:
//!
//! - `ilab`: the virtual-experiment platform (ticket exchange, 2-refresh budget).
//! - `ac`: the compute-cloud OpenAPI (per-cluster tokens, renewal).
//! - `bo`: the backend with the DES-encrypted `XverifyApi` header.
//! - `redis`: a Redis-backed store shared by a fleet of processes.
//! - `sandbox`: the local emulator of all three platforms.
//! - `agent`: the token lifecycle as a local HTTP service (`tokenkit agent`).
//! - `full`: all of the above.
//!
//! The TLS stack (one of them; see `docs/http.md`):
//!
//! - `rustls` (default): rustls with aws-lc-rs (a C toolchain and cmake build it).
//! - `rustls-no-provider`: rustls without a crypto provider, no C; install one
//!   (e.g. ring's) before building a client.
//! - `native-tls`: the system's TLS (OpenSSL on Linux). Redis TLS stays rustls.

#[doc(inline)]
pub use tokenkit_core::{
    AccessToken, AppSecret, Arrival, Backoff, CachedToken, Error, Expiry, FileStore, Grant,
    Keyring, MemoryStore, Metadata, Password, RefreshPolicy, RefreshToken, Secret, SecretKey,
    Token, TokenCache, TokenGuard, TokenProvider, TokenStore, UserIdentity, async_trait,
};

/// The core: everything platform-independent.
#[doc(inline)]
pub use tokenkit_core as core;

/// The ilab virtual-experiment platform.
#[cfg(feature = "ilab")]
#[doc(inline)]
pub use tokenkit_ilab as ilab;

/// The ac compute-cloud OpenAPI.
#[cfg(feature = "ac")]
#[doc(inline)]
pub use tokenkit_ac as ac;

/// The bo backend.
#[cfg(feature = "bo")]
#[doc(inline)]
pub use tokenkit_bo as bo;

/// The Redis-backed store for fleets.
#[cfg(feature = "redis")]
#[doc(inline)]
pub use tokenkit_redis as redis;

/// The local emulator of the three platforms.
#[cfg(feature = "sandbox")]
#[doc(inline)]
pub use tokenkit_sandbox as sandbox;

/// The agent: the token lifecycle as a local service for programs in any language.
#[cfg(feature = "agent")]
#[doc(inline)]
pub use tokenkit_agent as agent;

// The platform pages' code blocks are doctests too.
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/ilab.md")]
mod ilab_page {}

#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/ac.md")]
mod ac_page {}

#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/bo.md")]
mod bo_page {}

#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/redis.md")]
mod redis_page {}

#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/encryption.md")]
mod encryption_page {}

#[doc = include_str!("../docs/http.md")]
mod http_page {}

#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../docs/console.md")]
mod console_page {}
