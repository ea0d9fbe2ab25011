//! A soak benchmark: how available are tokens when the platforms misbehave?
//!
//! Starts the sandbox with injected faults (a share of the platform requests answered
//! with an HTML 503, a share cut off after they were handled) and short token
//! lifetimes, builds one `TokenCache` per platform (ilab, ac, bo) over the real
//! providers, and calls `token()` from a few tasks per platform at a steady rate for
//! a while. Then it prints, per platform, a Markdown table (ready for docs/soak.md):
//!
//! - the share of `token()` calls that returned a token;
//! - errors returned while a token this cache had handed out was still before its
//!   deadline (the cache promises none);
//! - the longest outage: the longest span during which every call failed;
//! - the upstream token requests the sandbox counted;
//! - re-logins: when the cache says only a new login helps, the soak does what the
//!   platform's user would (ilab: relaunch the experiment for a new ticket; bo: log in
//!   to the application again) and goes on with a new cache.
//!
//! ```text
//! cargo run --release --all-features --example soak -- --seconds 60 --fail-rate 0.3 --drop-rate 0.1 --ttl 3
//! cargo run --release --all-features --example soak -- --quick   # 10 s, to see that it runs
//! ```
//!
//! Every request goes to the sandbox on 127.0.0.1; the run stops by itself.

mod platforms;
mod tally;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokenkit::sandbox::{Faults, Sandbox, SandboxConfig};
use tokenkit::{Error, TokenCache};
use tokio::time::Instant;

use platforms::Platform;
use tally::{Tally, Validity};

/// What the command line sets.
#[derive(Debug, Clone)]
struct Settings {
    seconds: u64,
    fail_rate: f64,
    drop_rate: f64,
    ttl: u64,
    callers: usize,
    interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            seconds: 60,
            fail_rate: 0.3,
            drop_rate: 0.1,
            ttl: 3,
            callers: 4,
            interval: Duration::from_millis(20),
        }
    }
}

const USAGE: &str = "usage: soak [--seconds N] [--fail-rate F] [--drop-rate F] [--ttl SECONDS] \
[--callers K] [--interval-ms MS] [--quick]";

impl Settings {
    /// Parses `--name value` pairs; a bad or unknown one is named in the error.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut settings = Self::default();
        while let Some(flag) = args.next() {
            if flag == "--quick" {
                settings.seconds = 10;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |what: &str| format!("{flag} {value:?}: {what}");
            let rate = || match value.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(bad("expected a fraction between 0 and 1")),
            };
            let positive = || match value.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad("expected a positive whole number")),
            };
            match flag.as_str() {
                "--seconds" => settings.seconds = positive()?,
                "--fail-rate" => settings.fail_rate = rate()?,
                "--drop-rate" => settings.drop_rate = rate()?,
                "--ttl" => settings.ttl = positive()?,
                "--callers" => {
                    settings.callers = usize::try_from(positive()?).map_err(|_| bad("too many"))?;
                }
                "--interval-ms" => settings.interval = Duration::from_millis(positive()?),
                _ => return Err(format!("unknown argument {flag:?}")),
            }
        }
        Ok(settings)
    }
}

/// One grant of a platform: its cache, and the latest token it handed out with its
/// deadline.
struct Grant {
    cache: TokenCache,
    latest: Mutex<Option<(String, Instant)>>,
}

impl Grant {
    fn new(cache: TokenCache) -> Arc<Self> {
        Arc::new(Self {
            cache,
            latest: Mutex::new(None),
        })
    }

    fn saw_token(&self, token: &str, deadline: Instant) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if latest.as_ref().is_none_or(|(_, until)| deadline >= *until) {
            *latest = Some((token.to_owned(), deadline));
        }
    }

    /// The latest token handed out, if it is still before its deadline at `at`.
    fn unexpired_at(&self, at: Instant) -> Option<String> {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest
            .as_ref()
            .filter(|(_, until)| *until > at)
            .map(|(token, _)| token.clone())
    }
}

/// One platform under soak: its current grant, shared by its callers, and its tally.
struct Lane {
    platform: Platform,
    grant: tokio::sync::Mutex<Arc<Grant>>,
    tally: Mutex<Tally>,
}

impl Lane {
    async fn current(&self) -> Arc<Grant> {
        Arc::clone(&*self.grant.lock().await)
    }

