//! The ac page and its actions over a real socket: what the buttons do to the
//! platform, what the page and its timeline then say, and what they never show.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::AC_PATH;
use super::tests::{answer_of, client};
use crate::Sandbox;
use crate::ac::tests::start;
use crate::ac::{AK_TOKENS_PATH, AcAccessKey, AcConfig, AcUser};
use crate::mask::mask;

const PASSWORD: &str = "SENTINEL-PW-0123456789";
const ACCESS_KEY: &str = "SENTINEL-AK-0123456789";
const SECRET_KEY: &str = "SENTINEL-SK-0123456789";

/// The default regions, one account `demo` with sentinel credentials.
fn config() -> AcConfig {
    AcConfig {
        users: vec![AcUser::new("demo", PASSWORD, "demo-org")],
        access_keys: vec![AcAccessKey::new("demo", ACCESS_KEY, SECRET_KEY)],
        ..AcConfig::default()
    }
}

async fn get_page(sandbox: &Sandbox, path: &str) -> String {
    let (status, html) = super::tests::get_page(sandbox, path).await;
    assert_eq!(status, 200, "{path}");
    html
}

async fn ac_page(sandbox: &Sandbox) -> String {
    get_page(sandbox, AC_PATH).await
}

/// Presses a button of the ac page: posts its form; (status, `Location`, body).
async fn press(
    sandbox: &Sandbox,
    action: &str,
    user: &str,
    cluster: &str,
) -> (u16, String, String) {
    let response = client()
        .post(format!("{}{AC_PATH}/{action}", sandbox.base_url()))
        .form(&[("user", user), ("cluster", cluster)])
        .send()
        .await
        .expect("the console answers");
    let (status, location, body) = answer_of(response).await;
    (status, location.unwrap_or_default(), body)
}

/// Presses a button that must work, and checks where it sends the browser.
async fn press_ok(sandbox: &Sandbox, action: &str, user: &str, cluster: &str, notice: &str) {
    let (status, location, _) = press(sandbox, action, user, cluster).await;
    assert_eq!(status, 303, "{action} {user} {cluster}");
    assert_eq!(location, format!("{AC_PATH}?notice={notice}"));
}

async fn platform(sandbox: &Sandbox, method: &str, path: &str, headers: &[(&str, &str)]) -> Value {
    let url = format!("{}{path}", sandbox.base_url());
    let mut request = if method == "GET" {
        client().get(url)
    } else {
        client().post(url)
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the platform answers");
    assert_eq!(response.status(), 200, "{path}");
    serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON")
}

/// The password login's regions.
async fn login(sandbox: &Sandbox) -> Vec<Value> {
    let reply = platform(
        sandbox,
        "POST",
        "/ac/openapi/v2/tokens",
        &[
            ("user", "demo"),
            ("password", PASSWORD),
            ("orgId", "demo-org"),
        ],
    )
    .await;
    assert_eq!(reply["code"], "0", "{reply}");
    reply["data"].as_array().expect("regions").clone()
}

/// The access-key login's regions.
async fn ak_login(sandbox: &Sandbox) -> Vec<Value> {
    let timestamp = tokenkit_core::civil::unix_millis(std::time::SystemTime::now())
        .div_euclid(1000)
        .to_string();
    let message =
        format!(r#"{{"accessKey":"{ACCESS_KEY}","timestamp":"{timestamp}","user":"demo"}}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET_KEY.as_bytes()).expect("any key");
    mac.update(message.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let reply = platform(
        sandbox,
        "POST",
        AK_TOKENS_PATH,
        &[
            ("user", "demo"),
            ("accessKey", ACCESS_KEY),
            ("timestamp", &timestamp),
            ("signature", &signature),
        ],
    )
    .await;
    assert_eq!(reply["code"], "0", "{reply}");
    reply["data"].as_array().expect("regions").clone()
}

fn region<'a>(regions: &'a [Value], cluster: &str) -> &'a Value {
    regions
        .iter()
        .find(|r| r["clusterId"] == cluster)
        .expect("the region is listed")
}

fn token_of(regions: &[Value], cluster: &str) -> String {
    region(regions, cluster)["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// The code `route` (`tokens/state`, `tokens/next`, `center`) answers for `token`.
async fn code(sandbox: &Sandbox, route: &str, token: &str) -> String {
    let method = if route == "tokens/next" {
        "POST"
    } else {
        "GET"
    };
    let path = format!("/ac/openapi/v2/{route}");
    let reply = platform(sandbox, method, &path, &[("token", token)]).await;
    reply["code"].as_str().expect("a code").to_owned()
}

fn account_status_claim(token: &str) -> Value {
    crate::jwt::verify_hs256(b"tokenkit-sandbox-signing-key", token).expect("ours")["accountStatus"]
        .clone()
}

/// The row of the tokens table for the pair.
fn row<'p>(page: &'p str, user: &str, cluster: &str) -> &'p str {
    let table = &page[page.find("id=\"ac-tokens\"").expect("the tokens table")..];
    let start = table
        .find(&format!(
            "<tr data-user=\"{user}\" data-cluster=\"{cluster}\">"
        ))
        .unwrap_or_else(|| panic!("a row for {user} @ {cluster}: {table}"));
    let row = &table[start..];
    &row[..row.find("</tr>").expect("the row ends")]
}

/// The `data-state` of a row's state cell.
fn state(row: &str) -> &str {
    let from = &row[row.find("data-state=\"").expect("a state cell") + 12..];
    &from[..from.find('"').expect("quoted")]
}

/// The inside of a row's cell of class `class`.
fn cell<'r>(row: &'r str, class: &str) -> &'r str {
    let from = &row[row
        .find(&format!("<td class=\"{class}\""))
        .unwrap_or_else(|| panic!("a {class} cell: {row}"))..];
    &from[..from.find("</td>").expect("the cell ends")]
}

