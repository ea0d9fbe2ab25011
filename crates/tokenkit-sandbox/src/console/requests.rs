//! The requests page: the last platform requests, newest first.

use std::fmt::Write as _;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both, esc};
use super::{Console, REQUESTS_PATH};
use crate::requests::{Fault, RequestLog};

/// `GET /_sandbox/console/requests`.
pub(super) async fn page(State(console): State<Console>) -> Response {
    let entries = console.common.requests.newest_first();
    let now = SystemTime::now();
    let mut rows = String::with_capacity(entries.len() * 256);
    for entry in &entries {
        let credentials = entry
            .credentials
            .iter()
            .map(|(name, masked)| format!("<code>{}={}</code>", esc(name), esc(masked)))
            .collect::<Vec<_>>()
            .join(" ");
        let status_class = if entry.status >= 400 { "bad" } else { "ok" };
        let fault = match entry.fault {
            Some(Fault::Failed) => both("注入 503", "injected 503"),
            Some(Fault::Dropped) => both("注入断连", "connection cut"),
            None => String::new(),
        };
        let _ = write!(
            rows,
            "<tr class=\"request\"><td class=\"time\">{time}</td><td class=\"method\">{method}</td>\
<td class=\"route\"><code>{route}</code></td><td class=\"credential\">{credentials}</td>\
<td class=\"status {status_class}\">{status}</td><td class=\"code\">{code}</td>\
<td class=\"latency\">{latency} ms</td><td class=\"fault\">{fault}</td></tr>",
            time = page::time_cell(entry.at, now),
            method = esc(&entry.method),
            route = esc(&entry.route),
            status = entry.status,
            code = match &entry.message {
                Some(message) => format!(
                    "{} <span class=\"muted\">{}</span>",
                    esc(entry.code.as_deref().unwrap_or("—")),
                    esc(message)
                ),
                None => esc(entry.code.as_deref().unwrap_or("—")),
            },
            latency = entry.latency.as_millis(),
        );
    }
    if entries.is_empty() {
        let _ = write!(
            rows,
            "<tr><td colspan=\"8\" class=\"muted\">{}</td></tr>",
            both("还没有平台请求", "no platform requests yet")
        );
    }
    let live = format!(
        "<section><h2>{title}</h2><p class=\"muted\">{note}</p><table id=\"requests\"><thead><tr>\
<th>{time}</th><th>{method}</th><th>{route}</th><th>{credential}</th><th>{status}</th><th>{code}</th><th>{latency}</th><th>{fault}</th>\
</tr></thead><tbody>{rows}</tbody></table></section>",
        title = both("最近的平台请求", "Latest platform requests"),
        note = both(
            &format!(
                "最多保留 {} 条，最新的在前；令牌和密钥只显示首尾各 4 个字符。",
                RequestLog::CAPACITY
            ),
            &format!(
                "The last {} are kept, newest first; tokens and secrets show only their first and last 4 characters.",
                RequestLog::CAPACITY
            )
        ),
        time = both("时间", "time"),
        method = both("方法", "method"),
        route = both("接口", "route"),
        credential = both("凭据", "credentials"),
        status = both("HTTP", "status"),
        code = both("平台码", "code"),
        latency = both("耗时", "latency"),
        fault = both("故障", "fault"),
    );
    page::html_response(
        StatusCode::OK,
        page::render(console.listen, REQUESTS_PATH, "请求 Requests", "", &live),
    )
}
