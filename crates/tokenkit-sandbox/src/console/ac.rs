//! The ac page: every (user, cluster) pair with its account status and current token,
//! the accounts and regions, the token timeline; and the operator's actions on a pair
//! (revoke its token, suspend or resume the account there).

use std::fmt::Write as _;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, both, esc};
use super::{AC_PATH, Console, Notice, back_to, form, timeline};
use crate::ac::{AcView, PairRefusal, TokenState};
use crate::journal::Platform;

/// `GET /_sandbox/console/ac`.
pub(super) async fn page(State(console): State<Console>, RawQuery(query): RawQuery) -> Response {
    let now = SystemTime::now();
    let view = console.ac.view();
    let live = format!(
        "{}<section><h2>{}</h2>{}</section>{}{}",
        tokens_table(&view, now),
        both("令牌时间线", "Token timeline"),
        timeline::render(
            "ac token timeline",
            &console.common.journal.lives(Platform::Ac),
            now
        ),
        accounts_table(&view),
        clusters_table(&view),
    );
    page::html_response(
        StatusCode::OK,
        page::render(
            console.listen,
            AC_PATH,
            "ac",
            &Notice::from_query(query.as_deref()),
            &live,
        ),
    )
}

fn tokens_table(view: &AcView, now: SystemTime) -> String {
    let mut html = format!(
        "<section><h2>{}</h2><p class=\"muted\">{}</p><table id=\"ac-tokens\"><thead><tr>\
<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
        both("令牌", "Tokens"),
        both(
            "每个账户在每个区域一个令牌；登录时签发，续约或重新登录时替换。停用后登录返回 \"token\": null。",
            "One token per account and region: issued by a login, replaced by a renewal or a later login. A suspended account's login lists \"token\": null."
        ),
        both("用户", "user"),
        both("区域", "cluster"),
        both("账户状态", "account status"),
        both("当前令牌", "current token"),
        both("到期", "expires"),
        both("状态", "state"),
    );
    for pair in &view.pairs {
        let (status_class, status) = if pair.suspended {
            ("bad", both("已停用", "suspended"))
        } else {
            ("ok", both("正常", "active"))
        };
        let (state_class, state_key, state) = match pair.state {
            TokenState::Live => ("ok", "live", both("有效", "live")),
            TokenState::Expired => ("muted", "expired", both("已过期", "expired")),
            TokenState::Revoked => ("bad", "revoked", both("已吊销", "revoked")),
            TokenState::None => ("muted", "none", both("无", "none")),
        };
        let (token, expiry) = match &pair.token {
            Some((masked, expires)) => (
                format!("<code>{}</code>", esc(masked)),
                page::time_cell(*expires, now),
            ),
            None => (
                format!(
                    "<span class=\"muted\">{}</span>",
                    both("未签发", "none issued")
                ),
                "—".to_owned(),
            ),
        };
        let mut actions = String::new();
        // Only a token not revoked yet can be revoked (an expired one too: it can
        // still be renewed within the window).
        if matches!(pair.state, TokenState::Live | TokenState::Expired) {
            actions.push_str(&action_form(
                "revoke",
                &pair.user,
                &pair.cluster,
                "<button class=\"revoke\">吊销 Revoke</button>",
            ));
        }
        actions.push_str(&if pair.suspended {
            action_form(
                "resume",
                &pair.user,
                &pair.cluster,
                "<button class=\"resume\">恢复 Resume</button>",
            )
        } else {
            action_form(
                "suspend",
                &pair.user,
                &pair.cluster,
                "<button class=\"suspend\">停用 Suspend</button>",
            )
        });
        let _ = write!(
            html,
            "<tr data-user=\"{user}\" data-cluster=\"{cluster}\"><td class=\"user\"><code>{user}</code></td>\
<td class=\"cluster\"><code>{cluster}</code> {cluster_name}</td>\
<td class=\"status\"><span class=\"{status_class}\">{status}</span> <code>{account_status}</code></td>\
<td class=\"token\">{token}</td><td class=\"expiry\">{expiry}</td>\
<td class=\"state\" data-state=\"{state_key}\"><span class=\"{state_class}\">{state}</span></td>\
<td class=\"actions\">{actions}</td></tr>",
            user = esc(&pair.user),
            cluster = esc(&pair.cluster),
            cluster_name = esc(&pair.cluster_name),
            account_status = esc(&pair.account_status),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// A one-button form posting the pair to `/_sandbox/console/ac/<action>`.
fn action_form(action: &str, user: &str, cluster: &str, button: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{AC_PATH}/{action}\">\
<input type=\"hidden\" name=\"user\" value=\"{}\"><input type=\"hidden\" name=\"cluster\" value=\"{}\">{button}</form> ",
        esc(user),
        esc(cluster)
    )
}

fn accounts_table(view: &AcView) -> String {
    let mut html = format!(
        "<section><h2>{}</h2><table id=\"ac-accounts\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        both("账户", "Accounts"),
        both("用户", "user"),
        both("orgId", "orgId"),
        both("userId", "userId"),
        both("AccessKey", "access key id"),
    );
    for account in &view.accounts {
        let keys = if account.access_keys.is_empty() {
            format!("<span class=\"muted\">{}</span>", both("无", "none"))
        } else {
            account
                .access_keys
                .iter()
                .map(|k| format!("<code>{}</code>", esc(k)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = write!(
            html,
            "<tr data-user=\"{user}\"><td><code>{user}</code></td><td><code>{org}</code></td><td><code>{id}</code></td><td>{keys}</td></tr>",
            user = esc(&account.user),
            org = esc(&account.org_id),
            id = esc(&account.user_id),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn clusters_table(view: &AcView) -> String {
    let mut html = format!(
        "<section><h2>{}</h2><table id=\"ac-clusters\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        both("区域", "Clusters"),
        both("clusterId", "clusterId"),
        both("名称", "name"),
        both("配置的账户状态", "configured account status"),
        both("center 列出的地址", "URLs center lists"),
    );
    for cluster in &view.clusters {
        let configured = if cluster.suspended {
            format!(
                "<code>{}</code> <span class=\"bad\">{}</span>",
                esc(&cluster.account_status),
                both("初始停用", "starts suspended")
            )
        } else {
            format!("<code>{}</code>", esc(&cluster.account_status))
        };
        let urls = if cluster.id == "0" {
            format!(
                "<span class=\"muted\">{}</span>",
                both(
                    "平台令牌：center 答 10009",
                    "platform token: center answers 10009"
                )
            )
        } else {
            let mut list = String::from("<ul>");
            for (name, url, enabled) in &cluster.urls {
                let flag = if *enabled {
                    String::new()
                } else {
                    format!(
                        " <span class=\"muted\">{}</span>",
                        both("已禁用", "disabled")
                    )
                };
                let _ = write!(list, "<li>{name}: <code>{}</code>{flag}</li>", esc(url));
            }
            list.push_str("</ul>");
            list
        };
        let _ = write!(
            html,
            "<tr data-cluster=\"{id}\"><td><code>{id}</code></td><td>{name}</td><td>{configured}</td><td>{urls}</td></tr>",
            id = esc(&cluster.id),
            name = esc(&cluster.name),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The pair a form names, or the page that says what is wrong with it.
fn act(
    console: &Console,
    body: &Bytes,
    action: impl FnOnce(&crate::ac::AcState, &str, &str) -> Result<Notice, PairRefusal>,
) -> Response {
    let fields = form(body);
    let field = |name: &str| fields.get(name).unwrap_or_default();
    match action(&console.ac, field("user"), field("cluster")) {
        Ok(notice) => back_to(AC_PATH, notice),
        Err(refusal) => {
            let (zh, en) = match refusal {
                PairRefusal::NoUser => {
                    ("请指定用户".to_owned(), "the form names no user".to_owned())
                }
                PairRefusal::NoCluster => (
                    "请指定区域".to_owned(),
                    "the form names no cluster".to_owned(),
                ),
                PairRefusal::UnknownUser(user) => (
                    format!("没有这个用户：{}", shown(&user)),
                    format!("no such user: {}", shown(&user)),
                ),
                PairRefusal::UnknownCluster(cluster) => (
                    format!("没有这个区域：{}", shown(&cluster)),
                    format!("no such cluster: {}", shown(&cluster)),
                ),
            };
            page::problem(console.listen, StatusCode::BAD_REQUEST, &zh, &en)
        }
    }
}

/// A value from the form, quoted and cut short, for a problem page (which escapes it).
fn shown(value: &str) -> String {
    const MAX: usize = 64;
    let mut cut: String = value.chars().take(MAX).collect();
    if value.chars().count() > MAX {
        cut.push('…');
    }
    format!("“{cut}”")
}

/// `POST /_sandbox/console/ac/revoke`: revokes the pair's current token.
pub(super) async fn revoke(State(console): State<Console>, body: Bytes) -> Response {
    act(&console, &body, |ac, user, cluster| {
        Ok(if ac.revoke_pair(user, cluster)? {
            Notice::Revoked
        } else {
            Notice::NothingRevoked
        })
    })
}

/// `POST /_sandbox/console/ac/suspend`: suspends the account in the region.
pub(super) async fn suspend(State(console): State<Console>, body: Bytes) -> Response {
    act(&console, &body, |ac, user, cluster| {
        ac.suspend(user, cluster).map(|()| Notice::Suspended)
    })
}

/// `POST /_sandbox/console/ac/resume`: resumes the account in the region.
pub(super) async fn resume(State(console): State<Console>, body: Bytes) -> Response {
    act(&console, &body, |ac, user, cluster| {
        ac.resume(user, cluster).map(|()| Notice::Resumed)
    })
}
