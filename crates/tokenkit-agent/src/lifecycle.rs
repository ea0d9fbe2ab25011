//! Start, reload, drain.
//!
//! - **Start**: read the config, bind every listener, open the store, start every
//!   grant's keeper (which fetches the first tokens in the background), print one
//!   `listening on …` line per address, serve. Requests that come before a grant's
//!   first token wait for it (at most `agent.wait_ms`).
//! - **`SIGHUP`**: read the config again. Unchanged grants keep their caches; changed
//!   ones are rebuilt over the same store and adopt its tokens; new ones start; removed
//!   ones stop. A config that does not load is refused with the reason on stderr, and the
//!   previous one goes on serving. Listener changes need a restart.
//! - **`SIGTERM`** (or `SIGINT`): stop accepting, let the requests in progress finish
//!   (at most `agent.drain_ms`), remove the socket, exit 0.

use std::path::Path;

use axum::serve::ListenerExt;
use tokenkit_core::Error;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{self, AgentState};
use crate::config::Config;
use crate::listen;
use crate::protect::Transport;
use crate::runtime::Runtime;

/// Runs the agent of the config file at `path` until `SIGTERM` or `SIGINT`.
pub async fn run(path: &Path) -> Result<(), Error> {
    let config = Config::load(path)?;
    warn_inline_secrets(&config);
    let unix = config.unix_socket();
    let tcp = config.listen.tcp;
    let drain = config.agent.drain();
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;

    // Every listener is bound before any grant starts: an agent that cannot listen (a
    // port in use, another agent on the socket) calls no platform, announces no
    // address and leaves no socket behind.
    let unix = match unix {
        Some(path) => {
            let path = listen::absolute(&path);
            Some((listen::bind_unix(&path)?, path))
        }
        None => None,
    };
    let socket = unix.as_ref().map(|(_, path)| path.clone());
    let tcp = match tcp {
        Some(addr) => Some(
            listen::bind_tcp(addr)
                .await
                .inspect_err(|_| remove(socket.as_deref()))?,
        ),
        None => None,
    };
    let runtime = Runtime::start(config)
        .await
        .inspect_err(|_| remove(socket.as_deref()))?;
    let state = AgentState::new(runtime);
    let (stop, stopped) = watch::channel(false);
    let mut servers = JoinSet::new();
    if let Some((listener, path)) = unix {
        let router = api::router(state.clone(), Transport::Unix);
        servers.spawn(serve(axum::serve(listener, router), stopped.clone()));
        println!("listening on unix:{}", path.display());
    }
    if let Some((listener, local)) = tcp {
        // Small answers, often on a kept-alive connection: no Nagle delay.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        let router = api::router(state.clone(), Transport::Tcp(local));
        servers.spawn(serve(axum::serve(listener, router), stopped.clone()));
        println!("listening on http://{local}");
    }
    tracing::info!("agent serving");

    loop {
        tokio::select! {
            _ = hangup.recv() => reload(path, &state).await,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!(drain_ms = drain.as_millis() as u64, "draining");
    let _ = stop.send(true);
    let drained = tokio::time::timeout(drain, async {
        while servers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still in progress after the drain time: stopping anyway");
    }
    remove(socket.as_deref());
    Ok(())
}

/// Removes the agent's socket file, if it has one.
fn remove(socket: Option<&Path>) {
    if let Some(path) = socket {
        let _ = std::fs::remove_file(path);
    }
}

/// Serves until `stopped` turns true, then finishes the requests in progress.
async fn serve<L>(
    server: axum::serve::Serve<L, axum::Router, axum::Router>,
    mut stopped: watch::Receiver<bool>,
) where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(error) = server.with_graceful_shutdown(shutdown).await {
        tracing::error!(%error, "a listener failed");
    }
}

/// `SIGHUP`: the config file again; on any error the running config stays.
async fn reload(path: &Path, state: &AgentState) {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tokenkit agent: reload refused: {error}");
            return;
        }
    };
    warn_inline_secrets(&config);
    let current = state.runtime();
    if config.listen != current.config.listen {
        eprintln!("tokenkit agent: warning: [listen] changed: listeners change on restart only");
    }
    match current.reload(config).await {
        Ok(next) => {
            if next.http_changed_from(&current) {
                eprintln!("tokenkit agent: [http] changed: every platform client is rebuilt");
            }
            let (added, changed, removed) = next.changes_from(&current);
            state.swap(next);
            eprintln!(
                "tokenkit agent: reloaded (added {added:?}, changed {changed:?}, removed {removed:?})"
            );
        }
        Err(error) => {
            eprintln!("tokenkit agent: reload refused: {error}");
        }
    }
}

fn warn_inline_secrets(config: &Config) {
    for field in config.inline_secrets() {
        eprintln!(
            "tokenkit agent: warning: {field} is written in the config file; prefer \
             {{ env = \"VARIABLE\" }} or {{ file = \"PATH\" }}"
        );
    }
}

fn signal_error(error: std::io::Error) -> Error {
    Error::config(format!("cannot handle signals: {error}"))
}
