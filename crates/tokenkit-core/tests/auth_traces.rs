//! No token of an authenticated call reaches the traces or the error. A binary of its
//! own: tracing caches a call site's interest process-wide, so a test on another thread
//! without a subscriber could hide this thread's events.

#![allow(clippy::expect_used)]

#[path = "support/auth.rs"]
mod fixtures;
#[path = "support/traces.rs"]
mod traces;

use fixtures::{Counting, Query, client, setup};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn secrets_stay_out_of_traces_and_errors() {
    let traces = traces::Traces::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let text = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"code":2,"msg":"bad access_token=SENTINEL-tok-1%2B%2F%3D SENTINEL-tok-2+/="}"#,
            ))
            .mount(&server)
            .await;
        let (_, cache) = setup(Counting {
            suffix: "+/=",
            ..Counting::default()
        });
        let calls = client(Query, &cache);
        let error = calls
            .send(calls.get(format!("{}/x", server.uri())))
            .await
            .expect_err("refused twice");
        format!("{error} {error:?}")
    });
    let logged = traces.text();
    assert!(logged.contains("refused the token"), "{logged}");
    for text in [&text, &logged] {
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}
