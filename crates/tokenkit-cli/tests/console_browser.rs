//! The sandbox console in a real browser: headless Chromium, driven through
//! chromedriver, against a `tokenkit sandbox --ilab-launch-url …` process and a small
//! experiment app that uses tokenkit's ilab client. The steps of issue 15, in order, in
//! one browser (so a parallel test run starts one Chromium, not one per step):
//!
//! 1. the console opens, every page with its header and nav;
//! 2. "我要做实验" for 张三 lands on the experiment, which exchanged the ticket;
//! 3. the ilab page shows that session with `0 / 2` refreshes;
//! 4. a score the experiment uploads appears on the ilab page;
//! 5. the ac page's revoke button revokes a logged-in token (`tokens/state`: 10008),
//!    and the bo page's ends a session (`whoami`: 401);
//! 6. the bo page shows a login made elsewhere by itself, without a reload (the live
//!    view);
//! 7. a fail rate of 1 set in the faults form fails platform requests with HTTP 503,
//!    and 0 lets them succeed again;
//! 8. the requests page lists the requests, with their statuses, codes and masked
//!    credentials;
//! 9. a screenshot of every page is kept (`<target>/console-screenshots/*.png`), and no
//!    page holds a token, ticket or password.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/test.sh`); fails without them.

mod common;
mod console_support;

use std::future::Future;

use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use tokenkit::ilab::Ticket;

use common::Sandbox;
use console_support::ac::{self, Ac};
use console_support::app::{Bound, Experiment};
use console_support::bo::Bo;
use console_support::browser::Browser;
use console_support::{
    DEADLINE, eventually, masked, runs, screenshot_dir, text_of, texts_of, whole_page_screenshot,
};

/// The sandbox's default test user the steps launch (console-spec).
const USER: &str = "zhangsan";
const USER_NAME: &str = "张三";
/// The score the experiment reports.
const SCORE: &str = "score 87";
/// The ac cluster whose token is revoked.
const AC_CLUSTER: &str = "11112";

/// How many characters of a secret in a row no page may hold: one more than a masked
/// secret shows of it (console-spec: "Masking").
const SECRET_RUN: usize = 9;
/// The console's pages, by screenshot name.
const PAGES: [(&str, &str); 5] = [
    ("overview", "/_sandbox/"),
    ("ilab", "/_sandbox/console/ilab"),
    ("ac", "/_sandbox/console/ac"),
    ("bo", "/_sandbox/console/bo"),
    ("requests", "/_sandbox/console/requests"),
];

/// Everything the steps share.
struct World {
    sandbox: Sandbox,
    experiment: Experiment,
    browser: Browser,
    /// Plays an ac client.
    ac: Ac,
    /// Plays a bo application.
    bo: Bo,
    /// Secrets that no console page may hold, collected as the steps meet them.
    secrets: Vec<String>,
}

