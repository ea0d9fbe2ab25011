//! `tokenkit agent`: the token lifecycle as a local service for programs in any
//! language.
//!
//! Java, PHP, Node, Python or C# backends cannot link a Rust library; the agent gives
//! them what the library gives Rust code. It holds one [`TokenCache`] per configured
//! grant, exactly as a Rust program would, and serves it over a Unix socket and/or
//! loopback TCP:
//!
//! - one login or refresh per expiry for every program on the host (and, over a shared
//!   store, for a fleet of agents);
//! - tokens refreshed ahead of need in the background, so callers do not wait;
//! - the ilab budget of two refreshes never wasted: sessions from launch tickets,
//!   refreshed only when used;
//! - refusal recovery: `POST …/refused` with the token a platform refused renews it
//!   once for all callers;
//! - ilab results delivered exactly once: kept pending in the store until the platform
//!   acknowledged them, delivered later, or by the user's next launch.
//!
//! The parts: [`config`] (the TOML file), [`api`] (the HTTP routes and their answers),
//! [`protect`] (who may ask), [`lifecycle`] (start, `SIGHUP` reload, `SIGTERM` drain).
//! The CLI's `tokenkit agent --config agent.toml` calls [`run`]. See docs/agent.md.
//!
//! [`TokenCache`]: tokenkit_core::TokenCache

pub mod api;
mod clients;
pub mod config;
mod counting;
mod grant;
mod ilab_app;
pub mod lifecycle;
mod listen;
pub mod protect;
mod runtime;
mod stats;
pub mod store_url;

pub use config::Config;
pub use lifecycle::run;
