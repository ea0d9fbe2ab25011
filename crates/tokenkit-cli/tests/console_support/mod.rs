//! What the console's browser tests need: headless Chromium through chromedriver
//! (`browser`), the experiment the console launches (`app`), polling with a deadline,
//! and the directory the screenshots are kept in.

pub mod ac;
pub mod app;
pub mod bo;
pub mod browser;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};
use tokio::time::Instant;

/// How long anything may take to appear: generous, for a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Between two looks at a page that is not there yet.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A client for the platform requests the tests make themselves: loopback only, so
/// no proxy from the environment, and bounded by the deadline.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(DEADLINE)
        .build()
        .expect("an HTTP client")
}

/// `<target dir>/console-screenshots`, created: the screenshots are kept there as the
/// test's artifacts. The target dir is found from this test binary's path
/// (`<target>/debug/deps/console_browser-…`).
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "deps"))
        .expect("the test binary lives in <target>/<profile>/deps");
    let target = deps
        .parent()
        .and_then(|profile| profile.parent())
        .expect("<target>/<profile>/deps has a target dir");
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// Polls `probe` until it answers `Ok`, at most for [`DEADLINE`]; then fails naming
/// `what` and what the last look saw, after saving a screenshot of the page as
/// `failed.png` beside the others.
pub async fn eventually<T>(
    client: &Client,
    what: &str,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let seen = match probe().await {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            let shot = screenshot_dir().join("failed.png");
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(&shot, png);
            }
            panic!(
                "{what}: not within {DEADLINE:?}; last seen: {seen} (page: {})",
                shot.display()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A screenshot of the whole page, not only the window's first screen: the window is
/// made as tall as the page (up to a limit) for it, then put back.
pub async fn whole_page_screenshot(client: &Client) -> Vec<u8> {
    let (width, height) = client.get_window_size().await.expect("the window's size");
    let needed = client
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
            vec![],
        )
        .await
        .expect("the page's height")
        .as_u64()
        .unwrap_or(height);
    let tall = u32::try_from(needed.clamp(height, 4000)).expect("a window height");
    let width = u32::try_from(width).expect("a window width");
    client
        .set_window_size(width, tall)
        .await
        .expect("a window as tall as the page");
    let png = client.screenshot().await.expect("a screenshot");
    client
        .set_window_size(width, u32::try_from(height).expect("a window height"))
        .await
        .expect("the window's size back");
    png
}

/// The text of the first element `css` selects, or why there is none (yet).
pub async fn text_of(client: &Client, css: &str) -> Result<String, String> {
    let element = client
        .find(Locator::Css(css))
        .await
        .map_err(|e| format!("no {css}: {e}"))?;
    element
        .text()
        .await
        .map(|text| text.trim().to_owned())
        .map_err(|e| format!("{css}: {e}"))
}

/// The texts of every element `css` selects.
pub async fn texts_of(client: &Client, css: &str) -> Result<Vec<String>, String> {
    let elements = client
        .find_all(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?;
    let mut texts = Vec::with_capacity(elements.len());
    for element in elements {
        let text = element.text().await.map_err(|e| format!("{css}: {e}"))?;
        texts.push(text.trim().to_owned());
    }
    Ok(texts)
}

/// A secret as the console shows it (console-spec: "Masking"): its first and last 4
/// characters around `…` when it has 16 or more, else `••••`.
pub fn masked(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "••••".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The runs of `len` characters of `text`, to tell whether a page holds a piece of a
/// secret long enough to matter (a masked secret shows 4 and 4).
pub fn runs(text: &str, len: usize) -> HashSet<&str> {
    let starts: Vec<usize> = text
        .char_indices()
        .map(|(at, _)| at)
        .chain([text.len()])
        .collect();
    starts
        .windows(len + 1)
        .map(|run| &text[run[0]..run[len]])
        .collect()
}
