//! A local emulator of the ilab, ac and bo token platforms, for tests and demos.
//!
//! It enforces the documents' rules (signatures, single-use tickets, the 2-refresh
//! budget, the ac renewal window and access-key signatures, the bo verify header with
//! replay and timestamp checks), signs its tokens as HS256 JWTs with the documented
//! claims (except the access tokens of ilab's `open/api/v2` dialect, opaque Base64 as
//! that dialect's are), counts every request at `GET /_sandbox/stats`, and can inject
//! faults on the platform routes.
//!
//! The token routes of each platform, counted in `/_sandbox/stats` under the names
//! shown (`"<platform>.<last path segment>"`, except the ac access-key login):
//!
//! | platform | route | counted as |
//! | --- | --- | --- |
//! | [`ilab`] | `/oauth/token/accesstoken`, `/oauth/token/refreshtoken` (GET or POST) | `ilab.accesstoken`, `ilab.refreshtoken` |
//! | [`ilab`] | `/open/api/v2/token`, `/open/api/v2/token/refresh` (GET or POST) | `ilab.token`, `ilab.refresh` |
//! | [`ac`] | `POST /ac/openapi/v2/tokens` (password login) | `ac.tokens` |
//! | [`ac`] | `POST /api/user/v3/tokens` (access-key login) | `ac.ak_tokens` |
//! | [`ac`] | `POST /ac/openapi/v2/tokens/next`, `GET /ac/openapi/v2/tokens/state` | `ac.next`, `ac.state` |
//! | [`bo`] | `GET /bo/api/v3/auth/token/refresh` | `bo.refresh` |
//!
//! Each platform also has one token-protected route that checks a token the way that
//! platform does and refuses it in that platform's shape, and an admin route that
//! revokes a token, so a test can make the platform refuse a token its client still
//! believes valid:
//!
//! | platform | protected route | refusal | admin |
//! | --- | --- | --- | --- |
//! | [`ilab`] | `POST /open/api/v2/data_upload?access_token=…` (`ilab.data_upload`), `GET /open/api/v2/data_get?access_token&appid&signature` (`ilab.data_get`) | `{"code": 2}` | `POST /_sandbox/ilab/revoke`, `GET /_sandbox/ilab/records`, `POST /_sandbox/ilab/stall` |
//! | [`ac`] | `GET /ac/openapi/v2/center` (header `token`; `ac.center`) | `{"code": "10008"}` | `POST /_sandbox/ac/revoke` |
//! | [`bo`] | `GET /_sandbox/bo/whoami` (`Authorization: Bearer`; `bo.whoami`) | HTTP 401, `success: false` | `POST /_sandbox/bo/revoke` |
//!
//! The revoke routes take `{"token": "…"}` and answer `{"revoked": true|false}`. The
//! protected routes are counted and fault-injected like the platforms' token routes;
//! the admin routes under `/_sandbox/` never are (`whoami` is the one exception to the
//! prefix rule: it stands in for a protected bo API). Besides the request counters,
//! `/_sandbox/stats` has outcome counters (`{"outcomes": {...}}`, [`Stats::outcome`]):
//! what the ilab uploads did (stored, replaced, refused). Each module's docs list its
//! routes and counters in full.
//!
//! A console for people, at `GET /_sandbox/`, shows what the emulated platforms hold
//! and acts on them from a browser: ilab's test users with a "我要做实验" button that
//! launches [`ilab::IlabConfig::launch_url`] with a ticket, sessions with their
//! refreshes spent and uploaded records; ac's accounts, clusters and tokens, with
//! revoke, suspend and resume; bo's sessions with their chains of rotated refresh
//! tokens, with revoke; a timeline of token lifetimes per platform; the last
//! [`requests::RequestLog::CAPACITY`] platform requests; and the fault settings,
//! changeable while the sandbox runs ([`Sandbox::set_faults`] does the same from code).
//! It answers only requests addressed to the sandbox's own listening address, takes
//! actions only as POST forms from its own pages, and shows tokens and secrets only
//! masked ([`mask::mask`]). The console's requests are admin: never counted, never
//! fault-injected.
//!
//! The counters are bounded, so a long-running sandbox cannot be grown without end: a
//! request that no route matches is answered 404 and counted nowhere, and each of
//! the two maps holds at most [`Stats::MAX_NAMES`] names; a further name (possible only
//! for routes added through [`Common::platform_routes`] with captures, or names passed
//! to [`Stats::hit`]) and a name longer than [`Stats::MAX_NAME_LEN`] bytes are counted
//! under [`Stats::OVERFLOW`] instead.
//!
//! Connections are bounded too ([`ConnectionLimits`]): a connection that has not sent
//! a complete request head within 10 s, or that stays idle between requests for 60 s,
//! is closed; a cap on open connections can be set.
//!
//! Two behaviours span every route:
//!
//! - a path that starts with several slashes (`//ac/openapi/v2/tokens`,
//!   `///_sandbox/stats`) is served and counted exactly like the one-slash path, as
//!   the platforms' front ends do (PROTOCOLS.md §2.7); the query string is kept;
//! - every ac answer carries a `Date` from the ac platform's own clock, which
//!   [`ac::AcConfig::clock_offset`] can move away from the machine's.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = tokenkit_sandbox::Sandbox::start(tokenkit_sandbox::SandboxConfig::default()).await?;
//! println!("listening on {}", sandbox.base_url());
//! # Ok(()) }
//! ```

