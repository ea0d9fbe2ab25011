//! No token of an authenticated call reaches the traces, on any platform. A binary of
//! its own: tracing caches a call site's interest process-wide, so a test on another
//! thread without a subscriber could hide this thread's events.
#![cfg(feature = "full")]
#![allow(clippy::expect_used)]

#[path = "support/platforms.rs"]
mod platforms;
#[path = "../crates/tokenkit-core/tests/support/traces.rs"]
mod traces;

use platforms::{ALL, setup};
use tokenkit::sandbox::Faults;

#[test]
fn no_token_reaches_the_traces() {
    let traces = traces::Traces::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seen = runtime.block_on(async {
        let mut seen = Vec::new();
        for platform in ALL {
            let setup = setup(platform, Faults::default()).await;
            setup.call(&setup.calls, 0).await.expect("first call");
            seen.push(setup.revoke_current().await);
            setup.call(&setup.calls, 1).await.expect("recovered");
            let now = setup.cache.token().await.expect("token");
            seen.push(now.access_token().expose_secret().to_owned());
        }
        seen
    });
    let logged = traces.text();
    assert!(logged.contains("refused the token"), "{logged}");
    for token in seen {
        assert!(!logged.contains(&token), "a token in the traces");
    }
}
