//! `--refused TOKEN` of the `token` commands: a script reports the token a platform
//! just refused, and gets the grant's current token, renewed once if it was that one.
//!
//! The renewal is the cache's [`TokenCache::refused`] (an `invalidate` by access
//! token): it renews only if the refused token is still the current one, and over a
//! shared store (`file:`, `redis://`) it takes the store's lease and adopts a token
//! another process committed meanwhile, so 40 scripts reporting the same refused token
//! cause one renewal.
//!
//! The refused token is a secret: it is held as an [`AccessToken`] (redacted, wiped on
//! drop) and never printed — what the command prints is always the current token.

use tokenkit::{AccessToken, Error, TokenCache, TokenGuard};

/// The environment variable that may carry `--refused` (out of `ps` output).
pub const REFUSED_ENV: &str = "TOKENKIT_REFUSED_TOKEN";

/// The `--refused` flag shared by the `token` commands (no `Debug`: it holds a token).
#[derive(clap::Args)]
pub struct RefusedArgs {
    /// The token a call just had refused by the platform (401, ac 10008, …). If it is
    /// still the current token, it is renewed (ilab: one of the grant's 2 refreshes) —
    /// once, however many processes report it over a shared --store; if it was already
    /// replaced, the current token is printed with no call to the platform. The refused
    /// token itself is never printed. Prefer the TOKENKIT_REFUSED_TOKEN environment
    /// variable: it keeps the token out of `ps` output.
    #[arg(
        long = "refused",
        value_name = "TOKEN",
        env = REFUSED_ENV,
        hide_env_values = true,
        allow_hyphen_values = true,
        value_parser = parse_refused,
    )]
    refused: Option<AccessToken>,
}

/// A non-empty token. The error never repeats the value (here it is empty anyway).
fn parse_refused(value: &str) -> Result<AccessToken, String> {
    if value.is_empty() {
        return Err(
            "give the refused token (--refused or TOKENKIT_REFUSED_TOKEN), not an empty string"
                .into(),
        );
    }
    Ok(AccessToken::new(value))
}

impl RefusedArgs {
    /// The token to print: the cache's current token, or — if that is the refused one —
    /// its replacement ([`TokenCache::refused`]).
    pub async fn token(self, cache: &TokenCache) -> Result<TokenGuard, Error> {
        match self.refused {
            Some(refused) => cache.refused(&refused).await,
            None => cache.token().await,
        }
    }
}
