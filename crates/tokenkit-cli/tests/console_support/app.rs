//! The experiment that the console's "我要做实验" opens: a small HTTP/1.1 server on a
//! loopback port that does what an experiment backend does with tokenkit. `GET
//! /launch?ticket=…` exchanges the ticket (tokenkit's `SessionRegistry`) and greets the
//! user; `GET /report?un=…&score=…` reports a score (tokenkit's result upload).
//! One request per connection, answered with `Connection: close`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokenkit::ilab::{ExperimentResult, IlabClient, SessionRegistry, Step, Ticket};
use tokenkit::sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::DEADLINE;

/// The largest request head read; a browser's is a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// The experiment's port, bound before the sandbox starts (the sandbox is given the
/// launch URL), served once the platform's address is known.
pub struct Bound {
    listener: TcpListener,
    origin: String,
}

impl Bound {
    /// Binds a free loopback port.
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the experiment's port");
        let origin = format!(
            "http://{}",
            listener.local_addr().expect("the experiment's address")
        );
        Self { listener, origin }
    }

    /// `http://127.0.0.1:<port>/launch`, for `--ilab-launch-url`.
    pub fn launch_url(&self) -> String {
        format!("{}/launch", self.origin)
    }

    /// Serves the experiment against the platform at `platform` (the sandbox's base
    /// URL) with the sandbox's default appid and secret.
    pub fn serve(self, platform: &str) -> Experiment {
        let client = IlabClient::builder(platform, DEFAULT_APPID, DEFAULT_SECRET)
            .build()
            .expect("an ilab client of the sandbox");
        let sessions = Arc::new(SessionRegistry::new(client));
        let served = Arc::clone(&sessions);
        let listener = self.listener;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&served)));
            }
        });
        Experiment {
            origin: self.origin,
            sessions,
            task,
        }
    }
}

/// The running experiment; stopped on drop.
pub struct Experiment {
    origin: String,
    sessions: Arc<SessionRegistry>,
    task: JoinHandle<()>,
}

impl Experiment {
    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The users' sessions, as the experiment holds them.
    pub fn sessions(&self) -> &SessionRegistry {
        &self.sessions
    }
}

impl Drop for Experiment {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head and answers it. A connection a browser opens ahead of need
/// and never uses is given up after the deadline.
async fn answer(mut stream: TcpStream, sessions: Arc<SessionRegistry>) {
    let Ok(Some(target)) = tokio::time::timeout(DEADLINE, request_target(&mut stream)).await else {
        return;
    };
    let (status, body) = route(&target, &sessions).await;
    let page = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>单摆测重力加速度</title></head><body>{body}</body></html>"
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        page.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(page.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The target of a `GET` request (`/launch?ticket=…`), once its head has arrived.
async fn request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8(head).ok()?;
    let mut words = head.lines().next()?.split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => None,
    }
}

async fn route(target: &str, sessions: &SessionRegistry) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/launch" => launch(query, sessions).await,
        "/report" => report(query, sessions).await,
        _ => ("404 Not Found", "<p>not here</p>".to_owned()),
    }
}

/// The user clicked "我要做实验": the platform sent them here with a single-use
/// ticket. The raw query goes to `Ticket`, which percent-decodes it exactly once.
async fn launch(query: &str, sessions: &SessionRegistry) -> (&'static str, String) {
    let ticket = match Ticket::from_launch_url(&format!("?{query}")) {
        Ok(ticket) => ticket,
        Err(e) => {
            return (
                "400 Bad Request",
                format!("<p id=\"error\">{}</p>", escape(&e.to_string())),
            );
        }
    };
    match sessions.launch(ticket).await {
        Ok(session) => {
            let un = escape(session.un());
            let name = escape(session.display_name().unwrap_or(session.un()));
            (
                "200 OK",
                format!(
                    "<h1 id=\"welcome\">你好，{name}！</h1>\
                     <p>实验已就绪: <span id=\"un\">{un}</span></p>\
                     <p><a id=\"report\" href=\"/report?un={un}&amp;score=87\">提交成绩 87</a></p>"
                ),
            )
        }
        Err(e) => (
            "502 Bad Gateway",
            format!("<p id=\"error\">{}</p>", escape(&e.to_string())),
        ),
    }
}

/// The end of the experiment: the score, with two steps, reported for the user's
/// session through tokenkit's upload (kept pending until the platform acknowledged it).
async fn report(query: &str, sessions: &SessionRegistry) -> (&'static str, String) {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
    };
    let (un, score) = (param("un"), param("score"));
    let Ok(score) = score.parse::<u32>() else {
        return (
            "400 Bad Request",
            "<p id=\"error\">score: a whole number</p>".to_owned(),
        );
    };
    let Some(reporter) = sessions.reporter(un) else {
        return (
            "401 Unauthorized",
            "<p id=\"error\">no session: relaunch</p>".to_owned(),
        );
    };
    let ended = SystemTime::now();
    let started = ended - Duration::from_secs(1000);
    let midway = started + Duration::from_secs(600);
    let first = (f64::from(score) * 0.6).round();
    let result = ExperimentResult::builder("单摆测重力加速度")
        .times(started, ended)
        .score(f64::from(score))
        .step(
            Step::new(1, "实验操作")
                .times(started, midway)
                .score(first, 60.0),
        )
        .step(
            Step::new(2, "数据处理")
                .times(midway, ended)
                .score(f64::from(score) - first, 40.0),
        )
        .build();
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            return (
                "400 Bad Request",
                format!("<p id=\"error\">{}</p>", escape(&e.to_string())),
            );
        }
    };
    match reporter.upload(result).await {
        Ok(receipt) => (
            "200 OK",
            format!(
                "<p id=\"reported\">score {score} reported as record {}</p>",
                escape(&receipt.origin_id)
            ),
        ),
        Err(e) => (
            "502 Bad Gateway",
            format!("<p id=\"error\">{}</p>", escape(&e.to_string())),
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
