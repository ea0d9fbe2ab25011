//! What every command prints: one JSON object with `--json`, readable lines otherwise,
//! and on failure one line on stderr naming the platform's code and meaning.

use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::{Value, json};
use tokenkit::core::{Token, civil};

/// The error of a command.
pub type CliResult = Result<(), tokenkit::Error>;

/// Prints the error (never a secret: `tokenkit::Error` holds none) and picks the exit code.
pub fn fail(error: &tokenkit::Error) -> ExitCode {
    eprintln!("error: {error}");
    if error.is_reauth_required() {
        ExitCode::from(3)
    } else {
        ExitCode::FAILURE
    }
}

/// RFC 3339 UTC.
pub fn rfc3339(t: SystemTime) -> String {
    civil::rfc3339_utc(t)
}

/// The JSON fields every token shares; the caller adds the platform's own.
pub fn token_json(token: &Token) -> Value {
    let mut v = json!({
        "access_token": token.access_token().expose_secret(),
        "token_type": token.token_type(),
        "expires_at": rfc3339(token.expiry().wall()),
        "expires_in": token.remaining().as_secs(),
    });
    if let Some(r) = token.refresh_token() {
        v["refresh_token"] = json!(r.expose_secret());
    }
    v
}

/// Prints one JSON object.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// A secret from a flag or, failing that, an environment variable.
pub fn secret_from(flag: Option<String>, env: &str) -> Result<String, tokenkit::Error> {
    flag.or_else(|| std::env::var(env).ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            tokenkit::Error::config(format!("no secret given: set {env} or pass the flag"))
        })
}

/// What `token` commands print: the access token alone on stdout (so
/// `TOKEN=$(tokenkit … token …)` works), or with `--json` one object made by `to_json`.
pub fn print_token(token: &Token, json: bool, to_json: impl FnOnce(&Token) -> Value) {
    if json {
        print_json(&to_json(token));
    } else {
        println!("{}", token.access_token().expose_secret());
    }
}