impl World {
    fn page(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    fn client(&self) -> &Client {
        self.browser.client()
    }

    async fn goto(&self, path: &str) {
        let url = self.page(path);
        self.client()
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Finds and clicks `css`, both in one try: the console's live refresh replaces
    /// its live part every 2 s, so a button found just before a refresh is stale by
    /// the click, which then fails without effect and is tried again.
    async fn click(&self, css: &str) {
        let client = self.client();
        eventually(client, &format!("a {css} to click"), async || {
            let button = client
                .find(Locator::Css(css))
                .await
                .map_err(|e| e.to_string())?;
            button
                .click()
                .await
                .map_err(|e| format!("click {css}: {e}"))
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_browser() {
    let bound = Bound::bind().await;
    let sandbox = Sandbox::start_with(&["--ilab-launch-url", &bound.launch_url()]);
    let experiment = bound.serve(&sandbox.base_url());
    // A failure's screenshot of an earlier run would mislead.
    let _ = std::fs::remove_file(screenshot_dir().join("failed.png"));
    let browser = Browser::start(&std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))).await;
    let mut world = World {
        ac: Ac::new(&sandbox.base_url()),
        bo: Bo::new(&sandbox.base_url()),
        sandbox,
        experiment,
        browser,
        secrets: vec![ac::PASSWORD.to_owned()],
    };

    step("the console opens", open_the_console(&world)).await;
    let ticket = step("我要做实验 lands on the experiment", launch(&world)).await;
    world.secrets.push(ticket);
    step(
        "the ilab page shows the session",
        session_is_listed(&mut world),
    )
    .await;
    step("an uploaded score appears", upload_appears(&world)).await;
    let ac_token = step("the revoke button revokes", revoke_ac_token(&world)).await;
    world.secrets.push(ac_token.clone());
    step(
        "the bo revoke button ends a session",
        revoke_bo_session(&mut world),
    )
    .await;
    step(
        "the live view shows a new session without a reload",
        live_view(&mut world),
    )
    .await;
    step("the fail rate fails requests", fail_rate(&world)).await;
    step(
        "the requests page lists requests",
        requests_listed(&world, &ac_token),
    )
    .await;
    step("every page, screenshot, no secret", every_page(&world)).await;

    let World { browser, .. } = world;
    browser.close().await;
}

/// Runs one step, failing it (never hanging) when it takes far longer than any wait.
async fn step<T>(name: &str, work: impl Future<Output = T>) -> T {
    let limit = 4 * DEADLINE;
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| panic!("step {name:?} did not finish within {limit:?}"))
}

async fn open_the_console(w: &World) {
    w.goto("/_sandbox/").await;
    let client = w.client();
    let addr = w
        .sandbox
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let listen = eventually(client, "the header names the address", async || {
        let listen = text_of(client, "header #listen").await?;
        if listen.contains(&addr) {
            Ok(listen)
        } else {
            Err(format!("#listen says {listen:?}"))
        }
    })
    .await;
    assert!(!listen.is_empty());
    let links = client
        .find_all(Locator::Css("nav a"))
        .await
        .expect("the nav's links");
    let mut hrefs = Vec::new();
    for link in links {
        hrefs.push(link.attr("href").await.expect("href").unwrap_or_default());
    }
    for (name, path) in PAGES {
        assert!(
            hrefs.iter().any(|href| href.ends_with(path)),
            "the nav links to the {name} page ({path}): {hrefs:?}"
        );
    }
    for id in [
        "faults",
        "fail-rate",
        "drop-rate",
        "latency-ms",
        "faults-apply",
    ] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("the overview has #{id}: {e}"));
    }
}

/// Clicks 张三's "我要做实验": the console mints a ticket and sends the browser to the
/// experiment, which exchanges it. Answers the ticket (a secret from now on).
async fn launch(w: &World) -> String {
    w.goto("/_sandbox/console/ilab").await;
    let button = format!("tr[data-un=\"{USER}\"] button.launch");
    let label = text_of(w.client(), &button).await.expect("a launch button");
    assert_eq!(label, "我要做实验");
    w.click(&button).await;

    let client = w.client();
    let landing = format!("{}/launch?ticket=", w.experiment.origin());
    let url = eventually(client, "the browser lands on the experiment", async || {
        let url = client.current_url().await.map_err(|e| e.to_string())?;
        if url.as_str().starts_with(&landing) {
            Ok(url)
        } else {
            Err(format!("the browser is at {url}"))
        }
    })
    .await;
    eventually(client, "the experiment greets 张三", async || {
        let welcome = text_of(client, "#welcome").await?;
        if welcome.contains(USER_NAME) {
            Ok(())
        } else {
            Err(format!("#welcome says {welcome:?}"))
        }
    })
    .await;
    assert_eq!(text_of(client, "#un").await.as_deref(), Ok(USER));
    let ticket = Ticket::from_launch_url(url.as_str()).expect("the landing URL's ticket");
    ticket.expose_secret().to_owned()
}

/// The ilab page lists the experiment's session, no refresh spent.
async fn session_is_listed(w: &mut World) {
    let token = w
        .experiment
        .sessions()
        .token(USER)
        .await
        .expect("the experiment holds the session's token");
    w.secrets
        .push(token.access_token().expose_secret().to_owned());
    if let Some(refresh) = token.refresh_token() {
        w.secrets.push(refresh.expose_secret().to_owned());
    }
    w.goto("/_sandbox/console/ilab").await;
    let client = w.client();
    let row = format!("#ilab-sessions tr.session[data-un=\"{USER}\"]");
    let refreshes = format!("{row} td.refreshes");
    eventually(client, "the session with 0 / 2 refreshes", async || {
        let text = text_of(client, &refreshes).await?;
        if text == "0 / 2" {
            Ok(())
        } else {
            Err(format!("refreshes {text:?}"))
        }
    })
    .await;
}

/// The user ends the experiment: it uploads the score through tokenkit, and the ilab
/// page shows it with the session.
async fn upload_appears(w: &World) {
    let client = w.client();
    let report = format!("{}/report?un={USER}&score=87", w.experiment.origin());
    client
        .goto(&report)
        .await
        .unwrap_or_else(|e| panic!("open {report}: {e}"));
    let reported = text_of(client, "#reported")
        .await
        .unwrap_or_else(|e| panic!("the experiment reported the score: {e}"));
    assert!(reported.contains(SCORE), "{reported}");

    w.goto("/_sandbox/console/ilab").await;
    let records = format!("#ilab-sessions tr.session[data-un=\"{USER}\"] td.records li.record");
    eventually(client, "the uploaded score on the ilab page", async || {
        let texts = texts_of(client, &records).await?;
        if texts.iter().any(|text| text.contains(SCORE)) {
            Ok(())
        } else {
            Err(format!("records {texts:?}"))
        }
    })
    .await;
}

/// Logs in to ac (a plain platform request), then revokes the cluster's token with
/// the ac page's button. Answers the token (a secret).
async fn revoke_ac_token(w: &World) -> String {
    let token = w.ac.token(AC_CLUSTER).await;
    assert_eq!(w.ac.state(&token).await, "0", "a fresh token is valid");

    w.goto("/_sandbox/console/ac").await;
    let client = w.client();
    let row = format!(
        "#ac-tokens tr[data-user=\"{}\"][data-cluster=\"{AC_CLUSTER}\"]",
        ac::USER
    );
    let shown = format!("{row} td.token");
    let want = masked(&token);
    eventually(client, "the token, masked, on the ac page", async || {
        let text = text_of(client, &shown).await?;
        if text.contains(&want) {
            Ok(())
        } else {
            Err(format!("token cell {text:?}, want {want:?}"))
        }
    })
    .await;
    w.click(&format!("{row} button.revoke")).await;
    eventually(
        client,
        "tokens/state refuses the revoked token",
        async || match w.ac.state(&token).await.as_str() {
            "10008" => Ok(()),
            code => Err(format!("tokens/state code {code}")),
        },
    )
    .await;
    token
}

/// A bo login opens session 1, its live refresh token on the bo page; the page's
/// revoke button retires it and revokes the session's access tokens.
async fn revoke_bo_session(w: &mut World) {
    let login = w.bo.login("u-browser").await;
    w.secrets.push(login.access_token.clone());
    w.secrets.push(login.refresh_token.clone());
    assert_eq!(w.bo.whoami(&login.access_token).await, StatusCode::OK);

    w.goto("/_sandbox/console/bo").await;
    let client = w.client();
    let live = "#bo-sessions tr[data-session=\"1\"] li.refresh.live";
    let want = masked(&login.refresh_token);
    eventually(client, "the session's live refresh token", async || {
        let text = text_of(client, live).await?;
        if text.contains(&want) {
            Ok(())
        } else {
            Err(format!(
                "the live refresh token reads {text:?}, want {want:?}"
            ))
        }
    })
    .await;
    w.click("#bo-sessions tr[data-session=\"1\"] button.revoke")
        .await;
    eventually(
        client,
        "whoami refuses the revoked session's token",
        async || match w.bo.whoami(&login.access_token).await {
            StatusCode::UNAUTHORIZED => Ok(()),
            status => Err(format!("whoami answered {status}")),
        },
    )
    .await;
    eventually(
        client,
        "no live refresh token left in the session",
        async || match client.find_all(Locator::Css(live)).await {
            Ok(left) if left.is_empty() => Ok(()),
            Ok(left) => Err(format!("{} live refresh tokens", left.len())),
            Err(e) => Err(e.to_string()),
        },
    )
    .await;
}

/// The live view: with the bo page open, a login elsewhere appears on it by itself
/// (the page's script re-fetches its live part), the page never reloaded (a marker set
/// on the window survives).
async fn live_view(w: &mut World) {
    w.goto("/_sandbox/console/bo").await;
    w.client()
        .execute("window.tokenkitMarker = 'still this page';", vec![])
        .await
        .expect("set a marker on the window");
    let login = w.bo.login("u-live").await;
    w.secrets.push(login.access_token);
    w.secrets.push(login.refresh_token);
    let client = w.client();
    let row = "#bo-sessions tr[data-session=\"2\"]";
    eventually(client, "the new session, live", async || {
        text_of(client, row).await.map(drop)
    })
    .await;
    let marker = client
        .execute("return window.tokenkitMarker;", vec![])
        .await
        .expect("read the marker");
    assert_eq!(
        marker.as_str(),
        Some("still this page"),
        "the page updated in place, not by a reload"
    );
}

/// A fail rate of 1 in the faults form: platform requests get HTTP 503; back to 0,
/// they succeed again.
async fn fail_rate(w: &World) {
    set_fail_rate(w, "1").await;
    let logins = w.sandbox.count("ac.tokens");
    let client = w.client();
    eventually(
        client,
        "a platform request answered 503",
        async || match w.ac.login().await.0 {
            StatusCode::SERVICE_UNAVAILABLE => Ok(()),
            status => Err(format!("the login answered {status}")),
        },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(w.ac.login().await.0, StatusCode::SERVICE_UNAVAILABLE);
    }
    // Counted, though failed: the fault is injected after the request was seen.
    assert!(w.sandbox.count("ac.tokens") >= logins + 4);

    set_fail_rate(w, "0").await;
    eventually(
        client,
        "a platform request succeeds again",
        async || match w.ac.login().await {
            (StatusCode::OK, body) if body["code"] == "0" => Ok(()),
            (status, body) => Err(format!("the login answered {status}: {body}")),
        },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(w.ac.login().await.0, StatusCode::OK);
    }
}

async fn set_fail_rate(w: &World, rate: &str) {
    w.goto("/_sandbox/").await;
    let input = w
        .client()
        .find(Locator::Id("fail-rate"))
        .await
        .expect("the fail-rate input");
    input.clear().await.expect("clear the fail rate");
    input.send_keys(rate).await.expect("type the fail rate");
    w.click("#faults-apply").await;
}

/// The requests page: the requests of the steps before, with the HTTP status of the
/// injected failures, the platform's code of the refusal and the credential masked.
async fn requests_listed(w: &World, ac_token: &str) {
    w.goto("/_sandbox/console/requests").await;
    let client = w.client();
    let want = masked(ac_token);
    eventually(client, "the requests of the steps", async || {
        let rows = client
            .find_all(Locator::Css("#requests tr.request"))
            .await
            .map_err(|e| e.to_string())?;
        let mut seen = Vec::new();
        for row in rows {
            let cell = async |class: &str| {
                let cell = row
                    .find(Locator::Css(&format!("td.{class}")))
                    .await
                    .map_err(|e| format!("td.{class}: {e}"))?;
                cell.text()
                    .await
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| e.to_string())
            };
            seen.push((
                cell("status").await?,
                cell("code").await?,
                cell("credential").await?,
            ));
        }
        let failed = seen.iter().any(|(status, _, _)| status == "503");
        // The code cell may add the platform's message; the credential cell names
        // the header (`token=eyJh…x9Qk`).
        let refused = seen.iter().any(|(_, code, credential)| {
            code.split_whitespace().next() == Some("10008") && credential.contains(&want)
        });
        if failed && refused {
            Ok(())
        } else {
            Err(format!(
                "{} rows (status, code, credential): {seen:?}",
                seen.len()
            ))
        }
    })
    .await;
}

