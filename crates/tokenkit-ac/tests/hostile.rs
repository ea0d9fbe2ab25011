//! ac against a stand-in that misbehaves (issue "hostile and faulty platforms"): a
//! `Date` decades off, and a renewal whose answer never arrives.

mod common;

use std::time::{Duration, SystemTime};

use common::{catch_all, client, refusal, regions, success};
use tokenkit_ac::{AcProvider, ClusterSelector};
use tokenkit_core::TokenCache;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const LOGIN: &str = "/ac/openapi/v2/tokens";
const NEXT: &str = "/ac/openapi/v2/tokens/next";
const HOUR: Duration = Duration::from_secs(3600);

/// Defect: ac measured `expireTime` only against `Date`, so a `Date` of 1994 made a
/// one-hour token valid for ~32 years (in memory, and in every store). A `Date` that
/// far from the local clock is discarded; the token lives its hour.
#[tokio::test]
async fn a_date_of_1994_does_not_make_a_one_hour_token_live_for_decades() {
    let server = MockServer::start().await;
    let date_1994 = SystemTime::UNIX_EPOCH + Duration::from_secs(760_000_000);
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(
            success(regions(HOUR))
                .insert_header("date", httpdate::fmt_http_date(date_1994).as_str()),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let login = client(&server).login().await.expect("login");
    let token = login
        .token_for(&ClusterSelector::id("11112"))
        .expect("token");
    let lifetime = token.expiry().lifetime();
    assert!(
        lifetime <= HOUR && lifetime > HOUR - Duration::from_secs(60),
        "{lifetime:?}"
    );
}

/// Defect: a renewal replaces the token renewed; when its answer was lost, the cache
/// kept serving the old token, which the platform may have revoked. Now the token is
/// suspect: not served, renewed again (refused: it was replaced), and replaced by a
/// login.
#[tokio::test]
async fn after_a_lost_renewal_the_old_token_is_not_served_again() {
    let server = MockServer::start().await;
    // The first login gives the token the renewal will lose; the second a new one.
    let first = regions(HOUR);
    let old = first[1]["token"].as_str().expect("token").to_owned();
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(success(first))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(success(regions(2 * HOUR)))
        .mount(&server)
        .await;
    // The renewal is handled, but its answer comes after the client gave up; the
    // platform has replaced the old token, so renewing it again is refused.
    Mock::given(method("POST"))
        .and(path(NEXT))
        .respond_with(success(serde_json::json!("lost")).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(NEXT))
        .respond_with(refusal("10008".into(), "token已失效"))
        .mount(&server)
        .await;
    catch_all(&server).await;

    let cache = TokenCache::new(AcProvider::new(
        client(&server),
        ClusterSelector::id("11112"),
    ));
    let served = cache.token().await.expect("logged in").to_owned_token();
    assert_eq!(served.access_token().expose_secret(), old);
    let err = cache.invalidate(&served).await.expect_err("renewal lost");
    assert!(err.is_outcome_unknown(), "{err:?}");

    // Not served while suspect: the failure is shared until the (short) backoff ends,
    // then the token is renewed (refused) and replaced by a login.
    if let Ok(token) = cache.token().await {
        assert_ne!(
            token.access_token().expose_secret(),
            old,
            "suspect token served"
        );
    }
    let mut replaced = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match cache.token().await {
            Ok(token) => {
                replaced = Some(token.to_owned_token());
                break;
            }
            Err(e) => assert!(e.is_outcome_unknown(), "{e:?}"),
        }
    }
    let replaced = replaced.expect("a new token within the backoff");
    assert_ne!(replaced.access_token().expose_secret(), old);
    let logins = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == LOGIN)
        .count();
    assert_eq!(logins, 2, "the refused renewal fell back to one login");
}