/// How the timeline says the token ended (its tooltip's last part), if it shows it.
fn timeline_state(page: &str, subject: &str, token: &str) -> Option<String> {
    let start = page.find(&format!("<title>{subject} {} ·", mask(token)))?;
    let title = &page[start..];
    let title = &title[..title.find("</title>")?];
    title.rsplit("· ").next().map(str::to_owned)
}

#[tokio::test]
async fn a_revoke_button_makes_the_platform_refuse_the_token() {
    let sandbox = start(config()).await;
    let token = token_of(&login(&sandbox).await, "11112");
    let page = ac_page(&sandbox).await;
    let before = row(&page, "demo", "11112");
    assert_eq!(state(before), "live");
    assert!(cell(before, "token").contains(&mask(&token)), "{before}");
    assert!(before.contains("<button class=\"revoke\">吊销 Revoke</button>"));
    assert!(before.contains("<button class=\"suspend\">停用 Suspend</button>"));

    press_ok(&sandbox, "revoke", "demo", "11112", "revoked").await;
    assert_eq!(code(&sandbox, "tokens/state", &token).await, "10008");
    assert_eq!(code(&sandbox, "center", &token).await, "10008");
    let page = get_page(&sandbox, &format!("{AC_PATH}?notice=revoked")).await;
    assert!(page.contains("class=\"notice\""), "the notice shows");
    let after = row(&page, "demo", "11112");
    assert_eq!(state(after), "revoked");
    assert!(
        !after.contains("class=\"revoke\""),
        "nothing left to revoke"
    );
    assert_eq!(
        timeline_state(&page, "demo @ 11112", &token).as_deref(),
        Some("已吊销 revoked")
    );
    // Pressed again (an old page): nothing to revoke, and the platform is unchanged.
    press_ok(&sandbox, "revoke", "demo", "11112", "nothing").await;

    // The admin route ends a token the same way on the timeline.
    let platform_token = token_of(&login(&sandbox).await, "0");
    let revoked = client()
        .post(format!("{}{}", sandbox.base_url(), crate::ac::REVOKE_PATH))
        .body(serde_json::json!({ "token": platform_token }).to_string())
        .send()
        .await
        .expect("admin answers");
    assert_eq!(revoked.status(), 200);
    let page = ac_page(&sandbox).await;
    assert_eq!(
        timeline_state(&page, "demo @ 0", &platform_token).as_deref(),
        Some("已吊销 revoked")
    );
    assert_eq!(state(row(&page, "demo", "0")), "revoked");
    // The next login replaces the revoked token with a live one.
    let replacement = token_of(&login(&sandbox).await, "11112");
    assert_ne!(replacement, token);
    let page = ac_page(&sandbox).await;
    assert_eq!(state(row(&page, "demo", "11112")), "live");
    assert_eq!(
        timeline_state(&page, "demo @ 11112", &replacement).as_deref(),
        Some("有效 live")
    );
}

