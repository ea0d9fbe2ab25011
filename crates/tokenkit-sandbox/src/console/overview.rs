//! The overview page: the faults form, and per platform a summary and its timeline.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both};
use super::{Console, Notice, OVERVIEW_PATH, back_to, form, timeline};
use crate::Faults;
use crate::journal::{End, Platform};
use crate::params::Params;

/// `GET /_sandbox/`.
pub(super) async fn page(State(console): State<Console>, RawQuery(query): RawQuery) -> Response {
    let faults = console.common.faults.get();
    let controls = format!(
        "{}{}",
        Notice::from_query(query.as_deref()),
        faults_form(&faults)
    );
    let live = summary(&console, &faults);
    page::html_response(
        StatusCode::OK,
        page::render(
            console.listen,
            OVERVIEW_PATH,
            "总览 Overview",
            &controls,
            &live,
        ),
    )
}

fn faults_form(faults: &Faults) -> String {
    format!(
        "<section><h2>{title}</h2><form id=\"faults\" method=\"post\" action=\"/_sandbox/console/faults\">\
<label for=\"fail-rate\">{fail}</label><input id=\"fail-rate\" name=\"fail_rate\" type=\"number\" min=\"0\" max=\"1\" step=\"0.01\" value=\"{fail_rate}\"> \
<label for=\"drop-rate\">{drop}</label><input id=\"drop-rate\" name=\"drop_rate\" type=\"number\" min=\"0\" max=\"1\" step=\"0.01\" value=\"{drop_rate}\"> \
<label for=\"latency-ms\">{latency}</label><input id=\"latency-ms\" name=\"latency_ms\" type=\"number\" min=\"0\" max=\"{max_ms}\" step=\"1\" value=\"{latency_ms}\"> \
<button type=\"submit\" id=\"faults-apply\">{apply}</button></form>\
<p class=\"muted\">{note}</p></section>",
        title = both("故障注入", "Faults"),
        fail = both("失败率 (0–1)", "fail rate: HTML 503"),
        drop = both("断连率 (0–1)", "drop rate: cut after handling"),
        latency = both("延迟 (毫秒)", "latency, ms"),
        apply = both("应用", "Apply"),
        note = both(
            "作用于平台接口（不含 /_sandbox/ 管理接口），下一个请求起生效。",
            "Applies to the platform routes (never the /_sandbox/ admin routes), from the next request on."
        ),
        fail_rate = faults.fail_rate,
        drop_rate = faults.drop_rate,
        latency_ms = faults.latency.as_millis(),
        max_ms = Faults::MAX_LATENCY.as_millis(),
    )
}

fn summary(console: &Console, faults: &Faults) -> String {
    let now = SystemTime::now();
    let mut html = String::new();
    let state = if *faults == Faults::default() {
        format!("<span class=\"ok\">{}</span>", both("无", "none"))
    } else {
        format!(
            "<span class=\"warn\">{} {:.0}% · {} {:.0}% · {} {} ms</span>",
            both("失败", "fail"),
            faults.fail_rate * 100.0,
            both("断连", "drop"),
            faults.drop_rate * 100.0,
            both("延迟", "latency"),
            faults.latency.as_millis()
        )
    };
    let _ = write!(
        html,
        "<section><h2>{}</h2><p id=\"faults-in-force\">{state}</p></section>",
        both("当前注入的故障", "Faults in force")
    );
    for (platform, name, path) in [
        (Platform::Ilab, "ilab", super::ILAB_PATH),
        (Platform::Ac, "ac", super::AC_PATH),
        (Platform::Bo, "bo", super::BO_PATH),
    ] {
        let lives = console.common.journal.lives(platform);
        let live = lives.iter().filter(|l| l.is_live(now)).count();
        let recent = |end: End| {
            lives
                .iter()
                .filter(|l| {
                    matches!(l.end, Some((at, e)) if e == end
                        && now.duration_since(at).unwrap_or_default() < Duration::from_secs(60))
                })
                .count()
        };
        let _ = write!(
            html,
            "<section id=\"summary-{name}\"><h2><a href=\"{path}\">{name}</a></h2>\
<p>{live_label}: <strong>{live}</strong> · {refreshed_label}: {refreshed} · {revoked_label}: {revoked}</p>{svg}</section>",
            live_label = both("有效令牌", "live tokens"),
            refreshed_label = both("近 1 分钟刷新", "refreshed in the last minute"),
            refreshed = recent(End::Refreshed) + recent(End::Rotated),
            revoked_label = both("近 1 分钟吊销", "revoked in the last minute"),
            revoked = recent(End::Revoked),
            svg = timeline::render(&format!("{name} token timeline"), &lives, now),
        );
    }
    html
}

/// `POST /_sandbox/console/faults`: puts the form's settings in force.
pub(super) async fn set_faults(State(console): State<Console>, body: Bytes) -> Response {
    let fields = form(&body);
    let parsed = parse_faults(&fields);
    match parsed.and_then(|faults| console.common.faults.set(faults)) {
        Ok(()) => back_to(OVERVIEW_PATH, Notice::FaultsSet),
        Err(why) => page::problem(
            console.listen,
            StatusCode::BAD_REQUEST,
            "故障注入设置无效",
            &format!("invalid fault settings: {why}"),
        ),
    }
}

fn parse_faults(fields: &Params) -> Result<Faults, String> {
    let number = |name: &str| -> Result<f64, String> {
        let text = fields.get(name).map(str::trim).unwrap_or("0");
        let text = if text.is_empty() { "0" } else { text };
        text.parse::<f64>()
            .map_err(|_| format!("{name} must be a number"))
    };
    let latency_ms = fields
        .get("latency_ms")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("0");
    let latency_ms: u64 = latency_ms
        .parse()
        .map_err(|_| "latency_ms must be a whole number of milliseconds".to_owned())?;
    Ok(Faults {
        fail_rate: number("fail_rate")?,
        drop_rate: number("drop_rate")?,
        latency: Duration::from_millis(latency_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Params {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Params::parse(None, body.join("&").as_bytes())
    }

    #[test]
    fn the_faults_form_is_parsed_strictly() {
        let parsed = parse_faults(&fields(&[
            ("fail_rate", "0.25"),
            ("drop_rate", ""),
            ("latency_ms", "150"),
        ]));
        assert_eq!(
            parsed,
            Ok(Faults {
                fail_rate: 0.25,
                drop_rate: 0.0,
                latency: Duration::from_millis(150)
            })
        );
        assert!(parse_faults(&fields(&[("fail_rate", "lots")])).is_err());
        assert!(parse_faults(&fields(&[("latency_ms", "1.5")])).is_err());
        assert!(parse_faults(&fields(&[("latency_ms", "-1")])).is_err());
    }
}
