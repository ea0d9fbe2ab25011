//! The ac page (being built).

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both};
use super::{Console, timeline};
use crate::journal::Platform;

/// `GET /_sandbox/console/ac`.
pub(super) async fn page(State(console): State<Console>) -> Response {
    let now = SystemTime::now();
    let live = format!(
        "<section><h2>{}</h2>{}</section>",
        both("令牌时间线", "Token timeline"),
        timeline::render(
            "ac token timeline",
            &console.common.journal.lives(Platform::Ac),
            now
        )
    );
    page::html_response(
        StatusCode::OK,
        page::render(console.listen, super::AC_PATH, "ac", "", &live),
    )
}

/// `POST /_sandbox/console/ac/revoke`.
pub(super) async fn revoke(State(_console): State<Console>, _body: Bytes) -> Response {
    todo_page()
}

/// `POST /_sandbox/console/ac/suspend`.
pub(super) async fn suspend(State(_console): State<Console>, _body: Bytes) -> Response {
    todo_page()
}

/// `POST /_sandbox/console/ac/resume`.
pub(super) async fn resume(State(_console): State<Console>, _body: Bytes) -> Response {
    todo_page()
}

fn todo_page() -> Response {
    axum::response::IntoResponse::into_response(StatusCode::NOT_IMPLEMENTED)
}
