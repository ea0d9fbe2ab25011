//! The sandbox console: server-rendered pages at `GET /_sandbox/` that show what the
//! emulated platforms hold (sessions, refresh budgets, live, revoked and rotated
//! tokens, uploaded results, the last requests) and POST forms that act on them as the
//! platforms' own operators and users would (launch an experiment, revoke a token,
//! suspend an account, change the injected faults).
//!
//! Pages (`text/html`, Chinese labels with the English beside them):
//!
//! | path | shows |
//! | --- | --- |
//! | [`OVERVIEW_PATH`] | faults form, per-platform summary and timeline |
//! | [`ILAB_PATH`] | test users with "我要做实验", sessions, refreshes spent, records |
//! | [`AC_PATH`] | accounts, clusters, tokens; revoke, suspend, resume |
//! | [`BO_PATH`] | sessions and their rotated refresh tokens; revoke |
//! | [`REQUESTS_PATH`] | the last platform requests |
//!
//! Everything here is admin: never counted in `/_sandbox/stats`, never fault-injected.
//! The console answers only on the address the sandbox listens on (`guard.rs`) and
//! shows tokens and secrets only masked (`crate::mask`).

mod ac;
mod bo;
mod guard;
#[cfg(test)]
mod html_check;
mod ilab;
mod overview;
mod page;
mod requests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ac;
#[cfg(test)]
mod tests_bo;
#[cfg(test)]
mod tests_ilab;
mod timeline;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::Common;
use crate::params::Params;

/// The overview page.
pub const OVERVIEW_PATH: &str = "/_sandbox/";
/// The ilab page.
pub const ILAB_PATH: &str = "/_sandbox/console/ilab";
/// The ac page.
pub const AC_PATH: &str = "/_sandbox/console/ac";
/// The bo page.
pub const BO_PATH: &str = "/_sandbox/console/bo";
/// The requests page.
pub const REQUESTS_PATH: &str = "/_sandbox/console/requests";

/// What the console reads and acts on.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) common: Common,
    /// Where the sandbox listens: the only address the console answers on.
    pub(crate) listen: SocketAddr,
    pub(crate) ilab: crate::ilab::Ilab,
    pub(crate) ac: Arc<crate::ac::AcState>,
    pub(crate) bo: Arc<crate::bo::Bo>,
}

pub(crate) fn routes(console: Console) -> Router {
    let listen = console.listen;
    Router::new()
        .route(OVERVIEW_PATH, get(overview::page))
        .route("/_sandbox", get(|| async { Redirect::to(OVERVIEW_PATH) }))
        .route(
            "/_sandbox/console",
            get(|| async { Redirect::to(OVERVIEW_PATH) }),
        )
        .route("/_sandbox/console/faults", post(overview::set_faults))
        .route(ILAB_PATH, get(ilab::page))
        .route("/_sandbox/console/ilab/launch", post(ilab::launch))
        .route(AC_PATH, get(ac::page))
        .route("/_sandbox/console/ac/revoke", post(ac::revoke))
        .route("/_sandbox/console/ac/suspend", post(ac::suspend))
        .route("/_sandbox/console/ac/resume", post(ac::resume))
        .route(BO_PATH, get(bo::page))
        .route("/_sandbox/console/bo/revoke", post(bo::revoke))
        .route(REQUESTS_PATH, get(requests::page))
        .with_state(console)
        .route_layer(middleware::from_fn_with_state(listen, admit))
}

/// Refuses what the console must not answer (`guard.rs`) before any handler runs.
async fn admit(State(listen): State<SocketAddr>, request: Request, next: Next) -> Response {
    match guard::admit(listen, request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(guard::Refusal::Host) => (
            StatusCode::MISDIRECTED_REQUEST,
            "The sandbox console answers only on the address it listens on.\n",
        )
            .into_response(),
        Err(guard::Refusal::CrossSite) => (
            StatusCode::FORBIDDEN,
            "The sandbox console takes actions only from its own pages.\n",
        )
            .into_response(),
    }
}

/// The fields of a submitted form (`application/x-www-form-urlencoded`), decoded
/// once; a repeated name keeps its first value, an empty one is absent.
pub(crate) fn form(body: &[u8]) -> Params {
    Params::parse(None, body)
}

/// After an action, back to `page` with a fixed notice (never text from the request,
/// so nothing can be reflected into the page).
pub(crate) fn back_to(page: &str, notice: Notice) -> Response {
    Redirect::to(&format!("{page}?notice={}", notice.key())).into_response()
}

/// What an action reports on the page it returns to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Faults changed.
    FaultsSet,
    /// A token or session was revoked.
    Revoked,
    /// There was nothing to revoke.
    NothingRevoked,
    /// An account was suspended.
    Suspended,
    /// An account was resumed.
    Resumed,
}

impl Notice {
    const ALL: [Notice; 5] = [
        Notice::FaultsSet,
        Notice::Revoked,
        Notice::NothingRevoked,
        Notice::Suspended,
        Notice::Resumed,
    ];

    fn key(self) -> &'static str {
        match self {
            Notice::FaultsSet => "faults",
            Notice::Revoked => "revoked",
            Notice::NothingRevoked => "nothing",
            Notice::Suspended => "suspended",
            Notice::Resumed => "resumed",
        }
    }

    fn text(self) -> (&'static str, &'static str) {
        match self {
            Notice::FaultsSet => ("故障注入设置已生效", "fault settings in force"),
            Notice::Revoked => ("已吊销", "revoked"),
            Notice::NothingRevoked => ("没有可吊销的令牌", "nothing to revoke"),
            Notice::Suspended => ("账户已停用", "account suspended"),
            Notice::Resumed => ("账户已恢复", "account resumed"),
        }
    }

    /// The notice a page's query names, rendered; empty for none or an unknown one.
    pub(crate) fn from_query(query: Option<&str>) -> String {
        let Some(query) = query else {
            return String::new();
        };
        let named = Params::parse(Some(query), b"")
            .get("notice")
            .and_then(|value| Notice::ALL.into_iter().find(|n| n.key() == value));
        named.map_or_else(String::new, |notice| {
            let (zh, en) = notice.text();
            format!(
                "<p class=\"notice\" role=\"status\">{}</p>",
                page::both(zh, en)
            )
        })
    }
}
