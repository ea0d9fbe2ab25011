//! The timeline: an SVG of token lifetimes as bars over the last minutes, one row per
//! token, so a refresh storm (a stack of short bars) or a wasted refresh (a bar cut
//! short long before its expiry) shows at a glance.
//!
//! A bar runs from issue to its end: the successor's issue (refreshed, replaced,
//! rotated), the revocation, or the expiry. A live token's bar goes on past the "now"
//! line, paler, into the next minutes up to its expiry (or the right edge), so a token
//! about to expire shows where it will. Colour tells how it ended; the tooltip names
//! the token (masked) and its times.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::page::{clock_time, esc};
use crate::journal::{End, Kind, Life};
use crate::requests::truncate;

/// How far back the timeline looks.
pub(super) const WINDOW: Duration = Duration::from_secs(10 * 60);

/// How far ahead it looks, for the expiries of live tokens.
const AHEAD: Duration = Duration::from_secs(2 * 60);

/// The most rows drawn: the most recent tokens.
const MAX_ROWS: usize = 40;

const WIDTH: f64 = 900.0;
const LABEL: f64 = 170.0;
const ROW: f64 = 16.0;
const TOP: f64 = 22.0;

/// How a life looks: its state at `now`, colour and bilingual name.
fn state(life: &Life, now: SystemTime) -> (&'static str, &'static str) {
    match life.end {
        Some((at, _)) if at >= life.expires => ("#9aa4ae", "过期 expired"),
        Some((_, End::Refreshed)) => ("#1e6fd9", "已刷新 refreshed"),
        Some((_, End::Replaced)) => ("#5b8fd9", "已替换 replaced"),
        Some((_, End::Rotated)) => ("#7a5bd9", "已轮换 rotated"),
        Some((_, End::Revoked)) => ("#c62828", "已吊销 revoked"),
        None if now >= life.expires => ("#9aa4ae", "过期 expired"),
        None => ("#2e7d32", "有效 live"),
    }
}

/// When the bar ends: the life's end or its expiry, whichever came first (for a live
/// token, its expiry, in the future).
fn bar_end(life: &Life) -> SystemTime {
    life.end
        .map_or(life.expires, |(at, _)| at.min(life.expires))
}