    /// Replaces `failed` by a new grant, unless another caller already did.
    async fn relogin(&self, sandbox: &Sandbox, failed: &Arc<Grant>) -> Result<(), Error> {
        let mut grant = self.grant.lock().await;
        if Arc::ptr_eq(&grant, failed) {
            *grant = Grant::new(self.platform.new_grant(sandbox).await?);
            self.tally().relogins += 1;
        }
        Ok(())
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One caller: `token()` every `interval` until `end`.
async fn call_until(lane: Arc<Lane>, sandbox: Arc<Sandbox>, interval: Duration, end: Instant) {
    let mut next = Instant::now();
    while next < end {
        let grant = lane.current().await;
        let outcome = grant.cache.token().await;
        let at = Instant::now();
        match outcome {
            Ok(token) => {
                grant.saw_token(
                    token.access_token().expose_secret(),
                    token.expiry().deadline(),
                );
                lane.tally().success(at);
            }
            Err(e) => {
                // Valid: before its deadline, and still accepted by the platform.
                let unexpired = grant.unexpired_at(at);
                let validity = match unexpired {
                    None => Validity::None,
                    Some(token) if lane.platform.accepts(&sandbox, &token).await => Validity::Valid,
                    Some(_) => Validity::Replaced,
                };
                let reauth = e.is_reauth_required();
                lane.tally().failure(at, validity, reauth, e.to_string());
                if reauth && let Err(e) = lane.relogin(&sandbox, &grant).await {
                    eprintln!("{}: a new grant failed: {e}", lane.platform.name());
                }
            }
        }
        next += interval;
        tokio::time::sleep_until(next.max(Instant::now())).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = match Settings::parse(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("{why}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let mut config = SandboxConfig {
        faults: Faults {
            fail_rate: settings.fail_rate,
            drop_rate: settings.drop_rate,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    let ttl = Duration::from_secs(settings.ttl);
    config.ilab.ttl = ttl;
    config.ac.ttl = ttl;
    config.bo.ttl = ttl;
    let sandbox = Arc::new(
        Sandbox::start(config)
            .await
            .map_err(|e| Error::config(format!("cannot start the sandbox: {}", e.kind())))?,
    );

    let mut lanes = Vec::new();
    for platform in Platform::ALL {
        lanes.push(Arc::new(Lane {
            platform,
            grant: tokio::sync::Mutex::new(Grant::new(platform.new_grant(&sandbox).await?)),
            tally: Mutex::new(Tally::default()),
        }));
    }
    let end = Instant::now() + Duration::from_secs(settings.seconds);
    let mut callers = tokio::task::JoinSet::new();
    for lane in &lanes {
        for _ in 0..settings.callers {
            callers.spawn(call_until(
                Arc::clone(lane),
                Arc::clone(&sandbox),
                settings.interval,
                end,
            ));
        }
    }
    while let Some(done) = callers.join_next().await {
        if let Err(e) = done {
            eprintln!("a caller stopped: {e}");
        }
    }
    let finished = Instant::now();
    for lane in &lanes {
        lane.tally().finish(finished);
    }
    print_report(&settings, &sandbox, &lanes);
    Ok(())
}

fn print_report(settings: &Settings, sandbox: &Sandbox, lanes: &[Arc<Lane>]) {
    println!(
        "soak: {} s, token lifetime {} s, fail-rate {:.2}, drop-rate {:.2}, {} callers per platform, one call each every {} ms\n",
        settings.seconds,
        settings.ttl,
        settings.fail_rate,
        settings.drop_rate,
        settings.callers,
        settings.interval.as_millis(),
    );
    println!(
        "| platform | calls | successful | errors while a valid token existed | errors while the unexpired token was replaced | longest outage | upstream token requests | re-logins |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
    for lane in lanes {
        let tally = lane.tally();
        let routes = lane.platform.token_routes();
        let counts: Vec<(&str, u64)> = routes
            .iter()
            .map(|r| (*r, sandbox.stats().get(r)))
            .collect();
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let detail: Vec<String> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(route, n)| format!("{} {n}", route.split_once('.').map_or(*route, |(_, r)| r)))
            .collect();
        println!(
            "| {} | {} | {:.1} % | {} | {} | {:.1} s | {total} ({}) | {} |",
            lane.platform.name(),
            tally.calls,
            tally.success_percent(),
            tally.errors_while_valid,
            tally.errors_while_replaced,
            tally.longest_outage.as_secs_f64(),
            detail.join(", "),
            tally.relogins,
        );
    }
    println!("\nMost frequent errors:");
    for lane in lanes {
        let tally = lane.tally();
        for (message, count) in tally.top_messages(3) {
            println!("- {} ×{count}: {message}", lane.platform.name());
        }
    }
}
