//! Counting, logging and fault injection for platform routes: added latency, an error
//! rate (an HTML 503 page, as a real gateway would send) and dropped connections (the
//! request is handled, then the connection is cut before the answer is complete, so
//! the client cannot know whether the request took effect).
//!
//! The settings live behind a [`FaultSwitch`], read once per request, so the console
//! (or [`Sandbox::set_faults`](crate::Sandbox::set_faults)) can change them while the
//! sandbox runs: the next request sees the new ones.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::Common;
use crate::requests::{self, Fault, RequestEntry};

/// The largest answer body whose platform `code` is read for the request log; the
/// platforms' answers are a few hundred bytes.
const MAX_LOGGED_BODY: usize = 64 * 1024;

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

impl Faults {
    /// The longest latency the sandbox adds (10 minutes): longer is a typo, and would
    /// hold connections past any client's patience.
    pub const MAX_LATENCY: Duration = Duration::from_secs(600);

    /// `Ok` when every setting is in range (rates in 0.0–1.0, latency at most
    /// [`MAX_LATENCY`](Self::MAX_LATENCY)), else what is wrong.
    ///
    /// ```
    /// use tokenkit_sandbox::Faults;
    /// assert!(Faults { fail_rate: 0.5, ..Faults::default() }.check().is_ok());
    /// assert!(Faults { drop_rate: 1.5, ..Faults::default() }.check().is_err());
    /// assert!(Faults { fail_rate: f64::NAN, ..Faults::default() }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), String> {
        for (name, rate) in [("fail_rate", self.fail_rate), ("drop_rate", self.drop_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, not {rate}"));
            }
        }
        if self.latency > Self::MAX_LATENCY {
            return Err(format!(
                "latency must be at most {} ms, not {} ms",
                Self::MAX_LATENCY.as_millis(),
                self.latency.as_millis()
            ));
        }
        Ok(())
    }
}

/// The fault settings in force, shared by every platform route and the console.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch {
    current: Arc<Mutex<Faults>>,
}

impl FaultSwitch {
    /// A switch set to `faults`.
    pub fn new(faults: Faults) -> Self {
        Self {
            current: Arc::new(Mutex::new(faults)),
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Faults {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `faults` in force for the next request, if [`Faults::check`] accepts them.
    pub fn set(&self, faults: Faults) -> Result<(), String> {
        faults.check()?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        Ok(())
    }
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
    let started = Instant::now();
    let mut entry = RequestEntry {
        at: SystemTime::now(),
        method: request.method().to_string(),
        route: requests::route(request.uri().path()),
        credentials: requests::credentials(request.uri(), request.headers()),
        status: 0,
        code: None,
        message: None,
        latency: Duration::ZERO,
        fault: None,
    };
    common.stats.hit(&counter.name(request.uri().path()));
    let (response, fault, (code, message)) = answer(&common, request, next).await;
    entry.status = response.status().as_u16();
    entry.code = code;
    entry.message = message;
    entry.latency = started.elapsed();
    entry.fault = fault;
    common.requests.push(entry);
    response
}

/// The answer to a platform request with the faults in force injected, the fault, and
/// the platform's code (of the handled answer, also when its connection is then cut).
async fn answer(common: &Common, request: Request, next: Next) -> (Response, Option<Fault>, Said) {
    // Read once: a change from the console applies to the next request, whole.
    let faults = common.faults.get();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.fail_rate > 0.0 && fastrand::f64() < faults.fail_rate {
        let page = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>";
        let response = (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/html")],
            page,
        )
            .into_response();
        return (response, Some(Fault::Failed), (None, None));
    }
    let (response, code) = with_code(next.run(request).await).await;
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
        return (
            Response::from_parts(parts, Body::from_stream(broken)),
            Some(Fault::Dropped),
            code,
        );
    }
    (response, None, code)
}

/// The platform's code and message in an answer, as far as they are known.
type Said = (Option<String>, Option<String>);

/// The answer, and the platform code and message its body holds. Only a body whose
/// whole length is known and small is read (every platform answer is); any other is
/// passed on untouched, code unknown, so logging never changes what a client receives.
async fn with_code(response: Response) -> (Response, Said) {
    let small = hyper::body::Body::size_hint(response.body())
        .exact()
        .is_some_and(|n| n <= MAX_LOGGED_BODY as u64);
    if !small {
        return (response, (None, None));
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_LOGGED_BODY).await {
        Ok(bytes) => {
            let code = requests::code_of(&bytes);
            (Response::from_parts(parts, Body::from(bytes)), code)
        }
        // A full body of known length that fails to read is a broken handler; the
        // client gets an empty answer with its status, as it would have anyway.
        Err(_) => (Response::from_parts(parts, Body::empty()), (None, None)),
    }
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
        let common = Common::new(Arc::clone(&stats), faults, b"k");
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
        let common = Common::new(Arc::clone(&stats), Faults::default(), b"k");
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
