//! 100,000 ilab sessions in one `SessionRegistry`: memory per session and lookup time.
//!
//! Run: `cargo bench -p tokenkit --features ilab --bench ilab_sessions`
//!
//! Memory is the growth of the process's resident set (Linux `/proc/self/statm`) while
//! the sessions are created, divided by their number: it includes the allocator's own
//! overhead and fragmentation, as a real process would pay. Each session holds tokens of
//! the seed's size (access 660 B, refresh 720 B: the "token bytes") with their decoded
//! claims. No network is used: the tokens are inserted as if exchanged elsewhere
//! (`SessionRegistry::insert`), which is what `launch` does after its one request.
//! Sessions hold compact tokens (`tokenkit::ilab::compact`: no decoded claims).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokenkit::ilab::{IlabClient, SessionRegistry, compact};
use tokenkit::{Arrival, Expiry, Metadata, Token, UserIdentity};

const SESSIONS: usize = 100_000;
const LOOKUPS: usize = 1_000_000;

/// The access and refresh tokens of the seed's §1.1 example.
const ACCESS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTExODk2MjksImp0aSI6ImE1N2FiOTljLTZlZDMtNGI5My1hOGEzLTA3NzQ2NDM0ZmZlOCIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.rnRo5Z0D4R2p6jd57Ld29hAOegDtddKA4Z4sp4C7kD8";
const REFRESH: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJhdGkiOiJhNTdhYjk5Yy02ZWQzLTRiOTMtYThhMy0wNzc0NjQzNGZmZTgiLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTM2OTUyMjksImp0aSI6ImE3YTUwYzdmLTMxN2MtNGUzYy1iNTIwLWViZDhiMDI2ZmVjZiIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.CCIavimTmuyBcy6LxP9GHJHZSfurR9ILjhg-N2b9e48";

/// Resident set size in bytes, where the platform tells it.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn un(i: usize) -> String {
    format!("17018081697931{i:05}")
}

/// A token as the exchange produces it: seed-sized JWTs, identity, extra fields.
fn exchanged(i: usize) -> Token {
    let mut extra = Map::new();
    extra.insert("scope".into(), Value::from("callback:score"));
    extra.insert(
        "jti".into(),
        Value::from(format!("a57ab99c-6ed3-4b93-a8a3-0774643{i:05}")),
    );
    extra.insert("create_time".into(), Value::from(1_711_103_229_122_i64));
    extra.insert("expires_time".into(), Value::from(1_711_189_628_122_i64));
    Token::new(
        ACCESS,
        Expiry::after(Arrival::now(), Duration::from_secs(86_399)),
    )
    .with_refresh_token(REFRESH)
    .with_metadata(Metadata {
        user: Some(UserIdentity {
            id: un(i),
            display_name: Some("用户姓名".into()),
        }),
        extra,
        ..Metadata::default()
    })
}

fn per_item(before: Option<u64>, after: Option<u64>, n: usize) -> Option<f64> {
    Some(after?.saturating_sub(before?) as f64 / n as f64)
}

/// Each measurement runs in a fresh process (this bench re-executed with a phase in
/// `ILAB_SESSIONS_PHASE`), so memory freed by one cannot flatter the next.
const PHASE_ENV: &str = "ILAB_SESSIONS_PHASE";

fn main() -> Result<(), tokenkit::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| tokenkit::Error::config("no runtime"))?;
    match std::env::var(PHASE_ENV).as_deref() {
        Ok("tokens") => {
            println!("{}", measure_tokens(exchanged).unwrap_or(f64::NAN));
            Ok(())
        }
        Ok("compact") => {
            println!(
                "{}",
                measure_tokens(|i| compact(exchanged(i))).unwrap_or(f64::NAN)
            );
            Ok(())
        }
        Ok("sessions") => runtime.block_on(measure_sessions()),
        _ => report(),
    }
}

