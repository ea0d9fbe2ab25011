//! ilab against a stand-in that sends implausible answers (issue "hostile and faulty
//! platforms"): a `Date` years away, a token already expired, a lifetime of decades,
//! an `exp` in milliseconds. Each run of `ilab token` is a new cache over the same
//! FileStore, as the CLI makes one; the stand-in counts the refreshes spent.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use support::{APPID, client, server};
use tokenkit_core::civil::unix_millis;
use tokenkit_core::{Arrival, Expiry, FileStore, Grant, Token, TokenCache, TokenStore};
use tokenkit_ilab::IlabProvider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOUR: Duration = Duration::from_secs(3600);

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tokenkit-ilab-hostile-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ))
}

fn key() -> String {
    format!("ilab:{APPID}:u1")
}

/// A store holding an exchanged grant whose token just expired: the next `token()`
/// spends a refresh.
async fn expired_grant(dir: &PathBuf) {
    let store = FileStore::open(dir).expect("open");
    let token = Token::new("at-0", Expiry::after(Arrival::now(), Duration::ZERO))
        .with_refresh_token("rt-0")
        .with_grant(Grant {
            refresh_budget: Some(2),
            ..Grant::default()
        });
    store
        .compare_and_set(&key(), 0, &token)
        .await
        .expect("seed");
}

/// One run of `ilab token`: a new cache over the directory.
fn run(server: &MockServer, dir: &PathBuf) -> TokenCache {
    TokenCache::builder(IlabProvider::resume(client(server)))
        .store(Arc::new(FileStore::open(dir).expect("open")))
        .key(key())
        .build()
}

async fn mount_refresh(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn refreshes(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/oauth/token/refreshtoken")
        .count()
}

/// An unsigned JWT of `claims` (the client never verifies signatures).
fn jwt(claims: &Value) -> String {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln")
}

fn refreshed(fields: Value) -> Value {
    let mut body = json!({"code": 0, "msg": "ok", "access_token": "at-1", "un": "u1"});
    if let (Some(o), Some(extra)) = (body.as_object_mut(), fields.as_object()) {
        o.extend(extra.clone());
    }
    body
}

/// Defect: a refresh answered with a token that is already expired was cached; the
/// next run found it expired and spent the second refresh on the same bogus answer.
/// Two runs, the budget was gone. Now: one typed error that says why, the refresh stays
/// counted, and no run spends another.
#[tokio::test]
async fn a_token_expired_on_arrival_costs_one_refresh_whatever_the_runs() {
    let server = server().await;
    let now = SystemTime::now();
    mount_refresh(
        &server,
        ResponseTemplate::new(200).set_body_json(refreshed(json!({
            "create_time": unix_millis(now).to_string(),
            "expires_time": unix_millis(now - HOUR).to_string(),
        }))),
    )
    .await;
    let dir = temp_dir("expired");
    expired_grant(&dir).await;
    for attempt in 0..3 {
        let err = run(&server, &dir).token().await.expect_err("implausible");
        assert!(err.is_implausible(), "run {attempt}: {err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("ilab: implausible answer") && message.contains("already expired"),
            "run {attempt}: {message}"
        );
    }
    assert_eq!(refreshes(&server).await, 1, "one refresh for three runs");
    let stored = FileStore::open(&dir)
        .expect("open")
        .load(&key())
        .await
        .expect("load")
        .expect("kept");
    assert_eq!(stored.token.grant().refreshes_spent, 1);
    assert!(stored.token.grant().implausible);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Defect: a `Date` far in the future made a valid absolute expiry look past (every
/// run spent a refresh and served nothing). Beyond the bound it is discarded, and the
/// token's own expiry, on the local clock, decides.
#[tokio::test]
async fn a_date_decades_away_is_ignored_and_the_token_serves() {
    let server = server().await;
    let expires = SystemTime::now() + 2 * HOUR;
    let far_future = SystemTime::now() + Duration::from_secs(20 * 365 * 86_400);
    mount_refresh(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(refreshed(
                json!({"expires_time": unix_millis(expires).to_string()}),
            ))
            .insert_header("date", httpdate::fmt_http_date(far_future).as_str()),
    )
    .await;
    let dir = temp_dir("date");
    expired_grant(&dir).await;
    let token = run(&server, &dir).token().await.expect("served");
    assert_eq!(token.access_token().expose_secret(), "at-1");
    let lifetime = token.expiry().lifetime();
    assert!(
        lifetime > 2 * HOUR - Duration::from_secs(60) && lifetime <= 2 * HOUR,
        "{lifetime:?}"
    );
    // The next run serves it from the store.
    let again = run(&server, &dir).token().await.expect("served again");
    assert_eq!(again.access_token().expose_secret(), "at-1");
    assert_eq!(refreshes(&server).await, 1);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Defect: an `exp` sent in milliseconds was read as seconds (valid until the year
/// 58886), and a stated lifetime of decades was believed. The size of a timestamp says
/// its unit, and lifetimes are capped at the platform's plausible maximum.
#[tokio::test]
async fn an_exp_in_milliseconds_and_an_absurd_lifetime_are_not_believed() {
    let server = server().await;
    let exp_ms = unix_millis(SystemTime::now() + HOUR);
    let access = jwt(&json!({"exp": exp_ms, "un": "u1"}));
    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "access_token": access, "refresh_token": "rt", "un": "u1"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let token = client(&server)
        .exchange(&tokenkit_ilab::Ticket::new("t"))
        .await
        .expect("exchanged");
    // Measured against the `Date` header, whose resolution is a second.
    let lifetime = token.expiry().lifetime();
    assert!(
        lifetime > HOUR - Duration::from_secs(60) && lifetime <= HOUR + Duration::from_secs(1),
        "{lifetime:?}"
    );

    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "access_token": "at", "refresh_token": "rt", "un": "u1",
            "expires_in": 30 * 365 * 86_400_i64
        })))
        .mount(&server)
        .await;
    let token = client(&server)
        .exchange(&tokenkit_ilab::Ticket::new("t2"))
        .await
        .expect("exchanged");
    assert_eq!(token.expiry().lifetime(), tokenkit_ilab::MAX_LIFETIME);
}
