//! The ilab page and the launch over real sockets: "我要做实验" sends the browser to
//! the experiment with a ticket encoded once, and the session, its refreshes spent and
//! its records show as the experiment uses the platform.

use scraper::{Html, Selector};
use serde_json::Value;

use super::ILAB_PATH;
use super::tests::{get_page, post_form, ticket_of};
use crate::ilab::IlabConfig;
use crate::ilab::tests::{exchange, record, refresh, revoke, upload};
use crate::{Sandbox, SandboxConfig};

async fn start(launch_url: Option<&str>) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: IlabConfig {
            launch_url: launch_url.map(str::to_owned),
            ..IlabConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// The text of the first element matching `css` within the session row of `un`.
fn session_cell(html: &str, un: &str, css: &str) -> String {
    let document = Html::parse_document(html);
    let row = Selector::parse(&format!("tr.session[data-un=\"{un}\"] {css}")).expect("selector");
    document
        .select(&row)
        .next()
        .map(|cell| cell.text().collect::<String>())
        .unwrap_or_else(|| panic!("no {css} in the session row of {un}"))
}

async fn launch(sandbox: &Sandbox, un: &str) -> String {
    let (status, location) =
        post_form(sandbox, "/_sandbox/console/ilab/launch", &[("un", un)]).await;
    assert_eq!(status, 303);
    location.expect("a launch address")
}

#[tokio::test]
async fn a_launch_sends_the_browser_to_the_experiment_with_a_ticket_encoded_once() {
    let sandbox = start(Some("http://127.0.0.1:9/launch")).await;
    let location = launch(&sandbox, "zhangsan").await;
    let encoded = location
        .strip_prefix("http://127.0.0.1:9/launch?ticket=")
        .expect("the launch URL with the ticket");
    assert!(
        encoded.contains("%2B") && encoded.contains("%2F") && encoded.contains("%3D"),
        "+, / and = are encoded: {encoded}"
    );
    assert!(
        !encoded.contains("%25"),
        "encoded once, not twice: {encoded}"
    );
    let answer = exchange(&sandbox, &ticket_of(&location)).await;
    assert_eq!(answer["code"], 0, "{answer}");
    assert_eq!(answer["un"], "zhangsan");
    assert_eq!(answer["dis"], "张三", "the test user's display name");
    // A launch URL with a query keeps it.
    let sandbox = start(Some("http://127.0.0.1:9/launch?lang=zh")).await;
    let location = launch(&sandbox, "lisi").await;
    assert!(
        location.starts_with("http://127.0.0.1:9/launch?lang=zh&ticket="),
        "{location}"
    );
}

#[tokio::test]
async fn the_session_shows_its_refreshes_spent_and_its_records() {
    let sandbox = start(Some("http://127.0.0.1:9/launch")).await;
    let (_, before) = get_page(&sandbox, ILAB_PATH).await;
    assert!(before.contains("class=\"launch\">我要做实验</button>"));
    assert!(before.contains("data-un=\"zhangsan\"") && before.contains("data-un=\"wangwu\""));
    let location = launch(&sandbox, "zhangsan").await;
    let answer = exchange(&sandbox, &ticket_of(&location)).await;
    let (_, page) = get_page(&sandbox, ILAB_PATH).await;
    assert_eq!(
        session_cell(&page, "zhangsan", "td.refreshes").trim(),
        "0 / 2"
    );
    assert!(session_cell(&page, "zhangsan", "td.records").contains("none"));
    let token = answer["access_token"].as_str().expect("a token");
    assert!(!page.contains(token), "the token is masked");

    let refreshed = refresh(&sandbox, answer["refresh_token"].as_str().expect("refresh")).await;
    assert_eq!(refreshed["code"], 0, "{refreshed}");
    let new_token = refreshed["access_token"].as_str().expect("a token");
    let stored = upload(&sandbox, new_token, &record("zhangsan", "r-1", 87)).await;
    assert_eq!(stored["code"], 0, "{stored}");
    let (_, page) = get_page(&sandbox, ILAB_PATH).await;
    assert_eq!(
        session_cell(&page, "zhangsan", "td.refreshes").trim(),
        "1 / 2"
    );
    let records = session_cell(&page, "zhangsan", "td.records");
    assert!(
        records.contains("score 87") && records.contains("实验操作 87/100"),
        "{records}"
    );
    assert!(session_cell(&page, "zhangsan", "td.token").contains("live"));

    // Revoked by an operator: the page says so; the timeline shows the refresh and the
    // revocation.
    assert_eq!(revoke(&sandbox, new_token).await["revoked"], true);
    let (_, page) = get_page(&sandbox, ILAB_PATH).await;
    assert!(session_cell(&page, "zhangsan", "td.token").contains("revoked"));
    assert!(
        page.contains("· 已刷新 refreshed</title>"),
        "the first token refreshed away"
    );
    assert!(
        page.contains("· 已吊销 revoked</title>"),
        "the second revoked"
    );
}

#[tokio::test]
async fn without_a_launch_url_the_console_says_how_to_set_one() {
    let sandbox = start(None).await;
    let (_, page) = get_page(&sandbox, ILAB_PATH).await;
    assert!(page.contains("--ilab-launch-url"));
    assert!(
        !page.contains("class=\"launch\""),
        "no button that cannot work"
    );
    let (status, location) = post_form(
        &sandbox,
        "/_sandbox/console/ilab/launch",
        &[("un", "zhangsan")],
    )
    .await;
    assert_eq!((status, location), (409, None));
}

#[tokio::test]
async fn a_launch_without_a_user_is_refused() {
    let sandbox = start(Some("http://127.0.0.1:9/launch")).await;
    for fields in [vec![], vec![("un", "  ")]] {
        let (status, _) = post_form(&sandbox, "/_sandbox/console/ilab/launch", &fields).await;
        assert_eq!(status, 400, "{fields:?}");
    }
    // Any other user launches too, with the display name given.
    let (status, location) = post_form(
        &sandbox,
        "/_sandbox/console/ilab/launch",
        &[("un", "zhaoliu"), ("dis", "赵六")],
    )
    .await;
    assert_eq!(status, 303);
    let answer: Value = exchange(&sandbox, &ticket_of(&location.expect("address"))).await;
    assert_eq!(
        (answer["un"].as_str(), answer["dis"].as_str()),
        (Some("zhaoliu"), Some("赵六"))
    );
}
