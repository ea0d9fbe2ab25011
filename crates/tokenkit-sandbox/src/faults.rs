//! Counting and fault injection for platform routes: added latency, an error rate
//! (an HTML 503 page, as a real gateway would send) and dropped connections (the
//! request is handled, then the connection is cut before the answer is complete, so
//! the client cannot know whether the request took effect).

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
    /// Fraction of requests whose connection is cut after they were handled, before the
    /// answer is complete.
    pub drop_rate: f64,
    /// Latency added before every platform response.
    pub latency: Duration,
}

/// The stats name a wrapped route is counted under.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    /// `"<platform>.<last path segment>"`: the rule of most routes.
    LastSegment(&'static str),
    /// This exact name, for a route whose last segment would collide with another
    /// route's (the ac access-key login ends in `tokens` like the password login).
    Named(&'static str),
}

impl Counter {
    fn name(self, path: &str) -> String {
        match self {
            Self::LastSegment(platform) => {
                let route = path.rsplit('/').next().unwrap_or_default();
                format!("{platform}.{route}")
            }
            Self::Named(name) => name.to_owned(),
        }
    }
}

pub(crate) fn wrap(common: Common, counter: Counter, router: Router) -> Router {
    router.layer(middleware::from_fn_with_state((common, counter), inject))
}

async fn inject(
    State((common, counter)): State<(Common, Counter)>,
    request: Request,
    next: Next,
) -> Response {
    common.stats.hit(&counter.name(request.uri().path()));
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;

    use super::*;
    use crate::Stats;

    async fn serve(faults: Faults) -> (String, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        let common = Common {
            stats: Arc::clone(&stats),
            faults,
            jwt_key: Arc::from(&b"k"[..]),
        };
        let platform = common.platform_routes(
            "demo",
            Router::new().route("/demo/api/ping", get(|| async { "{\"code\":0}" })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, platform).await.expect("serve") });
        (url, stats)
    }

    #[tokio::test]
    async fn a_named_route_is_counted_under_its_name() {
        let stats = Arc::new(Stats::default());
        let common = Common {
            stats: Arc::clone(&stats),
            faults: Faults::default(),
            jwt_key: Arc::from(&b"k"[..]),
        };
        let app = common
            .platform_routes(
                "demo",
                Router::new().route("/demo/a/tokens", get(|| async { "a" })),
            )
            .merge(common.named_platform_routes(
                "demo.other_tokens",
                Router::new().route("/demo/b/tokens", get(|| async { "b" })),
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        for path in ["/demo/a/tokens", "/demo/b/tokens", "/demo/b/tokens"] {
            reqwest::get(format!("{url}{path}")).await.expect("get");
        }
        assert_eq!(stats.get("demo.tokens"), 1);
        assert_eq!(stats.get("demo.other_tokens"), 2);
    }

    #[tokio::test]
    async fn requests_are_counted_per_platform_route() {
        let (url, stats) = serve(Faults::default()).await;
        for _ in 0..3 {
            let body = reqwest::get(format!("{url}/demo/api/ping"))
                .await
                .expect("get")
                .text()
                .await
                .expect("body");
            assert_eq!(body, "{\"code\":0}");
        }
        assert_eq!(stats.get("demo.ping"), 3);
        assert_eq!(stats.snapshot()["requests"]["demo.ping"], 3);
    }

    #[tokio::test]
    async fn fail_rate_answers_an_html_503() {
        let (url, stats) = serve(Faults {
            fail_rate: 1.0,
            ..Faults::default()
        })
        .await;
        let response = reqwest::get(format!("{url}/demo/api/ping"))
            .await
            .expect("get");
        assert_eq!(response.status(), 503);
        assert!(response.text().await.expect("body").contains("<html>"));
        assert_eq!(stats.get("demo.ping"), 1, "failed requests are counted too");
    }

    #[tokio::test]
    async fn drop_rate_cuts_the_connection_after_the_request_was_handled() {
        let (url, stats) = serve(Faults {
            drop_rate: 1.0,
            ..Faults::default()
        })
        .await;
        let outcome = match reqwest::get(format!("{url}/demo/api/ping")).await {
            Ok(response) => response.text().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = outcome.expect_err("no complete answer");
        assert!(!err.is_connect(), "the request reached the server: {err:?}");
        assert_eq!(stats.get("demo.ping"), 1);
    }

    #[tokio::test]
    async fn latency_is_added() {
        let (url, _) = serve(Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        })
        .await;
        let started = std::time::Instant::now();
        reqwest::get(format!("{url}/demo/api/ping"))
            .await
            .expect("get");
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
