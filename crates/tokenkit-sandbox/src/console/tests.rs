//! The console over real sockets: every page checked as HTML (`html_check.rs`) with
//! sentinel secrets configured and tokens of every platform live, the guard, the
//! faults form and the requests page.

use std::time::Duration;

use serde_json::Value;

use super::html_check::check_page;
use super::{AC_PATH, BO_PATH, ILAB_PATH, OVERVIEW_PATH, REQUESTS_PATH};
use crate::ilab::IlabConfig;
use crate::{Faults, Sandbox, SandboxConfig};

pub(crate) const PAGES: [&str; 5] = [OVERVIEW_PATH, ILAB_PATH, AC_PATH, BO_PATH, REQUESTS_PATH];

pub(crate) const ILAB_SECRET: &str = "SENTINEL-ILAB-SECRET-0123456789";
pub(crate) const AC_PASSWORD: &str = "SENTINEL-AC-PASSWORD-0123456789";
pub(crate) const AC_SECRET_KEY: &str = "SENTINEL-AC-SECRETKEY-0123456789";
pub(crate) const BO_DES_KEY: &str = "S3NT1NEL";

/// A sandbox whose every secret is a sentinel, with a launch URL.
pub(crate) async fn sentinel_sandbox() -> Sandbox {
    let mut config = SandboxConfig {
        ilab: IlabConfig {
            secret: ILAB_SECRET.to_owned(),
            launch_url: Some("http://127.0.0.1:9/launch".to_owned()),
            ..IlabConfig::default()
        },
        ..SandboxConfig::default()
    };
    config.ac.users[0].password = AC_PASSWORD.to_owned();
    config.ac.access_keys[0].secret_key = AC_SECRET_KEY.to_owned();
    config.bo.des_key = BO_DES_KEY.to_owned();
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A client that shows redirects instead of following them.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

pub(crate) async fn get_page(sandbox: &Sandbox, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path}", sandbox.base_url()))
        .send()
        .await
        .expect("the console answers");
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
    }
    let bytes = response.bytes().await.expect("a body");
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    (status, text)
}

/// POSTs a form to the console: (status, `Location`).
pub(crate) async fn post_form(
    sandbox: &Sandbox,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Option<String>) {
    let response = client()
        .post(format!("{}{path}", sandbox.base_url()))
        .form(fields)
        .send()
        .await
        .expect("the console answers");
    let (status, location, _) = answer_of(response).await;
    (status, location)
}

/// What an action answered: (status, `Location`, body).
pub(crate) async fn answer_of(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("an ASCII Location").to_owned());
    (
        status,
        location,
        response.text().await.expect("a UTF-8 body"),
    )
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
}

/// The ticket of the address a launch redirected to, decoded once.
pub(crate) fn ticket_of(location: &str) -> String {
    let encoded = location
        .split_once("ticket=")
        .map(|(_, t)| t)
        .expect("a ticket in the launch address");
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .expect("UTF-8")
        .into_owned()
}

