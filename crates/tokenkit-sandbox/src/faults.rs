//! Counting and fault injection for platform routes: added latency, an error rate
//! (an HTML 503 page, as a real gateway would send) and dropped connections (the
//! response head is sent, then the connection is cut, so the client cannot know
//! whether the request took effect).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::Common;

/// Faults injected on platform routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Fraction of requests answered with an HTML 503 page (0.0–1.0).
    pub fail_rate: f64,
    /// Fraction of requests whose connection is cut after the response head.
    pub drop_rate: f64,
    /// Latency added before every platform response.
    pub latency: Duration,
}

pub(crate) fn wrap(common: Common, platform: &'static str, router: Router) -> Router {
    router.layer(middleware::from_fn_with_state((common, platform), inject))
}

async fn inject(
    State((common, platform)): State<(Common, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    common.stats.hit(&format!("{platform}.{route}"));
    let faults = &common.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.fail_rate > 0.0 && fastrand::f64() < faults.fail_rate {
        let page = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/html")],
            page,
        )
            .into_response();
    }
    let response = next.run(request).await;
    if faults.drop_rate > 0.0 && fastrand::f64() < faults.drop_rate {
        let broken = futures_util::stream::once(async {
            Err::<axum::body::Bytes, _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "sandbox: dropped",
            ))
        });
        let (parts, _) = response.into_parts();
        let mut parts = parts;
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from_stream(broken));
    }
    response
}
