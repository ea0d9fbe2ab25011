//! The bo page: the platform's settings (never its DES key or IV), every session with
//! its chain of refresh tokens and its access tokens, a revoke button per session, and
//! the bo timeline; and the revoke action.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both, esc};
use super::{BO_PATH, Console, Notice, back_to, form, timeline};
use crate::bo::{
    SessionRevocation, SessionState, SessionView, SettingsView, TokenState, TokenView,
};
use crate::journal::Platform;

/// The revoke action's path.
const REVOKE_ACTION: &str = "/_sandbox/console/bo/revoke";

/// `GET /_sandbox/console/bo`.
pub(super) async fn page(State(console): State<Console>, RawQuery(query): RawQuery) -> Response {
    let controls = format!(
        "{}{}",
        Notice::from_query(query.as_deref()),
        settings(&console.bo.settings())
    );
    let now = SystemTime::now();
    let live = format!(
        "{}<section><h2>{}</h2>{}</section>",
        sessions_table(&console.bo.sessions(), now),
        both("令牌时间线", "Token timeline"),
        timeline::render(
            "bo token timeline",
            &console.common.journal.lives(Platform::Bo),
            now
        )
    );
    page::html_response(
        StatusCode::OK,
        page::render(console.listen, BO_PATH, "bo", &controls, &live),
    )
}

/// What the platform is configured with; the DES key and IV are secrets, not shown.
fn settings(settings: &SettingsView) -> String {
    let rotation = if settings.rotates {
        both("每次刷新轮换", "rotated on every refresh")
    } else {
        both("刷新时沿用", "kept across refreshes")
    };
    format!(
        "<section><h2>{title}</h2><p>{owner_label}: <code id=\"bo-owner\">{owner}</code> · \
{ttl_label}: {ttl} · {refresh_label}: {refresh_ttl}, {rotation}</p>\
<p class=\"muted\">{note}</p></section>",
        title = both("平台设置", "Platform settings"),
        owner_label = both("项目 XownerId", "owner id"),
        owner = esc(&settings.owner_id),
        ttl_label = both("访问令牌有效期", "access token lifetime"),
        ttl = esc(&duration(settings.ttl)),
        refresh_label = both("刷新令牌有效期", "refresh token lifetime"),
        refresh_ttl = esc(&duration(settings.refresh_ttl)),
        note = both(
            "XverifyApi 的 DES 密钥和 IV 是机密，这里不显示。",
            "The DES key and IV of XverifyApi are secrets and are not shown."
        ),
    )
}

/// `90 s`, `1 min`, `7 d`: a lifetime in its largest whole unit.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn sessions_table(sessions: &[SessionView], now: SystemTime) -> String {
    let mut html = format!(
        "<section><h2>{}</h2><table id=\"bo-sessions\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        both("会话", "Sessions"),
        both("会话", "session"),
        both("用户", "user"),
        both("刷新令牌链", "refresh-token chain"),
        both("访问令牌", "access tokens"),
        both("状态", "state"),
    );
    for session in sessions.iter().rev() {
        let (class, state) = match session.state {
            SessionState::Active => ("ok", both("有效", "active")),
            SessionState::Expired => ("muted", both("已过期", "expired")),
            SessionState::Revoked(at) => (
                "bad",
                format!("{} {}", both("已吊销", "revoked"), page::time_cell(at, now)),
            ),
        };
        let action = match session.state {
            SessionState::Revoked(_) => String::new(),
            _ => format!(
                "<form class=\"inline\" method=\"post\" action=\"{REVOKE_ACTION}\">\
<input type=\"hidden\" name=\"session\" value=\"{}\">\
<button type=\"submit\" class=\"revoke\">吊销 Revoke</button></form>",
                session.number
            ),
        };
        let _ = write!(
            html,
            "<tr data-session=\"{number}\"><td class=\"number\">#{number}</td>\
<td class=\"user\"><code>{user_id}</code> {user_name}</td>\
<td class=\"chain\">{chain}</td><td class=\"access\">{access}</td>\
<td class=\"state\"><span class=\"{class}\">{state}</span></td><td class=\"action\">{action}</td></tr>",
            number = session.number,
            user_id = esc(&session.user_id),
            user_name = esc(&session.user_name),
            chain = chain_list(&session.refresh, now),
            access = access_list(&session.access, now),
        );
    }
    if sessions.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"6\" class=\"muted\">{}</td></tr>",
            both(
                "还没有会话：POST /_sandbox/bo/sessions 登录后会出现在这里。",
                "No sessions yet: a login (POST /_sandbox/bo/sessions) shows here."
            )
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// How a token's state reads: its class and its bilingual name.
fn state_label(state: TokenState) -> (&'static str, String) {
    match state {
        TokenState::Live => ("ok", both("有效", "live")),
        TokenState::Rotated => ("muted", both("已轮换", "rotated")),
        TokenState::Revoked => ("bad", both("已吊销", "revoked")),
        TokenState::Expired => ("muted", both("已过期", "expired")),
    }
}

/// The refresh tokens in issue order, the live one marked `live`.
fn chain_list(tokens: &[TokenView], now: SystemTime) -> String {
    let mut html = String::from("<ol>");
    for token in tokens {
        let (class, state) = state_label(token.state);
        let item = if token.state == TokenState::Live {
            "refresh live"
        } else {
            "refresh"
        };
        let _ = write!(
            html,
            "<li class=\"{item}\"><code>{masked}</code> <span class=\"{class}\">{state}</span> \
<span class=\"muted\">{issued_label}</span> {issued}</li>",
            masked = esc(&token.masked),
            issued_label = both("签发", "issued"),
            issued = page::time_cell(token.issued, now),
        );
    }
    html.push_str("</ol>");
    html
}

/// The access tokens in issue order, each with its expiry and state.
fn access_list(tokens: &[TokenView], now: SystemTime) -> String {
    let mut html = String::from("<ul>");
    for token in tokens {
        let (class, state) = state_label(token.state);
        let _ = write!(
            html,
            "<li class=\"token\"><code>{masked}</code> <span class=\"{class}\">{state}</span> \
<span class=\"muted\">{expires_label}</span> {expires}</li>",
            masked = esc(&token.masked),
            expires_label = both("到期", "expires"),
            expires = page::time_cell(token.expires, now),
        );
    }
    html.push_str("</ul>");
    html
}

/// `POST /_sandbox/console/bo/revoke`: revokes the session the form names.
pub(super) async fn revoke(State(console): State<Console>, body: Bytes) -> Response {
    let fields = form(&body);
    let number = fields
        .get("session")
        .and_then(|n| n.trim().parse::<u64>().ok());
    let outcome = number.map_or(SessionRevocation::Unknown, |n| console.bo.revoke_session(n));
    match outcome {
        SessionRevocation::Revoked => back_to(BO_PATH, Notice::Revoked),
        SessionRevocation::AlreadyRevoked => back_to(BO_PATH, Notice::NothingRevoked),
        SessionRevocation::Unknown => page::problem(
            console.listen,
            StatusCode::BAD_REQUEST,
            "没有这个会话",
            "the form names no session of the bo platform",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_in_their_largest_whole_unit() {
        assert_eq!(duration(Duration::from_secs(60)), "1 min");
        assert_eq!(duration(Duration::from_secs(90)), "90 s");
        assert_eq!(duration(Duration::from_secs(7 * 86_400)), "7 d");
        assert_eq!(duration(Duration::from_secs(7200)), "2 h");
        assert_eq!(duration(Duration::ZERO), "0 s");
    }
}
