//! The deterministic "timed out after storing" fault of `data_upload`, armed by
//! `POST /_sandbox/ilab/stall` with `{"uploads": N, "ms": M}`.
//!
//! The next N uploads that pass every check are stored, and only then is their answer
//! held back M ms: a client whose timeout is shorter gives up although the record was
//! stored, which is the case §1.4's `originId` exists for (the retry must replace the
//! record, not add a second one). The random `drop_rate` fault can show the same, but a
//! test needs it to happen exactly when it says so.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Ilab;

/// How many of the next stored uploads are answered late, and how late.
#[derive(Debug, Default)]
pub(crate) struct Stall {
    uploads: u32,
    delay: Duration,
}

impl Stall {
    /// Arms the fault for the next `uploads` stored uploads (0 disarms it); replaces
    /// an earlier arming.
    fn arm(&mut self, uploads: u32, delay: Duration) {
        *self = Self { uploads, delay };
    }

    /// The delay owed to the upload just stored, if the fault is armed; spends one.
    pub(crate) fn take(&mut self) -> Option<Duration> {
        self.uploads = self.uploads.checked_sub(1)?;
        Some(self.delay)
    }
}

/// The body of `POST /_sandbox/ilab/stall`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StallRequest {
    uploads: u32,
    ms: u64,
}

/// `POST /_sandbox/ilab/stall`: `{"armed": N}`, or HTTP 400 unless the body is
/// `{"uploads": <u32>, "ms": <u64>}`.
pub(crate) async fn arm(State(ilab): State<Ilab>, body: Bytes) -> Response {
    // Raw bytes, like the revoke routes: a malformed body is a 400 of ours, not a
    // 415/422 of axum's.
    let Ok(request) = serde_json::from_slice::<StallRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "the body must be {\"uploads\": <count>, \"ms\": <delay in ms>}"
            })),
        )
            .into_response();
    };
    ilab.lock()
        .stall
        .arm(request.uploads, Duration::from_millis(request.ms));
    Json(json!({ "armed": request.uploads })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_stall_delays_exactly_n_uploads() {
        let mut stall = Stall::default();
        assert_eq!(stall.take(), None);
        stall.arm(2, Duration::from_millis(5));
        assert_eq!(stall.take(), Some(Duration::from_millis(5)));
        assert_eq!(stall.take(), Some(Duration::from_millis(5)));
        assert_eq!(stall.take(), None);
        stall.arm(3, Duration::from_millis(1));
        stall.arm(0, Duration::from_millis(1));
        assert_eq!(stall.take(), None, "0 disarms");
    }
}