/// The SVG of `lives` (one platform's, oldest first) over the [`WINDOW`] up to `now`
/// and [`AHEAD`] of it; `title` names it for screen readers.
pub(super) fn render(title: &str, lives: &[Life], now: SystemTime) -> String {
    let start = now.checked_sub(WINDOW).unwrap_or(SystemTime::UNIX_EPOCH);
    let shown: Vec<&Life> = lives.iter().filter(|l| bar_end(l) >= start).collect();
    let shown = &shown[shown.len().saturating_sub(MAX_ROWS)..];
    let height = TOP + ROW * shown.len().max(1) as f64 + 24.0;
    let span = (WINDOW + AHEAD).as_secs_f64();
    let x_of = |t: SystemTime| -> f64 {
        let since = t.duration_since(start).unwrap_or_default().as_secs_f64();
        LABEL + (WIDTH - LABEL - 10.0) * (since / span).min(1.0)
    };
    let mut svg = String::with_capacity(512 + shown.len() * 256);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\"><title>{}</title>",
        esc(title)
    );
    // The time axis: a tick a minute, labelled every other minute.
    let minutes = (WINDOW + AHEAD).as_secs() / 60;
    for minute in 0..=minutes {
        let t = start + Duration::from_secs(minute * 60);
        let x = x_of(t);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e3e7ec\"/>",
            height - 20.0
        );
        if minute % 2 == 0 {
            // The last label ends at its tick: centred, it would run off the edge.
            let anchor = if minute == minutes { "end" } else { "middle" };
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"14\" font-size=\"10\" text-anchor=\"{anchor}\" fill=\"#6b7682\">{}</text>",
                esc(&clock_time(t))
            );
        }
    }
    let now_x = x_of(now);
    let _ = write!(
        svg,
        "<line x1=\"{now_x:.1}\" y1=\"{TOP}\" x2=\"{now_x:.1}\" y2=\"{:.1}\" stroke=\"#1d2329\" stroke-dasharray=\"3 2\"/>",
        height - 20.0
    );
    if shown.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{LABEL}\" y=\"{:.1}\" font-size=\"12\" fill=\"#6b7682\">最近 10 分钟没有令牌 · no tokens in the last 10 minutes</text>",
            TOP + 12.0
        );
    }
    for (row, life) in shown.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let (colour, name) = state(life, now);
        let x1 = x_of(life.issued.max(start));
        let x2 = x_of(bar_end(life)).max(x1 + 2.0);
        // What is still to come of a live token is drawn paler.
        let x_now = x_of(now).clamp(x1, x2);
        let kind = match life.kind {
            Kind::Access => "",
            Kind::Refresh => " ↻",
        };
        let tip = format!(
            "{} {} · {} {} → {} {} · {}",
            life.subject,
            life.masked,
            "issued",
            clock_time(life.issued),
            "expires",
            clock_time(life.expires),
            name
        );
        let _ = write!(
            svg,
            "<g><title>{tip}</title><text x=\"4\" y=\"{:.1}\" font-size=\"11\" fill=\"#1d2329\">{label}</text>\
<rect x=\"{x1:.1}\" y=\"{top:.1}\" width=\"{past:.1}\" height=\"{tall:.1}\" rx=\"2\" fill=\"{colour}\"/>\
<rect x=\"{x_now:.1}\" y=\"{top:.1}\" width=\"{ahead:.1}\" height=\"{tall:.1}\" rx=\"2\" fill=\"{colour}\" fill-opacity=\"0.35\"/>\
<circle cx=\"{x1:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1d2329\"/></g>",
            y + 11.0,
            y + ROW / 2.0,
            top = y + 3.0,
            past = (x_now - x1).max(2.0),
            ahead = x2 - x_now,
            tall = ROW - 6.0,
            tip = esc(&tip),
            label = esc(&format!("{}{kind}", truncate(&life.subject, 24))),
        );
    }
    let legend_y = height - 6.0;
    let mut x = LABEL;
    for (colour, name) in [
        ("#2e7d32", "有效 live"),
        ("#1e6fd9", "已刷新 refreshed"),
        ("#5b8fd9", "已替换 replaced"),
        ("#7a5bd9", "已轮换 rotated"),
        ("#c62828", "已吊销 revoked"),
        ("#9aa4ae", "过期 expired"),
    ] {
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"8\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{legend_y:.1}\" font-size=\"10\" fill=\"#44505c\">{name}</text>",
            legend_y - 8.0,
            x + 13.0
        );
        x += 115.0;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Issue, Journal, Platform};

    #[test]
    fn bars_say_how_each_token_ended() {
        let journal = Journal::default();
        let now = SystemTime::now();
        for token in [
            "first-token-aaaa-0001",
            "second-token-bbbb-0002",
            "third-token-cccc-0003",
        ] {
            journal.issued(Issue {
                platform: Platform::Ac,
                kind: Kind::Access,
                subject: "demo @ 11112".into(),
                token,
                id: token,
                expires: now + Duration::from_secs(3600),
            });
        }
        journal.ended(Platform::Ac, "first-token-aaaa-0001", End::Refreshed);
        journal.ended(Platform::Ac, "second-token-bbbb-0002", End::Revoked);
        let svg = render("ac", &journal.lives(Platform::Ac), SystemTime::now());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for name in ["已刷新 refreshed", "已吊销 revoked", "有效 live"] {
            assert!(svg.contains(&format!("· {name}</title>")), "{name}: {svg}");
        }
        assert!(!svg.contains("first-token-aaaa-0001"), "tokens are masked");
        assert_eq!(
            svg.matches("<rect x=").count(),
            3 * 2 + 6,
            "3 bars of a past and a future part, 6 legend keys"
        );
    }

    #[test]
    fn a_live_token_goes_on_past_now_up_to_its_expiry() {
        let journal = Journal::default();
        let now = SystemTime::now();
        journal.issued(Issue {
            platform: Platform::Bo,
            kind: Kind::Access,
            subject: "session 1".into(),
            token: "short-lived-token-0001",
            id: "short-lived-token-0001",
            expires: now + Duration::from_secs(60),
        });
        let svg = render("bo", &journal.lives(Platform::Bo), now);
        let ahead = svg
            .split("fill-opacity=\"0.35\"")
            .next()
            .and_then(|before| before.rsplit("width=\"").next())
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse::<f64>().ok())
            .expect("the future part's width");
        // A minute of the 12 the timeline spans, of the 720 px its bars have.
        assert!((ahead - 60.0).abs() < 2.0, "{ahead}");
    }

    #[test]
    fn an_empty_timeline_says_so() {
        let svg = render("bo", &[], SystemTime::now());
        assert!(svg.contains("no tokens in the last 10 minutes"));
    }
}
