//! Authenticated calls of all three platforms against the sandbox: a token the
//! platform revoked is refused in the platform's shape, renewed once and the call
//! succeeds; a thousand concurrent calls on a revoked token make one renewal; a renewal
//! racing calls in flight loses none of them.
#![cfg(feature = "full")]
#![allow(clippy::expect_used)]

#[path = "support/platforms.rs"]
mod platforms;

use std::sync::Arc;
use std::time::Duration;

use platforms::{ALL, Platform, setup};
use serde_json::Value;
use tokenkit::core::auth::AuthMiddleware;
use tokenkit::sandbox::Faults;

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_call_succeeds() {
    for platform in ALL {
        let setup = setup(platform, Faults::default()).await;
        setup.call(&setup.calls, 0).await.expect("first call");
        let before = setup.token_calls();
        let revoked = setup.revoke_current().await;
        setup.call(&setup.calls, 1).await.expect("recovered");
        assert_eq!(
            setup.token_calls(),
            before + setup.recovery_calls(),
            "{platform:?}: one renewal"
        );
        assert_eq!(
            setup.protected_calls(),
            3,
            "{platform:?}: refused once, repeated once"
        );
        let now = setup.cache.token().await.expect("token");
        assert_ne!(now.access_token().expose_secret(), revoked, "{platform:?}");
    }
}

#[tokio::test]
async fn the_middleware_recovers_from_a_revoked_token_too() {
    for platform in ALL {
        let setup = setup(platform, Faults::default()).await;
        let scheme = setup.calls.scheme().clone();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(AuthMiddleware::with_scheme(
                scheme,
                Arc::clone(&setup.cache),
            ))
            .build();
        let url = match platform {
            Platform::Ac => "/ac/openapi/v2/center",
            Platform::Ilab => "/open/api/v2/data_upload",
            Platform::Bo => "/_sandbox/bo/whoami",
        };
        let url = format!("{}{url}", setup.sandbox.base_url());
        let send = || {
            let request = match platform {
                Platform::Ilab => client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(platforms::ilab_record("o").to_string()),
                _ => client.get(&url),
            };
            request.send()
        };
        let first = send().await.expect("first call");
        assert_eq!(first.status(), 200);
        let before = setup.token_calls();
        setup.revoke_current().await;
        let answer = send().await.expect("recovered");
        let body: Value =
            serde_json::from_slice(&answer.bytes().await.expect("body")).expect("JSON");
        assert!(setup.succeeded(200, &body), "{platform:?}: {body}");
        assert_eq!(
            setup.token_calls(),
            before + setup.recovery_calls(),
            "{platform:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_on_a_revoked_token_make_one_renewal() {
    for platform in ALL {
        let setup = Arc::new(setup(platform, Faults::default()).await);
        setup.call(&setup.calls, 0).await.expect("first call");
        let before = setup.token_calls();
        setup.revoke_current().await;
        let tasks: Vec<_> = (0..1000)
            .map(|n| {
                let setup = Arc::clone(&setup);
                tokio::spawn(async move { setup.call(&setup.calls, n + 1).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("every call succeeds");
        }
        assert_eq!(
            setup.token_calls(),
            before + setup.recovery_calls(),
            "{platform:?}: one renewal"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_racing_calls_in_flight_loses_none_of_them() {
    for platform in ALL {
        // Each call spends 100 ms in the platform's gateway before the token is checked,
        // so the renewal below replaces the token while the calls are on their way.
        let faults = Faults {
            latency: Duration::from_millis(100),
            ..Faults::default()
        };
        let setup = Arc::new(setup(platform, faults).await);
        setup.call(&setup.calls, 0).await.expect("first call");
        let before = setup.token_calls();
        let in_flight: Vec<_> = (0..200)
            .map(|n| {
                let setup = Arc::clone(&setup);
                tokio::spawn(async move { setup.call(&setup.calls, n + 1).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let current = setup.cache.token().await.expect("token").to_owned_token();
        setup.cache.invalidate(&current).await.expect("renewed");
        for call in in_flight {
            call.await.expect("task").expect("no call lost");
        }
        assert_eq!(
            setup.token_calls(),
            before + 1,
            "{platform:?}: the refusals of the replaced token cause no further renewal"
        );
    }
}

#[tokio::test]
async fn ilab_repeats_spend_refreshes_only_within_the_budget() {
    let setup = setup(Platform::Ilab, Faults::default()).await;
    setup.call(&setup.calls, 0).await.expect("first call");
    for n in 1..=2 {
        setup.revoke_current().await;
        setup
            .call(&setup.calls, n)
            .await
            .expect("recovered with a refresh");
        assert_eq!(setup.sandbox.stats().get("ilab.refreshtoken"), n as u64);
    }
    setup.revoke_current().await;
    let error = setup
        .call(&setup.calls, 3)
        .await
        .expect_err("the budget is spent");
    assert!(error.is_reauth_required(), "{error:?}");
    assert!(error.to_string().contains("relaunch"), "{error}");
    assert_eq!(
        setup.sandbox.stats().get("ilab.refreshtoken"),
        2,
        "never a third refresh"
    );
}