pub mod ac;
pub mod bo;
mod console;
mod faults;
pub mod ilab;
pub mod journal;
pub mod jwt;
pub mod mask;
mod params;
pub mod requests;
mod revoke;
mod server;
mod slashes;
mod stats;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_slashes;
#[cfg(test)]
mod tests_stats;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use faults::{FaultSwitch, Faults};
pub use server::ConnectionLimits;
pub use stats::Stats;

/// Everything the sandbox can be told.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Faults injected on the platform routes (never on the admin routes of `/_sandbox/`).
    pub faults: Faults,
    /// The HS256 key the sandbox signs its tokens with.
    pub jwt_key: Vec<u8>,
    /// The ilab platform.
    pub ilab: ilab::IlabConfig,
    /// The ac platform.
    pub ac: ac::AcConfig,
    /// The bo platform.
    pub bo: bo::BoConfig,
    /// Header-read and idle timeouts, and the cap on open connections.
    pub connections: ConnectionLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            faults: Faults::default(),
            jwt_key: b"tokenkit-sandbox-signing-key".to_vec(),
            ilab: ilab::IlabConfig::default(),
            ac: ac::AcConfig::default(),
            bo: bo::BoConfig::default(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// What every platform's routes share.
#[derive(Debug, Clone)]
pub struct Common {
    /// Request counters.
    pub stats: Arc<Stats>,
    /// Fault injection, changeable while the sandbox runs.
    pub faults: FaultSwitch,
    /// The signing key.
    pub jwt_key: Arc<[u8]>,
    /// The last platform requests (the console's requests page).
    pub requests: Arc<requests::RequestLog>,
    /// The tokens issued and how they ended (the console's views and timelines).
    pub journal: Arc<journal::Journal>,
}

impl Common {
    /// What a sandbox's routes share, counting into `stats`, with `faults` in force
    /// and tokens signed with `jwt_key`; an empty request log and journal.
    pub fn new(stats: Arc<Stats>, faults: Faults, jwt_key: &[u8]) -> Self {
        Self {
            stats,
            faults: FaultSwitch::new(faults),
            jwt_key: Arc::from(jwt_key),
            requests: Arc::default(),
            journal: Arc::default(),
        }
    }

    /// Wraps `router` (a platform's routes) with counting and fault injection. Each
    /// route is counted under `"<platform>.<last path segment>"`.
    pub fn platform_routes(&self, platform: &'static str, router: Router) -> Router {
        faults::wrap(self.clone(), faults::Counter::LastSegment(platform), router)
    }

    /// Like [`platform_routes`](Self::platform_routes), but every route of `router` is
    /// counted under `name` (`"ac.ak_tokens"`): for a route whose last path segment
    /// would share a counter with another route's.
    pub fn named_platform_routes(&self, name: &'static str, router: Router) -> Router {
        faults::wrap(self.clone(), faults::Counter::Named(name), router)
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    stats: Arc<Stats>,
    faults: FaultSwitch,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Binds and starts serving in the background; returns once listening.
    ///
    /// Fails with [`std::io::ErrorKind::InvalidInput`] for a configuration it cannot
    /// serve (a bad [`ilab::IlabConfig`] path alias or launch URL, see
    /// [`ilab::IlabConfig::check`]; [`ConnectionLimits::max_connections`] of `Some(0)`;
    /// faults out of range, see [`Faults::check`]).
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        config
            .ilab
            .check()
            .and_then(|()| config.connections.check())
            .and_then(|()| config.faults.check())
            .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let common = Common::new(Arc::clone(&stats), config.faults.clone(), &config.jwt_key);
        let faults = common.faults.clone();
        let app = router(&common, &config, addr);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(
            listener,
            app,
            config.connections.clone(),
            async {
                let _ = rx.await;
            },
        ));
        Ok(Self {
            addr,
            stats,
            faults,
            shutdown: Some(tx),
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The fault settings in force.
    pub fn faults(&self) -> Faults {
        self.faults.get()
    }

    /// Puts `faults` in force from the next platform request on (as the console's
    /// faults form does); refused, with what is wrong, if [`Faults::check`] refuses.
    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        self.faults.set(faults)
    }

    /// Serves until the process is stopped.
    pub async fn wait(mut self) {
        let _keep = self.shutdown.take();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

fn router(common: &Common, config: &SandboxConfig, listen: SocketAddr) -> Router {
    let stats = Arc::clone(&common.stats);
    let ilab = ilab::routes(common.clone(), config.ilab.clone());
    let ac = ac::routes(common.clone(), config.ac.clone());
    let bo = bo::routes(common.clone(), config.bo.clone());
    let console = console::routes(console::Console {
        common: common.clone(),
        listen,
        ilab: ilab.console,
        ac: ac.console,
        bo: bo.console,
    });
    let app = Router::new()
        .route(
            "/_sandbox/stats",
            get(move || async move { axum::Json(stats.snapshot()) }),
        )
        .merge(ilab.routes)
        .merge(ac.routes)
        .merge(bo.routes)
        .merge(console)
        // Only what no route matches reaches the ilab path aliases: an alias cannot
        // collide with a route (axum would panic) nor take its requests.
        .fallback_service(ilab.aliases);
    slashes::tolerate_doubled_slashes(app)
}