/// Runs one phase in a child process and returns its output lines.
fn phase(name: &str) -> Result<Vec<String>, tokenkit::Error> {
    let exe = std::env::current_exe().map_err(|_| tokenkit::Error::config("no current exe"))?;
    let out = std::process::Command::new(exe)
        .env(PHASE_ENV, name)
        .output()
        .map_err(|_| tokenkit::Error::config("cannot run a phase"))?;
    if !out.status.success() {
        return Err(tokenkit::Error::config(format!("phase {name} failed")));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn report() -> Result<(), tokenkit::Error> {
    let token_bytes = (ACCESS.len() + REFRESH.len()) as f64;
    println!(
        "ilab_sessions: {SESSIONS} sessions; token bytes (access + refresh) {token_bytes} B each\n"
    );
    let bare: f64 = phase("tokens")?
        .first()
        .and_then(|l| l.parse().ok())
        .unwrap_or(f64::NAN);
    let compact: f64 = phase("compact")?
        .first()
        .and_then(|l| l.parse().ok())
        .unwrap_or(f64::NAN);
    let lines = phase("sessions")?;
    let value = |i: usize| -> f64 {
        lines
            .get(i)
            .and_then(|l| l.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (session, insert_us, get_ns, token_ns) = (value(0), value(1), value(2), value(3));
    println!(
        "{:<48} {:>8.0} B",
        "resident memory per bare Token (+ claims)", bare
    );
    println!(
        "{:<48} {:>8.0} B",
        "resident memory per compact Token", compact
    );
    println!("{:<48} {:>8.0} B", "resident memory per session", session);
    println!(
        "{:<48} {:>8.0} B",
        "  above the token bytes",
        session - token_bytes
    );
    println!(
        "{:<48} {:>8.0} B",
        "  above one compact Token",
        session - compact
    );
    println!("{:<48} {:>8.2} µs", "insert, per session", insert_us);
    println!("{:<48} {:>8.0} ns", "lookup: get(un), random user", get_ns);
    println!(
        "{:<48} {:>8.0} ns",
        "lookup: token(un), fresh cached token", token_ns
    );
    Ok(())
}

/// Resident bytes per token made by `make`.
fn measure_tokens(make: impl Fn(usize) -> Token) -> Option<f64> {
    let before = resident_bytes();
    let bare: Vec<Token> = (0..SESSIONS).map(make).collect();
    let per = per_item(before, resident_bytes(), SESSIONS);
    black_box(bare);
    per
}

/// Prints: resident bytes per session, µs per insert, ns per `get`, ns per `token`.
async fn measure_sessions() -> Result<(), tokenkit::Error> {
    let client =
        IlabClient::builder("http://127.0.0.1:9", "1681600222748241929", "bench-secret").build()?;
    let registry = SessionRegistry::new(client);
    let before = resident_bytes();
    let started = Instant::now();
    for i in 0..SESSIONS {
        registry.insert(exchanged(i)).await?;
    }
    let insert = started.elapsed();
    let per = per_item(before, resident_bytes(), SESSIONS);
    assert_eq!(registry.len(), SESSIONS);

    // Lookups of random users: the map read, and the cached token read.
    let keys: Vec<String> = (0..LOOKUPS).map(|_| un(fastrand_index())).collect();
    let started = Instant::now();
    for key in &keys {
        black_box(registry.get(key));
    }
    let get = started.elapsed();
    let started = Instant::now();
    for key in &keys {
        black_box(registry.token(key).await?.remaining());
    }
    let token = started.elapsed();
    println!("{}", per.unwrap_or(f64::NAN));
    println!("{}", insert.as_secs_f64() * 1e6 / SESSIONS as f64);
    println!("{}", get.as_secs_f64() * 1e9 / LOOKUPS as f64);
    println!("{}", token.as_secs_f64() * 1e9 / LOOKUPS as f64);
    Ok(())
}

/// A cheap pseudo-random index (xorshift), so the lookups do not walk the map in order.
fn fastrand_index() -> usize {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) });
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x % SESSIONS as u64) as usize
    })
}