#[tokio::test]
async fn a_renewed_token_ends_refreshed_on_the_timeline() {
    let sandbox = start(config()).await;
    let old = token_of(&login(&sandbox).await, "11112");
    let renewed = platform(
        &sandbox,
        "POST",
        "/ac/openapi/v2/tokens/next",
        &[("token", &old)],
    )
    .await;
    let new = renewed["data"].as_str().expect("a new token").to_owned();
    let page = ac_page(&sandbox).await;
    assert_eq!(
        timeline_state(&page, "demo @ 11112", &old).as_deref(),
        Some("已刷新 refreshed")
    );
    assert_eq!(
        timeline_state(&page, "demo @ 11112", &new).as_deref(),
        Some("有效 live")
    );
    let row = row(&page, "demo", "11112");
    assert!(cell(row, "token").contains(&mask(&new)), "{row}");
    assert_eq!(state(row), "live");
}

#[tokio::test]
async fn a_suspended_account_logs_in_to_a_null_token_until_resumed() {
    let mut config = config();
    config.clusters[1].account_status = "Trial".into();
    let sandbox = start(config).await;
    let old = token_of(&login(&sandbox).await, "11112");
    let platform_token = token_of(&login(&sandbox).await, "0");

    press_ok(&sandbox, "suspend", "demo", "11112", "suspended").await;
    for regions in [login(&sandbox).await, ak_login(&sandbox).await] {
        let suspended = region(&regions, "11112");
        assert!(suspended["token"].is_null(), "{suspended}");
        assert_eq!(suspended["accountStatus"], "Disable");
        assert_eq!(token_of(&regions, "0"), platform_token, "only that region");
    }
    for route in ["tokens/state", "tokens/next", "center"] {
        assert_eq!(code(&sandbox, route, &old).await, "10008", "{route}");
    }
    let page = ac_page(&sandbox).await;
    let suspended = row(&page, "demo", "11112");
    assert!(
        cell(suspended, "status").contains("suspended"),
        "{suspended}"
    );
    assert!(cell(suspended, "status").contains("<code>Disable</code>"));
    assert!(suspended.contains("<button class=\"resume\">恢复 Resume</button>"));
    assert!(!suspended.contains("class=\"suspend\""));
    assert_eq!(state(suspended), "revoked");
    assert_eq!(
        timeline_state(&page, "demo @ 11112", &old).as_deref(),
        Some("已吊销 revoked")
    );

    press_ok(&sandbox, "resume", "demo", "11112", "resumed").await;
    let page = ac_page(&sandbox).await;
    let resumed = row(&page, "demo", "11112");
    assert!(
        cell(resumed, "status").contains("<code>Trial</code>"),
        "{resumed}"
    );
    assert!(resumed.contains("class=\"suspend\""));
    let new = token_of(&login(&sandbox).await, "11112");
    assert_ne!(new, old, "a new token, the revoked one stays revoked");
    assert_eq!(account_status_claim(&new), "Trial", "the configured status");
    assert_eq!(code(&sandbox, "tokens/state", &new).await, "0");
    assert_eq!(code(&sandbox, "center", &new).await, "0");
    assert_eq!(code(&sandbox, "tokens/state", &old).await, "10008");
    assert_eq!(token_of(&ak_login(&sandbox).await, "11112"), new);
}

#[tokio::test]
async fn a_region_configured_suspended_resumes_as_normal_and_the_platform_region_suspends() {
    let sandbox = start(config().with_suspended_cluster()).await;
    let page = ac_page(&sandbox).await;
    let configured = row(&page, "demo", "11113");
    assert!(
        cell(configured, "status").contains("suspended"),
        "{configured}"
    );
    assert!(configured.contains("class=\"resume\""));
    assert_eq!(state(configured), "none");

    press_ok(&sandbox, "resume", "demo", "11113", "resumed").await;
    let token = token_of(&login(&sandbox).await, "11113");
    assert_eq!(account_status_claim(&token), "Normal");
    assert_eq!(code(&sandbox, "center", &token).await, "0");

    press_ok(&sandbox, "suspend", "demo", "11113", "suspended").await;
    let regions = login(&sandbox).await;
    assert!(region(&regions, "11113")["token"].is_null());
    assert_eq!(region(&regions, "11113")["accountStatus"], "Disable");
    assert_eq!(code(&sandbox, "tokens/state", &token).await, "10008");

    // The platform region `0` too.
    let platform_token = token_of(&regions, "0");
    press_ok(&sandbox, "suspend", "demo", "0", "suspended").await;
    let regions = ak_login(&sandbox).await;
    assert!(region(&regions, "0")["token"].is_null());
    assert_eq!(region(&regions, "0")["accountStatus"], "Disable");
    assert_eq!(
        code(&sandbox, "tokens/state", &platform_token).await,
        "10008"
    );
    assert!(region(&regions, "11112")["token"].is_string());
}

