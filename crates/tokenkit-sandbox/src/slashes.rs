//! Doubled leading slashes (PROTOCOLS.md §2.7): the platforms' front ends serve
//! `//ac/openapi/...` like `/ac/openapi/...`, and one public Go SDK always sends the
//! former, so the sandbox does too, on every route of every platform and of
//! `/_sandbox/`.
//!
//! The rewrite has to happen before routing, and `Router::layer` middleware runs after
//! a route was matched; so the assembled app becomes the fallback service of an outer
//! router whose only job is this rewrite. Counters and faults then see the collapsed
//! path, so `//ac/openapi/v2/tokens` is counted as `ac.tokens`.

use axum::Router;
use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use axum::middleware::map_request;

/// `app`, serving any path that starts with several slashes as the path with one.
pub(crate) fn tolerate_doubled_slashes(app: Router) -> Router {
    Router::new()
        .fallback_service(app)
        .layer(map_request(collapse_request))
}

async fn collapse_request(mut request: Request) -> Request {
    if let Some(uri) = collapsed(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
}

/// The URI with its leading run of slashes collapsed to one, or `None` when there is
/// nothing to collapse. Only the leading run: `/a//b` is another path, and the query
/// string is kept byte for byte (tokens in it are percent-encoded exactly once).
fn collapsed(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if !path.starts_with("//") {
        return None;
    }
    let rest = path.trim_start_matches('/');
    let rebuilt = match uri.query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(rebuilt).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn status(app: Router, path: &str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}{path}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        reqwest::get(url).await.expect("answers").status().as_u16()
    }

    #[tokio::test]
    async fn the_rewrite_runs_before_routing() {
        let app = || Router::new().route("/x", axum::routing::get(|| async { "x" }));
        // The client really sends `//x`, and plain routing does not match it...
        assert_eq!(status(app(), "//x?q=1").await, 404);
        // ...so it is the wrapper that makes it match.
        assert_eq!(
            status(tolerate_doubled_slashes(app()), "//x?q=1").await,
            200
        );
        assert_eq!(status(tolerate_doubled_slashes(app()), "/x").await, 200);
        assert_eq!(status(tolerate_doubled_slashes(app()), "/y").await, 404);
    }

    fn collapse(s: &str) -> Option<String> {
        collapsed(&s.parse().expect("a URI")).map(|u| u.to_string())
    }

    #[test]
    fn only_the_leading_run_of_slashes_is_collapsed() {
        assert_eq!(
            collapse("//ac/openapi/v2/center?x=1").as_deref(),
            Some("/ac/openapi/v2/center?x=1")
        );
        assert_eq!(
            collapse("///_sandbox/stats").as_deref(),
            Some("/_sandbox/stats")
        );
        assert_eq!(collapse("//").as_deref(), Some("/"));
        assert_eq!(
            collapse("//a//b?t=a%2Bb%3D&u=%2F%2F").as_deref(),
            Some("/a//b?t=a%2Bb%3D&u=%2F%2F")
        );
        assert_eq!(collapse("/ac//openapi"), None);
        assert_eq!(collapse("/"), None);
        assert_eq!(
            collapse("http://h:1//x?q").as_deref(),
            Some("http://h:1/x?q"),
            "an absolute-form target keeps its authority"
        );
    }
}
