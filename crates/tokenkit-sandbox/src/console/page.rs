//! The frame every console page shares: the document head with its inline style, the
//! header that says where the console answers, the navigation, the live part and the
//! few lines of script that keep it current; and the helpers pages are written with.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::SystemTime;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokenkit_core::civil::beijing_display;

/// The console's pages, in navigation order: (path, Chinese label, English label).
pub(super) const PAGES: [(&str, &str, &str); 5] = [
    (super::OVERVIEW_PATH, "总览", "Overview"),
    (super::ILAB_PATH, "ilab 虚拟实验", "ilab"),
    (super::AC_PATH, "ac 计算云", "ac"),
    (super::BO_PATH, "bo 后端", "bo"),
    (super::REQUESTS_PATH, "请求", "Requests"),
];

/// Light and legible, no fonts or images fetched: the machines have no internet.
const STYLE: &str = "\
body{font:14px/1.45 system-ui,'Noto Sans CJK SC','PingFang SC',sans-serif;margin:0;color:#1d2329;background:#f6f7f9}\
header{background:#1f3a5f;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}\
header h1{font-size:18px;margin:0}header p{margin:0;opacity:.92}header code{background:#2d4f7c;color:#fff}\
nav{background:#e6eaf0;padding:6px 20px;display:flex;gap:16px;flex-wrap:wrap;align-items:center}\
nav a{color:#1f3a5f;text-decoration:none;padding:2px 6px;border-radius:4px}nav a[aria-current]{background:#1f3a5f;color:#fff}\
main,.controls{padding:12px 20px 0}section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 14px;margin:0 0 14px}\
h2{font-size:16px;margin:2px 0 8px}h3{font-size:14px;margin:10px 0 6px}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}\
th{font-weight:600;color:#44505c;background:#fafbfc}code{font:12px ui-monospace,monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}\
.en{color:#6b7682;font-size:12px}.muted{color:#6b7682}.ok{color:#2e7d32}.bad{color:#c62828}.warn{color:#b26a00}\
form.inline{display:inline}button{font:inherit;padding:2px 10px;border:1px solid #8a99ab;border-radius:4px;background:#fff;cursor:pointer}\
button.launch{background:#2e7d32;color:#fff;border-color:#2e7d32}button.revoke,button.suspend{border-color:#c62828;color:#c62828}\
label{margin-right:6px}input{font:inherit;padding:2px 4px;width:7em}ul{margin:0;padding-left:18px}\
.notice{background:#fff8e1;border:1px solid #ffe08a;padding:6px 10px;border-radius:4px;margin:0 0 12px}\
svg{max-width:100%;height:auto;background:#fbfcfd;border:1px solid #eef0f3}";

/// Replaces `#live` with the same part of a freshly fetched page every 2 s, unless
/// the box is unticked, a control has focus (a form being filled in), or the page is
/// hidden. No framework: the page works without it, only less live.
const SCRIPT: &str = "\
(function(){var box=document.getElementById('live-toggle');\
setInterval(function(){if(!box.checked||document.hidden)return;\
var a=document.activeElement;if(a&&a.closest&&a.closest('#live')&&a.matches('input,select,textarea'))return;\
fetch(location.href,{headers:{'Accept':'text/html'}}).then(function(r){return r.ok?r.text():null}).then(function(t){\
if(!t)return;var d=new DOMParser().parseFromString(t,'text/html').getElementById('live');\
var m=document.getElementById('live');if(d&&m)m.innerHTML=d.innerHTML;}).catch(function(){});},2000);})();";

/// Escapes `text` for an HTML text node or a quoted attribute.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A label in both languages: `中文 <span class="en">English</span>`.
pub(super) fn both(zh: &str, en: &str) -> String {
    format!("{} <span class=\"en\">{}</span>", esc(zh), esc(en))
}

/// `HH:MM:SS` in Beijing time, as the platforms show times.
pub(super) fn clock_time(t: SystemTime) -> String {
    let display = beijing_display(t);
    display
        .split_once(' ')
        .map_or(display.clone(), |(_, time)| time.to_owned())
}

/// How far `t` is from `now`: `in 23h 59m`, `5s ago`.
pub(super) fn relative(t: SystemTime, now: SystemTime) -> String {
    match t.duration_since(now) {
        Ok(ahead) => format!("in {}", span(ahead.as_secs())),
        Err(behind) => format!("{} ago", span(behind.duration().as_secs())),
    }
}

fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A time cell: Beijing clock time, the full date and time as its tooltip, and how
/// far it is from now.
pub(super) fn time_cell(t: SystemTime, now: SystemTime) -> String {
    format!(
        "<time title=\"{}\">{}</time> <span class=\"muted\">({})</span>",
        esc(&beijing_display(t)),
        esc(&clock_time(t)),
        esc(&relative(t, now))
    )
}

/// What the header says about where the console answers.
pub(super) fn listen_notice(listen: SocketAddr) -> String {
    if listen.ip().is_loopback() {
        format!(
            "{} <code>{listen}</code> {}",
            both("仅在本机地址应答", "Answers only on"),
            both(
                "（回环地址，仅本机可访问）",
                "(loopback: this machine only)"
            )
        )
    } else {
        format!(
            "<strong class=\"warn\">{} <code>{listen}</code></strong> {}",
            both("监听于", "Listening on"),
            both(
                "：同一网络中的任何人都能使用此控制台",
                ": anyone who can reach this address can use this console"
            )
        )
    }
}

/// A whole page: `controls` sit above the live part and are not replaced by the live
/// refresh (a form being filled in keeps its input); `live` is.
pub(super) fn render(
    listen: SocketAddr,
    current: &str,
    title: &str,
    controls: &str,
    live: &str,
) -> String {
    let mut html = String::with_capacity(8192 + live.len());
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · tokenkit 沙箱控制台</title><style>{STYLE}</style></head><body>\
<header><h1>tokenkit 沙箱控制台 <span class=\"en\" style=\"color:#cfd8e3\">Sandbox console</span></h1>\
<p id=\"listen\">{notice}</p></header><nav aria-label=\"页面 Pages\">",
        title = esc(title),
        notice = listen_notice(listen),
    );
    for (path, zh, en) in PAGES {
        let marker = if path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(html, "<a href=\"{path}\"{marker}>{}</a>", both(zh, en));
    }
    let _ = write!(
        html,
        "<span class=\"muted\" style=\"margin-left:auto\">{}</span><label><input type=\"checkbox\" id=\"live-toggle\" checked style=\"width:auto\"> {}</label></nav>",
        both("时间为北京时间", "times in Beijing time, UTC+8"),
        both("实时刷新", "live")
    );
    if !controls.is_empty() {
        let _ = write!(html, "<div class=\"controls\">{controls}</div>");
    }
    let _ = write!(
        html,
        "<main id=\"live\">{live}</main><script>{SCRIPT}</script></body></html>"
    );
    html
}

/// An HTML answer that no cache keeps and no other site may frame.
pub(super) fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// A short page that says what went wrong with an action, in both languages.
pub(super) fn problem(listen: SocketAddr, status: StatusCode, zh: &str, en: &str) -> Response {
    let body = format!(
        "<section><h2>{}</h2><p><a href=\"{}\">{}</a></p></section>",
        both(zh, en),
        super::OVERVIEW_PATH,
        both("返回控制台", "back to the console")
    );
    html_response(status, render(listen, "", en, "", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(5), "5s");
        assert_eq!(span(125), "2m 5s");
        assert_eq!(span(86_399), "23h 59m");
        assert_eq!(span(90_000), "1d 1h");
    }
}
