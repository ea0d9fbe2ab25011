//! The bo page (being built).

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both};
use super::{Console, timeline};
use crate::journal::Platform;

/// `GET /_sandbox/console/bo`.
pub(super) async fn page(State(console): State<Console>) -> Response {
    let now = SystemTime::now();
    let live = format!(
        "<section><h2>{}</h2>{}</section>",
        both("令牌时间线", "Token timeline"),
        timeline::render(
            "bo token timeline",
            &console.common.journal.lives(Platform::Bo),
            now
        )
    );
    page::html_response(
        StatusCode::OK,
        page::render(console.listen, super::BO_PATH, "bo", "", &live),
    )
}

/// `POST /_sandbox/console/bo/revoke`.
pub(super) async fn revoke(State(_console): State<Console>, _body: Bytes) -> Response {
    axum::response::IntoResponse::into_response(StatusCode::NOT_IMPLEMENTED)
}
