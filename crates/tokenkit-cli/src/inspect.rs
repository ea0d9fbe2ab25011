//! `tokenkit inspect TOKEN`: decoded claims, expiry in UTC and Beijing time, time left.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokenkit::core::{civil, jwt};

use crate::output::{CliResult, print_json};

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The token (a JWT; an opaque token has no claims to show).
    token: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The expiry a token's claims state: JWT `exp` (seconds), or `expireTime` /
/// `expires_time` (epoch milliseconds, as ac and ilab write them).
pub fn claimed_expiry(claims: &jwt::Claims) -> Option<SystemTime> {
    if let Some(exp) = jwt::claim_i64(claims, "exp") {
        return Some(civil::from_unix_millis(exp.saturating_mul(1000)));
    }
    ["expireTime", "expires_time"]
        .iter()
        .find_map(|name| jwt::claim_i64(claims, name))
        .map(civil::from_unix_millis)
}

pub fn run(args: &Args) -> CliResult {
    let Some(claims) = jwt::decode_claims(&args.token) else {
        return Err(tokenkit::Error::config(
            "not a JWT: an opaque token carries no claims to show",
        ));
    };
    let expiry = claimed_expiry(&claims);
    let left = expiry.map(|e| {
        e.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    });
    if args.json {
        print_json(&json!({
            "claims": claims,
            "expires_at": expiry.map(civil::rfc3339_utc),
            "expires_at_beijing": expiry.map(civil::beijing_display),
            "expires_in": left.map(|d| d.as_secs()),
        }));
        return Ok(());
    }
    println!("claims:");
    for (name, value) in &claims {
        println!("  {name}: {value}");
    }
    match (expiry, left) {
        (Some(e), Some(left)) => {
            println!(
                "expires: {} (UTC), {} (Beijing)",
                civil::rfc3339_utc(e),
                civil::beijing_display(e)
            );
            if left.is_zero() {
                println!("time left: expired");
            } else {
                println!(
                    "time left: {}h {:02}m {:02}s",
                    left.as_secs() / 3600,
                    left.as_secs() / 60 % 60,
                    left.as_secs() % 60
                );
            }
        }
        _ => println!("expires: not stated in the claims"),
    }
    Ok(())
}
