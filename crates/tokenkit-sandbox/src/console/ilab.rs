//! The ilab page: the test users with "我要做实验", and every session with its token,
//! refreshes spent and uploaded records; and the launch action.

use std::fmt::Write as _;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::page::{self, both, esc};
use super::{Console, ILAB_PATH, Notice, form, timeline};
use crate::ilab::{LaunchRefusal, SessionView, TokenState};
use crate::journal::Platform;

/// `GET /_sandbox/console/ilab`.
pub(super) async fn page(State(console): State<Console>, RawQuery(query): RawQuery) -> Response {
    let controls = format!(
        "{}{}",
        Notice::from_query(query.as_deref()),
        launcher(&console)
    );
    let now = SystemTime::now();
    let sessions = console.ilab.sessions();
    let live = format!(
        "{}<section><h2>{}</h2>{}</section>",
        sessions_table(&sessions, now),
        both("令牌时间线", "Token timeline"),
        timeline::render(
            "ilab token timeline",
            &console.common.journal.lives(Platform::Ilab),
            now
        )
    );
    page::html_response(
        StatusCode::OK,
        page::render(console.listen, ILAB_PATH, "ilab", &controls, &live),
    )
}

/// The test users, each with the platform's button, and a form for any other user.
fn launcher(console: &Console) -> String {
    let config = &console.ilab.config;
    let mut html = format!("<section><h2>{}</h2>", both("测试用户", "Test users"));
    let Some(url) = config.launch_url.as_deref() else {
        let _ = write!(
            html,
            "<p class=\"notice\">{}</p></section>",
            both(
                "未设置实验启动地址：用 tokenkit sandbox --ilab-launch-url URL 启动沙箱后，这里的“我要做实验”会带着 ticket 跳转到实验。",
                "No launch URL is set: start the sandbox with tokenkit sandbox --ilab-launch-url URL and “我要做实验” here opens the experiment with a ticket."
            )
        );
        return html;
    };
    let _ = write!(
        html,
        "<p>{} <code>{}?ticket=…</code></p><table id=\"ilab-users\"><thead><tr><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        both(
            "点击后平台签发 ticket，浏览器跳转到",
            "A click mints a ticket and sends the browser to"
        ),
        esc(url),
        both("用户名", "user (un)"),
        both("姓名", "name (dis)"),
    );
    for user in &config.test_users {
        let _ = write!(
            html,
            "<tr data-un=\"{un}\"><td><code>{un}</code></td><td>{dis}</td><td><form class=\"inline\" method=\"post\" action=\"/_sandbox/console/ilab/launch\">\
<input type=\"hidden\" name=\"un\" value=\"{un}\"><input type=\"hidden\" name=\"dis\" value=\"{dis}\">\
<button type=\"submit\" class=\"launch\">我要做实验</button></form></td></tr>",
            un = esc(&user.un),
            dis = esc(&user.dis),
        );
    }
    let _ = write!(
        html,
        "</tbody></table><h3>{}</h3><form id=\"launch-other\" method=\"post\" action=\"/_sandbox/console/ilab/launch\">\
<label for=\"launch-un\">{}</label><input id=\"launch-un\" name=\"un\" required> \
<label for=\"launch-dis\">{}</label><input id=\"launch-dis\" name=\"dis\"> \
<button type=\"submit\" class=\"launch\">我要做实验</button></form></section>",
        both("其他用户", "Another user"),
        both("用户名", "user (un)"),
        both("姓名", "name (dis)"),
    );
    html
}

fn sessions_table(sessions: &[SessionView], now: SystemTime) -> String {
    let mut html = format!(
        "<section><h2>{}</h2><table id=\"ilab-sessions\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        both("会话", "Sessions"),
        both("用户", "user"),
        both("当前令牌", "current access token"),
        both("到期", "expires"),
        both("已用刷新", "refreshes spent"),
        both("上传的成绩", "uploaded records"),
    );
    for session in sessions.iter().rev() {
        let (class, state) = match session.state {
            TokenState::Live => ("ok", both("有效", "live")),
            TokenState::Expired => ("muted", both("已过期", "expired")),
            TokenState::Revoked => ("bad", both("已吊销", "revoked")),
        };
        let spent_class = if session.refreshes >= session.budget {
            "bad"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<tr class=\"session\" data-un=\"{un}\"><td class=\"user\"><code>{un}</code> {dis}</td>\
<td class=\"token\"><code>{token}</code> <span class=\"{class}\">{state}</span></td>\
<td class=\"expiry\">{expiry}</td><td class=\"refreshes {spent_class}\">{spent} / {budget}</td>\
<td class=\"records\">{records}</td></tr>",
            un = esc(&session.un),
            dis = esc(&session.dis),
            token = esc(&session.token),
            expiry = page::time_cell(session.expires, now),
            spent = session.refreshes,
            budget = session.budget,
            records = records_list(&session.records),
        );
    }
    if sessions.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"5\" class=\"muted\">{}</td></tr>",
            both(
                "还没有会话：点击“我要做实验”，实验后端用 ticket 换取令牌后会出现在这里。",
                "No sessions yet: click “我要做实验”; once the experiment exchanges the ticket, the session shows here."
            )
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The records as a list: title, score, and each step's score of its maximum.
fn records_list(records: &[Value]) -> String {
    if records.is_empty() {
        return format!("<span class=\"muted\">{}</span>", both("无", "none"));
    }
    let text = |v: &Value, name: &str| -> String {
        match v.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let mut html = String::from("<ul>");
    for record in records {
        let steps: Vec<String> = record
            .get("steps")
            .and_then(Value::as_array)
            .map(|steps| {
                steps
                    .iter()
                    .map(|step| {
                        format!(
                            "{} {}/{}",
                            text(step, "title"),
                            text(step, "score"),
                            text(step, "maxScore")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            "<li class=\"record\"><strong>score {score}</strong> · {title} <span class=\"muted\">({steps_label}: {steps})</span></li>",
            score = esc(&text(record, "score")),
            title = esc(&text(record, "title")),
            steps_label = both("步骤", "steps"),
            steps = esc(&steps.join("; ")),
        );
    }
    html.push_str("</ul>");
    html
}

/// `POST /_sandbox/console/ilab/launch`: what the platform does when a user clicks
/// "我要做实验": a new ticket, and the browser sent to the experiment with it.
pub(super) async fn launch(State(console): State<Console>, body: Bytes) -> Response {
    let fields = form(&body);
    let un = fields.get("un").unwrap_or_default();
    match console.ilab.launch(un, fields.get("dis")) {
        // 303 to the address built from the configured URL, which is ASCII: the
        // ticket is in it, as on the platform, and only the browser that clicked sees it.
        Ok(address) => match HeaderValue::from_str(&address) {
            Ok(location) => (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response(),
            Err(_) => page::problem(
                console.listen,
                StatusCode::INTERNAL_SERVER_ERROR,
                "启动地址无法用作跳转地址",
                "the launch URL cannot be sent as a redirect",
            ),
        },
        Err(LaunchRefusal::NoLaunchUrl) => page::problem(
            console.listen,
            StatusCode::CONFLICT,
            "未设置实验启动地址：请用 --ilab-launch-url URL 启动沙箱",
            "no launch URL is set: start the sandbox with --ilab-launch-url URL",
        ),
        Err(LaunchRefusal::NoUser) => page::problem(
            console.listen,
            StatusCode::BAD_REQUEST,
            "请填写用户名",
            "the form names no user (un)",
        ),
    }
}