fn ilab_sign(value: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(format!("{value}{}{ILAB_SECRET}", crate::ilab::DEFAULT_APPID).as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Gives every platform live tokens (ilab through the console's launch), and answers
/// every token, ticket and secret the sandbox now holds.
async fn activity(sandbox: &Sandbox) -> Vec<String> {
    let base = sandbox.base_url();
    let mut secrets = vec![
        ILAB_SECRET.to_owned(),
        AC_PASSWORD.to_owned(),
        AC_SECRET_KEY.to_owned(),
        BO_DES_KEY.to_owned(),
    ];
    let (_, location) = post_form(
        sandbox,
        "/_sandbox/console/ilab/launch",
        &[("un", "zhangsan")],
    )
    .await;
    let ticket = ticket_of(&location.expect("a launch address"));
    let appid = crate::ilab::DEFAULT_APPID;
    let exchanged = json(
        client()
            .get(format!("{base}/oauth/token/accesstoken"))
            .query(&[
                ("ticket", ticket.as_str()),
                ("appid", appid),
                ("signature", &ilab_sign(&ticket)),
            ])
            .send()
            .await
            .expect("exchange"),
    )
    .await;
    assert_eq!(exchanged["code"], 0, "{exchanged}");
    let refresh_token = exchanged["refresh_token"]
        .as_str()
        .expect("a refresh token");
    let refreshed = json(
        client()
            .get(format!("{base}/oauth/token/refreshtoken"))
            .query(&[
                ("refresh_token", refresh_token),
                ("appid", appid),
                ("signature", &ilab_sign(refresh_token)),
            ])
            .send()
            .await
            .expect("refresh"),
    )
    .await;
    assert_eq!(refreshed["code"], 0, "{refreshed}");
    for answer in [&exchanged, &refreshed] {
        for field in ["access_token", "refresh_token"] {
            secrets.push(answer[field].as_str().expect("a token").to_owned());
        }
    }
    secrets.push(ticket);
    let login = json(
        client()
            .post(format!("{base}/ac/openapi/v2/tokens"))
            .header("user", "demo")
            .header("password", AC_PASSWORD)
            .header("orgId", "demo-org")
            .send()
            .await
            .expect("ac login"),
    )
    .await;
    for region in login["data"].as_array().expect("regions") {
        secrets.push(region["token"].as_str().expect("a token").to_owned());
    }
    // Every state a row can be in: a renewed token, a suspended account (its resume
    // button), a revoked ilab token.
    let region_token = secrets.last().cloned().expect("the region's token");
    let renewed = json(
        client()
            .post(format!("{base}/ac/openapi/v2/tokens/next"))
            .header("token", region_token)
            .send()
            .await
            .expect("ac renewal"),
    )
    .await;
    secrets.push(renewed["data"].as_str().expect("a new token").to_owned());
    let (status, _) = post_form(
        sandbox,
        "/_sandbox/console/ac/suspend",
        &[("user", "demo"), ("cluster", "0")],
    )
    .await;
    assert_eq!(status, 303);
    let revoked = json(
        client()
            .post(format!("{base}{}", crate::ilab::REVOKE_PATH))
            .body(serde_json::json!({"token": refreshed["access_token"]}).to_string())
            .send()
            .await
            .expect("ilab revoke"),
    )
    .await;
    assert_eq!(revoked["revoked"], true);
    for user in ["ptdev", "revoked-user"] {
        let session = json(
            client()
                .post(format!("{base}{}", crate::bo::SESSIONS_PATH))
                .header("content-type", "application/json")
                .body(serde_json::json!({"userId": user}).to_string())
                .send()
                .await
                .expect("bo session"),
        )
        .await;
        for field in ["accessToken", "refreshToken"] {
            secrets.push(session[field].as_str().expect("a token").to_owned());
        }
    }
    let (status, _) = post_form(sandbox, "/_sandbox/console/bo/revoke", &[("session", "2")]).await;
    assert_eq!(status, 303);
    secrets
}

#[tokio::test]
async fn every_page_is_well_formed_labelled_and_masks_every_secret() {
    let sandbox = sentinel_sandbox().await;
    let secrets = activity(&sandbox).await;
    for path in PAGES {
        let (status, html) = get_page(&sandbox, path).await;
        assert_eq!(status, 200, "{path}");
        check_page(path, &html, &secrets);
        for (other, _, _) in super::page::PAGES {
            assert!(
                html.contains(&format!("href=\"{other}\"")),
                "{path} links {other}"
            );
        }
        assert!(html.contains("127.0.0.1"), "{path} says where it answers");
    }
    // A page with a notice is the same page.
    let (_, html) = get_page(&sandbox, &format!("{OVERVIEW_PATH}?notice=faults")).await;
    let document = check_page("overview with a notice", &html, &secrets);
    assert_eq!(
        document
            .select(&scraper::Selector::parse("p.notice").expect("selector"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_notice_is_one_of_ours_never_the_request_s_text() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("starts");
    let (_, html) = get_page(
        &sandbox,
        "/_sandbox/?notice=%3Cscript%3Ealert(1)%3C/script%3E",
    )
    .await;
    assert!(!html.contains("alert(1)"));
    assert!(!html.contains("class=\"notice\""));
}

#[tokio::test]
async fn the_console_answers_only_on_its_address_and_takes_actions_only_from_itself() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("starts");
    let url = format!("{}{OVERVIEW_PATH}", sandbox.base_url());
    let port = sandbox.addr().port();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let response = client()
            .get(&url)
            .header("host", host.as_str())
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 421, "{host}");
    }
    let localhost = client()
        .get(&url)
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(localhost.status(), 200);
    // Another site's page cannot press the console's buttons.
    let response = client()
        .post(format!("{}/_sandbox/console/faults", sandbox.base_url()))
        .header("origin", "http://evil.example")
        .form(&[("fail_rate", "1")])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 403);
    assert_eq!(sandbox.faults(), Faults::default(), "nothing changed");
    // The platform routes are not the console's: any Host reaches them.
    let platform = client()
        .get(format!("{}/ac/openapi/v2/tokens/state", sandbox.base_url()))
        .header("host", "ac.example")
        .send()
        .await
        .expect("answers");
    assert_eq!(platform.status(), 200);
}

#[tokio::test]
async fn the_faults_form_changes_the_next_request_and_the_log_shows_it() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("starts");
    let state = format!("{}/ac/openapi/v2/tokens/state", sandbox.base_url());
    let (status, location) = post_form(
        &sandbox,
        "/_sandbox/console/faults",
        &[("fail_rate", "1"), ("drop_rate", "0"), ("latency_ms", "0")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/_sandbox/?notice=faults"))
    );
    assert_eq!(sandbox.faults().fail_rate, 1.0);
    let failed = client().get(&state).send().await.expect("answers");
    assert_eq!(failed.status(), 503);
    let (_, overview) = get_page(&sandbox, OVERVIEW_PATH).await;
    assert!(
        overview.contains("value=\"1\""),
        "the form shows the rate in force"
    );
    post_form(&sandbox, "/_sandbox/console/faults", &[("fail_rate", "0")]).await;
    let healed = client()
        .get(&state)
        .header("token", "not-a-token-at-all-123456")
        .send()
        .await
        .expect("answers");
    assert_eq!(healed.status(), 200);
    // Newest first: the coded refusal, then the injected 503.
    let (_, page) = get_page(&sandbox, REQUESTS_PATH).await;
    let document = scraper::Html::parse_document(&page);
    let rows: Vec<String> = document
        .select(&scraper::Selector::parse("tr.request").expect("selector"))
        .map(|r| r.text().collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains("/ac/openapi/v2/tokens/state") && rows[0].contains("10004"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("token=not-…3456"), "masked: {}", rows[0]);
    assert!(
        rows[1].contains("503") && rows[1].contains("injected 503"),
        "{}",
        rows[1]
    );
    assert!(!page.contains("not-a-token-at-all-123456"));
}

#[tokio::test]
async fn bad_fault_settings_are_refused_and_change_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("starts");
    for fields in [
        vec![("fail_rate", "2")],
        vec![("drop_rate", "-0.5")],
        vec![("fail_rate", "NaN")],
        vec![("fail_rate", "lots")],
        vec![("latency_ms", "600001")],
        vec![("latency_ms", "1.5")],
    ] {
        let (status, _) = post_form(&sandbox, "/_sandbox/console/faults", &fields).await;
        assert_eq!(status, 400, "{fields:?}");
    }
    assert_eq!(sandbox.faults(), Faults::default());
    // Latency up to the cap is taken.
    let (status, _) = post_form(&sandbox, "/_sandbox/console/faults", &[("latency_ms", "5")]).await;
    assert_eq!(status, 303);
    assert_eq!(sandbox.faults().latency, Duration::from_millis(5));
}

#[tokio::test]
async fn the_console_is_not_platform_traffic() {
    let sandbox = Sandbox::start(SandboxConfig {
        faults: Faults {
            fail_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("starts");
    for path in PAGES {
        let (status, _) = get_page(&sandbox, path).await;
        assert_eq!(status, 200, "{path}: never fault-injected");
    }
    assert_eq!(
        sandbox.stats().snapshot()["requests"],
        serde_json::json!({})
    );
}
