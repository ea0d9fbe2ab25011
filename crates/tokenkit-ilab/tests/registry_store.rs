//! The session registry over a store it shares, against the sandbox on a real socket:
//! store keys under a prefix (the CLI's `ilab:{appid}:{un}`), a grant launched by one
//! registry served by another without a relaunch, the two refreshes of a grant spent
//! once between them, a relaunch followed by the other registry, one session however
//! many tasks resume it at once, a flush that keeps to its own keys, an eviction that
//! leaves a grant another holder moved on, and resumed sessions as compact as launched
//! ones.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokenkit_core::{CasOutcome, FileStore, Grant, MemoryStore, TokenCache, TokenStore};
use tokenkit_ilab::{
    ExperimentResult, IlabClient, IlabProvider, REFRESH_BUDGET, Retry, SessionRegistry, Step,
    Ticket,
};
use tokenkit_sandbox::ilab::{DEFAULT_APPID, DEFAULT_SECRET, IlabConfig};
use tokenkit_sandbox::{Sandbox, SandboxConfig};
use tokio::time::Instant;

/// The CLI's keys of this experiment: `ilab:{appid}:{un}`.
const PREFIX: &str = "ilab:1681600222748241929:";
/// Long enough that a test's steps finish well within one token lifetime.
const LONG: Duration = Duration::from_secs(3600);
/// Short enough to watch a grant's two refreshes and its end.
const SHORT: Duration = Duration::from_secs(2);
/// How long a condition may take to come true before the test gives up.
const BOUND: Duration = Duration::from_secs(30);