/// Every page: `lang`, header and nav, a screenshot kept as a PNG, and none of the
/// secrets the steps met in its HTML.
async fn every_page(w: &World) {
    let dir = screenshot_dir();
    let client = w.client();
    for (name, path) in PAGES {
        w.goto(path).await;
        eventually(
            client,
            &format!("the {name} page's live part"),
            async || {
                client
                    .find(Locator::Css("main#live"))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        )
        .await;
        let lang = client
            .find(Locator::Css("html"))
            .await
            .expect("<html>")
            .attr("lang")
            .await
            .expect("lang");
        assert_eq!(lang.as_deref(), Some("zh-CN"), "{name}");
        let source = client.source().await.expect("the page's HTML");
        let shown = runs(&source, SECRET_RUN);
        for secret in &w.secrets {
            let piece = runs(secret, SECRET_RUN)
                .into_iter()
                .find(|run| shown.contains(run));
            assert!(
                piece.is_none(),
                "the {name} page holds {SECRET_RUN} characters of a secret ({})",
                masked(secret)
            );
        }
        let png = whole_page_screenshot(client).await;
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the {name} screenshot is a PNG"
        );
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, &png).expect("keep the screenshot");
        let kept = std::fs::read(&file).expect("read the screenshot back");
        assert!(kept.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", file.display());
    }
}
