//! The sandbox's HTTP/1 server: an accept loop over hyper with limits that
//! `axum::serve` does not have.
//!
//! `axum::serve` gives hyper no timer, so a connection that sends half a request line,
//! or opens and sends nothing (slowloris), stays open for ever and the number of open
//! connections is bounded only by the descriptor limit. Here every connection is
//! watched ([`phase`]): it must deliver each request head within
//! [`ConnectionLimits::header_read_timeout`], may sit idle between requests for at most
//! [`ConnectionLimits::idle_timeout`], and, when [`ConnectionLimits::max_connections`]
//! is set, at most that many are served at once (further ones wait in the listen
//! backlog until a slot frees up).
//!
//! hyper's own `header_read_timeout` is not used: its timer also runs while a kept-alive
//! connection waits for its next request, so it cannot tell "idle" from "slow head" and
//! the two limits could not differ.
//!
//! Stopping is graceful, as with `axum::serve`: once the shutdown future resolves (or
//! the accept loop is dropped), no connection is accepted, requests in progress are
//! answered and each connection closes once idle.

mod observe;
mod phase;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower_service::Service;

use observe::{ObservedBody, ObservedIo};
use phase::Activity;

/// Limits on the sandbox's connections ([`SandboxConfig::connections`]).
///
/// The defaults suit tests and demos: a client that behaves is never cut off, one
/// that stalls is dropped within seconds.
///
/// ```
/// use std::time::Duration;
/// use tokenkit_sandbox::{ConnectionLimits, SandboxConfig};
///
/// let config = SandboxConfig {
///     connections: ConnectionLimits {
///         header_read_timeout: Some(Duration::from_millis(500)),
///         ..ConnectionLimits::default()
///     },
///     ..SandboxConfig::default()
/// };
/// assert_eq!(config.connections.idle_timeout, Some(Duration::from_secs(60)));
/// ```
///
/// [`SandboxConfig::connections`]: crate::SandboxConfig::connections
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request head (request line and headers) may take to arrive: counted
    /// from the connection's opening for its first request and from the first byte
    /// for later ones. A connection that has not delivered a complete head in time is
    /// closed without an answer. `None`: no limit. Default 10 s.
    pub header_read_timeout: Option<Duration>,
    /// How long a kept-alive connection may wait for its next request once the last
    /// answer was sent; then it is closed. Not counted while a request is being
    /// handled, however long the handler takes (injected latency, a stall). `None`: no
    /// limit. Default 60 s.
    pub idle_timeout: Option<Duration>,
    /// How many connections are served at once; further ones are accepted only as
    /// open ones close. `None` (the default): no cap but the descriptor limit, since
    /// the two timeouts already bound what a stalled client holds. `Some(0)` is
    /// refused by [`Sandbox::start`].
    ///
    /// A cap below the number of kept-alive connections a client's pool holds makes
    /// that client's further connections wait until an idle one is closed (up to
    /// `idle_timeout`): a cap suits a sandbox exposed to clients it does not control.
    ///
    /// [`Sandbox::start`]: crate::Sandbox::start
    pub max_connections: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            max_connections: None,
        }
    }
}

impl ConnectionLimits {
    /// `Ok` when the sandbox can serve with these limits, else what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.max_connections == Some(0) {
            return Err("connections.max_connections must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(
        limits
            .max_connections
            .map_or(Semaphore::MAX_PERMITS, |cap| {
                cap.min(Semaphore::MAX_PERMITS)
            }),
    ));
    // Dropping (or sending on) `stop` tells every connection to finish gracefully; it
    // is dropped when this loop ends, also when the task running it is aborted.
    let (_stop, stopped) = watch::channel(());
    let limits = Arc::new(limits);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed; should it be, stop serving.
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    pause_after_accept_error(&e).await;
                    continue;
                }
            },
        };
        tokio::spawn(serve_connection(
            stream,
            app.clone(),
            Arc::clone(&limits),
            stopped.clone(),
            permit,
        ));
    }
}

/// An error from `accept` concerns one connection (reset before it was taken) or the
/// process (out of descriptors): the loop goes on either way, after a pause in the
/// second case so that it does not spin while nothing can be accepted.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %error, "sandbox: cannot accept a connection; retrying");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Serves one connection until it closes, a limit cuts it off, or the server stops.
/// `_slot` is held for as long as the connection is open.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: Arc<ConnectionLimits>,
    mut stopped: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Activity::new();
    let io = TokioIo::new(ObservedIo::new(stream, Arc::clone(&activity)));
    let handled = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // Taken before the router runs and released when the answer's body is gone,
        // so no deadline runs while a request is handled or answered.
        let busy = handled.request_started();
        let mut app = app.clone();
        async move {
            let response = app.call(request.map(Body::new)).await?;
            Ok::<_, Infallible>(response.map(|body| ObservedBody::new(body, busy)))
        }
    });
    let mut connection = pin!(http1::Builder::new().serve_connection(io, service));
    let mut stopping = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "sandbox: connection ended with an error");
                }
                return;
            }
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            limit = activity.overdue(&limits) => {
                // Dropping the connection closes the socket; nothing is in progress on
                // it (deadlines run only between requests).
                tracing::debug!(limit, "sandbox: closing a connection");
                return;
            }
        }
    }
}