async fn sandbox(ttl: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        ilab: IlabConfig {
            ttl,
            ..IlabConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn admin(sandbox: &Sandbox, method: reqwest::Method, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin answers")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&answer).expect("JSON")
}

/// A user clicking "我要做实验".
async fn ticket(sandbox: &Sandbox, un: &str) -> Ticket {
    let answer = admin(
        sandbox,
        reqwest::Method::POST,
        "/_sandbox/ilab/tickets",
        json!({"un": un, "dis": "张三"}),
    )
    .await;
    Ticket::from_url_value(answer["ticket_url_encoded"].as_str().expect("ticket"))
        .expect("valid ticket")
}

fn client(sandbox: &Sandbox) -> IlabClient {
    IlabClient::builder(sandbox.base_url(), DEFAULT_APPID, DEFAULT_SECRET)
        .build()
        .expect("valid client")
}

fn registry(sandbox: &Sandbox, store: &Arc<dyn TokenStore>) -> SessionRegistry {
    SessionRegistry::with_store(client(sandbox), Arc::clone(store)).key_prefix(PREFIX)
}

fn key(un: &str) -> String {
    format!("{PREFIX}{un}")
}

/// `(exchanges, refreshes)` the platform was asked for.
fn calls(sandbox: &Sandbox) -> (u64, u64) {
    let stats = sandbox.stats();
    (
        stats.get("ilab.accesstoken"),
        stats.get("ilab.refreshtoken"),
    )
}

/// A fresh directory for a file store, removed when dropped (a failed test too).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!("tokenkit-{name}-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks `probe` every 20 ms until it holds; panics naming `what` after [`BOUND`].
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + BOUND;
    while !probe().await {
        assert!(Instant::now() < deadline, "never came true: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn result(title: &str) -> ExperimentResult {
    ExperimentResult::builder(title)
        .times_ms(1_711_111_313_941, 1_711_112_313_941)
        .score(86.0)
        .step(
            Step::new(1, "实验操作")
                .times_ms(1_711_111_313_941, 1_711_111_913_941)
                .score(55.0, 60.0),
        )
        .build()
        .expect("valid")
}

/// What the CLI's `tokenkit ilab exchange --store` does: exchange, then write the grant
/// under `ilab:{appid}:{un}` with its whole budget.
async fn exchange_as_the_cli(sandbox: &Sandbox, store: &dyn TokenStore, un: &str) {
    let token = client(sandbox)
        .exchange(&ticket(sandbox, un).await)
        .await
        .expect("exchanged")
        .with_grant(Grant {
            refresh_budget: Some(REFRESH_BUDGET),
            ..Grant::default()
        });
    let outcome = store
        .compare_and_set(&key(un), 0, &token)
        .await
        .expect("store");
    assert!(matches!(outcome, CasOutcome::Written(1)), "{outcome:?}");
}

#[tokio::test]
async fn store_keys_carry_the_prefix_and_are_the_clis() {
    let sandbox = sandbox(LONG).await;
    let dir = TempDir::new("registry-keys");
    let file = FileStore::open(&dir.0).expect("store");
    let stores: [(&str, Arc<dyn TokenStore>); 2] = [
        ("memory", Arc::new(MemoryStore::new())),
        ("file", Arc::new(file.clone())),
    ];
    for (name, store) in stores {
        let un = format!("alice-{name}");
        let sessions = registry(&sandbox, &store);
        let session = sessions
            .launch(ticket(&sandbox, &un).await)
            .await
            .expect("launched");
        assert_eq!(session.cache().key(), key(&un), "{name}");
        let stored = store.load(&key(&un)).await.expect("load");
        let stored = stored.unwrap_or_else(|| panic!("{name}: no grant under the prefixed key"));
        assert_eq!(
            stored.token.user().map(|u| u.id.as_str()),
            Some(un.as_str())
        );
        assert!(store.load(&un).await.expect("load").is_none(), "{name}");
        // The CLI's `ilab token --session UN` reads the same grant, with no request.
        let before = calls(&sandbox);
        let cli = TokenCache::builder(IlabProvider::resume(client(&sandbox)))
            .store(Arc::clone(&store))
            .key(key(&un))
            .build();
        let seen = cli.token().await.expect("the CLI's token");
        let ours = session.token().await.expect("the session's token");
        assert!(seen.same_access_token(&ours), "{name}");
        assert_eq!(calls(&sandbox), before, "{name}");
    }
    assert!(file.path_for(&key("alice-file")).exists());
    // And the other way: a grant the CLI exchanged is served by the registry, named
    // after the stored token's user, with no relaunch.
    let store: Arc<dyn TokenStore> = Arc::new(file);
    exchange_as_the_cli(&sandbox, &*store, "bob").await;
    let before = calls(&sandbox);
    let sessions = registry(&sandbox, &store);
    let token = sessions.token("bob").await.expect("resumed");
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("bob"));
    let bob = sessions.get("bob").expect("kept in memory");
    assert_eq!((bob.un(), bob.display_name()), ("bob", Some("张三")));
    assert_eq!(bob.refreshes_spent(), 0);
    assert_eq!(calls(&sandbox), before);
}

#[tokio::test]
async fn another_registry_serves_the_grant_and_both_spend_two_refreshes_between_them() {
    let sandbox = sandbox(SHORT).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (a, b) = (registry(&sandbox, &store), registry(&sandbox, &store));
    let launched = a
        .launch(ticket(&sandbox, "carol").await)
        .await
        .expect("launched");
    let first = launched.token().await.expect("token");
    // B never launched carol: it resumes the stored grant, no exchange, no refresh.
    let served = b.token("carol").await.expect("served by B");
    assert!(served.same_access_token(&first));
    assert_eq!(calls(&sandbox), (1, 0));
    assert_eq!(b.len(), 1);
    assert_eq!(
        b.get("carol")
            .and_then(|s| s.display_name().map(str::to_owned))
            .as_deref(),
        Some("张三")
    );

    // Both serve carol through the grant's life: whoever comes first near expiry
    // refreshes, the other adopts it; never more than the grant's two refreshes.
    let deadline = Instant::now() + BOUND;
    let mut rounds_over = 0;
    while rounds_over < 3 {
        assert!(Instant::now() < deadline, "the grant never came to its end");
        let mut over = 0;
        for sessions in [&a, &b] {
            match sessions.token("carol").await {
                Ok(token) => assert!(!token.expiry().is_expired()),
                Err(error) => {
                    assert!(error.is_reauth_required(), "{error}");
                    assert!(error.to_string().contains("relaunch"), "{error}");
                    over += 1;
                }
            }
        }
        assert!(calls(&sandbox).1 <= 2, "a third refresh was sent");
        // Over in both, three rounds in a row: the last token has expired.
        rounds_over = if over == 2 { rounds_over + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(calls(&sandbox), (1, 2));
    let spent: u32 = b.sessions().iter().map(|s| s.refreshes_spent()).sum();
    assert_eq!(spent, 2);
    assert_eq!(a.get("carol").map(|s| s.refreshes_spent()), Some(2));
    // A third process finds only a grant that is over: no session, no request.
    let c = registry(&sandbox, &store);
    let error = c.token("carol").await.expect_err("over");
    assert!(error.is_reauth_required(), "{error}");
    assert!(c.is_empty());
    assert_eq!(calls(&sandbox), (1, 2));
}

#[tokio::test]
async fn a_relaunch_in_one_registry_is_followed_by_the_other() {
    let sandbox = sandbox(SHORT).await;
    let dir = TempDir::new("registry-relaunch");
    let store: Arc<dyn TokenStore> = Arc::new(FileStore::open(&dir.0).expect("store"));
    let (a, b) = (registry(&sandbox, &store), registry(&sandbox, &store));
    a.launch(ticket(&sandbox, "dave").await)
        .await
        .expect("launched");
    let old = b.token("dave").await.expect("resumed").to_owned_token();
    let relaunched = a
        .launch(ticket(&sandbox, "dave").await)
        .await
        .expect("relaunched");
    let new = relaunched.token().await.expect("token").to_owned_token();
    assert!(!new.same_access_token(&old));
    let grant_of =
        |token: &tokenkit_core::Token| token.refresh_token().map(|r| r.expose_secret().to_owned());
    let (old_grant, new_grant) = (grant_of(&old), grant_of(&new));
    assert_ne!(old_grant, new_grant);
    // B still holds the old grant's token; when it runs out, B goes on with the new
    // grant from the store (its token, or a refresh of it if that one is about to
    // expire too), never with a refresh of the old grant.
    let (b_ref, new_grant) = (&b, &new_grant);
    eventually("B serves the new grant", move || async move {
        let token = b_ref.token("dave").await.expect("B's token");
        grant_of(&token) == *new_grant
    })
    .await;
    let (exchanges, refreshes) = calls(&sandbox);
    assert_eq!(exchanges, 2);
    assert!(refreshes <= 1, "{refreshes} refreshes");
    let stored = store
        .load(&key("dave"))
        .await
        .expect("load")
        .expect("stored");
    assert_eq!(grant_of(&stored.token), *new_grant);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_resuming_one_user_make_one_session() {
    let sandbox = sandbox(LONG).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    registry(&sandbox, &store)
        .launch(ticket(&sandbox, "erin").await)
        .await
        .expect("launched elsewhere");
    let sessions = Arc::new(registry(&sandbox, &store));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move { sessions.session("erin").await })
        })
        .collect();
    let mut resumed = Vec::new();
    for task in tasks {
        resumed.push(task.await.expect("task").expect("resumed"));
    }
    assert_eq!(sessions.len(), 1);
    let kept = sessions.get("erin").expect("kept");
    assert!(resumed.iter().all(|s| Arc::ptr_eq(s, &kept)));
    assert_eq!(calls(&sandbox), (1, 0));

    // A launch racing with resumes of the same user: the launch's session stays.
    let fresh = Arc::new(registry(&sandbox, &store));
    let new_ticket = ticket(&sandbox, "erin").await;
    let resumes: Vec<_> = (0..8)
        .map(|_| {
            let sessions = Arc::clone(&fresh);
            tokio::spawn(async move { sessions.session("erin").await })
        })
        .collect();
    let launched = fresh.launch(new_ticket).await.expect("launched");
    for task in resumes {
        task.await.expect("task").expect("a session");
    }
    assert_eq!(fresh.len(), 1);
    assert!(Arc::ptr_eq(&fresh.get("erin").expect("kept"), &launched));
}

#[tokio::test]
async fn a_flush_delivers_only_the_pending_results_under_its_prefix() {
    let sandbox = sandbox(LONG).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let sessions = registry(&sandbox, &store);
    sessions
        .launch(ticket(&sandbox, "frank").await)
        .await
        .expect("launched");
    // Gina's grant is in the store (the CLI exchanged it), not in this registry.
    exchange_as_the_cli(&sandbox, &*store, "gina").await;
    let keep = |key: String, un: &'static str, appid: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let record = result("单摆测重力加速度").for_session(un, appid);
            store
                .put_pending(&key, record.origin_id(), &record.to_json().to_string())
                .await
                .expect("kept");
            record.origin_id().to_owned()
        }
    };
    let frank = keep(key("frank"), "frank", DEFAULT_APPID).await;
    let gina = keep(key("gina"), "gina", DEFAULT_APPID).await;
    // Another experiment's record, and one under a bare key (a registry without prefix).
    keep("ilab:another-app:frank".into(), "frank", "another-app").await;
    keep("frank".into(), "frank", DEFAULT_APPID).await;

    let reports = sessions
        .flush_pending(Retry::default())
        .await
        .expect("store readable");
    let keys: Vec<&str> = reports.iter().map(|r| r.grant_key.as_str()).collect();
    assert_eq!(keys, [key("frank"), key("gina")]);
    let delivered: Vec<&str> = reports
        .iter()
        .flat_map(|r| r.delivered.iter().map(|d| d.origin_id.as_str()))
        .collect();
    assert_eq!(delivered, [frank.as_str(), gina.as_str()]);
    let mut left = store.pending_keys().await.expect("store");
    left.sort();
    assert_eq!(left, ["frank", "ilab:another-app:frank"]);
    let records = admin(
        &sandbox,
        reqwest::Method::GET,
        "/_sandbox/ilab/records",
        json!({}),
    )
    .await;
    let users: Vec<&str> = records["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["username"].as_str())
        .collect();
    assert_eq!(users, ["frank", "gina"]);
}

#[tokio::test]
async fn eviction_removes_a_grant_from_the_store_only_when_nobody_moved_it_on() {
    let sandbox = sandbox(SHORT).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let a = registry(&sandbox, &store).max_idle(Duration::ZERO);
    let b = registry(&sandbox, &store);
    a.launch(ticket(&sandbox, "hana").await)
        .await
        .expect("launched");
    b.token("hana").await.expect("resumed");
    // B goes on using the grant past the first expiry (a refresh); A does not.
    let b_ref = &b;
    eventually("B refreshed the grant", move || async move {
        b_ref.token("hana").await.expect("B's token");
        b_ref.sessions()[0].refreshes_spent() == 1
    })
    .await;
    let a_ref = &a;
    eventually("A's idle session is evicted", move || async move {
        a_ref.evict_expired().await == 1
    })
    .await;
    // A's copy had run out, but the grant lives on in B: it stays in the store.
    assert!(a.is_empty());
    assert!(store.load(&key("hana")).await.expect("load").is_some());
    b.token("hana").await.expect("B still serves hana");
    // A grant nobody moved on is removed with its session, under its prefixed key.
    a.launch(ticket(&sandbox, "ivan").await)
        .await
        .expect("launched");
    eventually("ivan's idle session is evicted", move || async move {
        a_ref.evict_expired().await == 1
    })
    .await;
    assert!(store.load(&key("ivan")).await.expect("load").is_none());
    assert!(
        a.token("ivan")
            .await
            .expect_err("gone")
            .is_reauth_required()
    );
}

#[tokio::test]
async fn a_resumed_session_refreshes_into_compact_tokens_as_a_launched_one() {
    let sandbox = sandbox(SHORT).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    // The CLI keeps the whole answer (decoded claims, `scope`, `jti`).
    exchange_as_the_cli(&sandbox, &*store, "jack").await;
    let sessions = registry(&sandbox, &store);
    let first = sessions
        .token("jack")
        .await
        .expect("resumed")
        .to_owned_token();
    assert!(!first.metadata().claims.is_empty());
    let sessions_ref = &sessions;
    eventually("the resumed session refreshed", move || async move {
        sessions_ref.token("jack").await.expect("token");
        sessions_ref.get("jack").map(|s| s.refreshes_spent()) == Some(1)
    })
    .await;
    let refreshed = sessions.token("jack").await.expect("token");
    let meta = refreshed.metadata();
    assert!(meta.claims.is_empty() && meta.extra.is_empty());
    assert_eq!(refreshed.user().map(|u| u.id.as_str()), Some("jack"));
    assert_eq!(calls(&sandbox), (1, 1));
}