#[tokio::test]
async fn expiry_is_shown_on_the_machines_clock() {
    // The platform's clock is an hour ahead; its tokens live 2 h, so on the machine's
    // clock they expire in 2 h, not 3 h (nor 1 h).
    let sandbox = start(AcConfig {
        clock_offset: 3600,
        ttl: std::time::Duration::from_secs(7200),
        ..config()
    })
    .await;
    login(&sandbox).await;
    let page = ac_page(&sandbox).await;
    let expiry = cell(row(&page, "demo", "11112"), "expiry");
    assert!(
        expiry.contains("(in 1h 59m)") || expiry.contains("(in 2h 0m)"),
        "{expiry}"
    );
}

#[tokio::test]
async fn a_row_per_account_and_region_and_buttons_for_a_chinese_name() {
    let mut config = config().with_suspended_cluster();
    config
        .users
        .push(AcUser::new("张三", "SENTINEL-PW-zhangsan-0001", "org-2"));
    let sandbox = start(config).await;
    let page = ac_page(&sandbox).await;
    let table = &page[page.find("id=\"ac-tokens\"").expect("the table")..];
    let table = &table[..table.find("</table>").expect("the table ends")];
    assert_eq!(
        table.matches("<tr data-user=").count(),
        6,
        "2 users × 3 regions"
    );
    for user in ["demo", "张三"] {
        for cluster in ["0", "11112", "11113"] {
            assert_eq!(state(row(&page, user, cluster)), "none");
        }
    }
    press_ok(&sandbox, "suspend", "张三", "11112", "suspended").await;
    let page = ac_page(&sandbox).await;
    assert!(row(&page, "张三", "11112").contains("class=\"resume\""));
    assert!(row(&page, "demo", "11112").contains("class=\"suspend\""));
    assert!(region(&login(&sandbox).await, "11112")["token"].is_string());
}

#[tokio::test]
async fn forms_that_name_no_known_pair_are_refused_saying_what_is_wrong() {
    let sandbox = start(config()).await;
    for (user, cluster, says) in [
        ("nobody", "11112", "no such user: “nobody”"),
        ("demo", "99999", "no such cluster: “99999”"),
        ("", "11112", "the form names no user"),
        ("demo", "", "the form names no cluster"),
        ("<b>x</b>", "11112", "no such user: “&lt;b&gt;x&lt;/b&gt;”"),
    ] {
        for action in ["revoke", "suspend", "resume"] {
            let (status, _, body) = press(&sandbox, action, user, cluster).await;
            assert_eq!(status, 400, "{action} {user:?} {cluster:?}");
            assert!(body.contains(says), "{action}: {body}");
            assert!(!body.contains("<b>x"), "the value is escaped");
        }
    }
    // Another site's page cannot press the buttons.
    let refused = client()
        .post(format!("{}{AC_PATH}/suspend", sandbox.base_url()))
        .header("origin", "http://evil.example")
        .form(&[("user", "demo"), ("cluster", "11112")])
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 403);
    assert!(region(&login(&sandbox).await, "11112")["token"].is_string());
}

#[tokio::test]
async fn no_page_shows_a_password_secret_key_access_key_or_whole_token() {
    let sandbox = start(config()).await;
    let mut tokens = Vec::new();
    for regions in [login(&sandbox).await, ak_login(&sandbox).await] {
        tokens.push(token_of(&regions, "0"));
        tokens.push(token_of(&regions, "11112"));
    }
    let renewed = platform(
        &sandbox,
        "POST",
        "/ac/openapi/v2/tokens/next",
        &[("token", &tokens[1])],
    )
    .await;
    tokens.push(renewed["data"].as_str().expect("a token").to_owned());
    press_ok(&sandbox, "revoke", "demo", "0", "revoked").await;
    press_ok(&sandbox, "suspend", "demo", "11112", "suspended").await;
    tokens.push(token_of(&login(&sandbox).await, "0"));
    let ac = ac_page(&sandbox).await;
    assert!(ac.contains(&mask(ACCESS_KEY)), "the access key id, masked");
    for path in [AC_PATH, super::OVERVIEW_PATH, super::REQUESTS_PATH] {
        let page = get_page(&sandbox, path).await;
        for secret in [PASSWORD, SECRET_KEY, ACCESS_KEY] {
            assert!(!page.contains(secret), "{path} shows {secret}");
        }
        for token in &tokens {
            assert!(!page.contains(token.as_str()), "{path} shows a whole token");
            // Nor a third of one: a mask shows 8 characters.
            let third = &token[token.len() / 3..2 * token.len() / 3];
            assert!(!page.contains(third), "{path} shows part of a token");
        }
    }
}
