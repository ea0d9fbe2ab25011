//! `tokenkit ac …`: log in (every region's token), renew a token, check a token, and
//! `token`: a valid token of one cluster for scripts, kept in a store between runs.
//!
//! Secrets come from the environment by preference (`TOKENKIT_AC_PASSWORD`,
//! `TOKENKIT_AC_TOKEN`), so they stay out of shell history and process lists; the
//! flags exist for convenience.

use serde_json::{Value, json};
use tokenkit::Token;
use tokenkit::TokenCache;
use tokenkit::ac::{AcClaims, AcClient, AcProvider, ClusterSelector, Region};

use crate::output::{self, CliResult, print_json, print_token, rfc3339, secret_from};
use crate::refused::RefusedArgs;
use crate::store::StoreArgs;

const PASSWORD_ENV: &str = "TOKENKIT_AC_PASSWORD";
const TOKEN_ENV: &str = "TOKENKIT_AC_TOKEN";

/// Commands of the ac platform.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Log in: every region with its token, or its suspension.
    Login {
        #[command(flatten)]
        account: Account,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Renew a token (`tokens/next`); possible until 24 h past its expiry.
    Renew {
        /// The platform.
        #[arg(long)]
        base_url: String,
        /// The current token (prefer the TOKENKIT_AC_TOKEN environment variable).
        #[arg(long)]
        token: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print a valid token of one cluster, logging in or renewing only when needed
    /// (keep it with `--store` so that runs and processes share one token); after the
    /// platform refused a token, pass it as `--refused` (or TOKENKIT_REFUSED_TOKEN) to
    /// get it renewed (`tokens/next`, else a new login) once.
    Token {
        #[command(flatten)]
        account: Account,
        /// The cluster: its id (`0` = the platform token) or its name.
        #[arg(long, default_value = "0")]
        cluster: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        refused: RefusedArgs,
        /// Print one JSON object instead of the bare token.
        #[arg(long)]
        json: bool,
    },
    /// Ask the platform whether a token is valid (`tokens/state`).
    State {
        /// The platform.
        #[arg(long)]
        base_url: String,
        /// The token (prefer the TOKENKIT_AC_TOKEN environment variable).
        #[arg(long)]
        token: Option<String>,
    },
}

/// The platform and the account's credentials.
#[derive(clap::Args)]
pub struct Account {
    /// The platform, e.g. `https://api01.example.com:65102`.
    #[arg(long)]
    base_url: String,
    /// The login name.
    #[arg(long)]
    user: String,
    /// The orgId issued to the caller.
    #[arg(long)]
    org_id: String,
    /// The password (prefer the TOKENKIT_AC_PASSWORD environment variable).
    #[arg(long)]
    password: Option<String>,
}

impl Account {
    /// The store key of one cluster's token of this account.
    fn key(&self, cluster: &str) -> String {
        format!("ac:{}:{}:{cluster}", self.user, self.org_id)
    }

    fn client(self) -> Result<AcClient, tokenkit::Error> {
        AcClient::builder(self.base_url)
            .user(self.user)
            .password(secret_from(self.password, PASSWORD_ENV)?)
            .org_id(self.org_id)
            .build()
    }
}

pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Login { account, json } => {
            let client = account.client()?;
            let login = client.login().await?;
            if json {
                let regions: Vec<Value> = login.regions().iter().map(region_json).collect();
                print_json(&json!({ "regions": regions }));
            } else {
                for region in login.regions() {
                    print_region(region);
                }
            }
            Ok(())
        }
        Command::Renew {
            base_url,
            token,
            json,
        } => {
            let client = AcClient::builder(base_url).build()?;
            let current = secret_from(token, TOKEN_ENV)?;
            let renewed = client.renew(&current.into()).await?;
            if json {
                print_json(&token_json(&renewed));
            } else {
                println!("token: {}", renewed.access_token().expose_secret());
                println!("expires at: {}", stated_expiry(&renewed));
            }
            Ok(())
        }
        Command::Token {
            account,
            cluster,
            store,
            refused,
            json,
        } => {
            let key = account.key(&cluster);
            let client = account.client()?;
            let selector = if !cluster.is_empty() && cluster.bytes().all(|b| b.is_ascii_digit()) {
                ClusterSelector::id(cluster)
            } else {
                ClusterSelector::name(cluster)
            };
            let cache = TokenCache::builder(AcProvider::new(client, selector))
                .store(store.open(false).await?)
                .key(key)
                .build();
            let token = refused.token(&cache).await?;
            print_token(&token, json, token_json);
            Ok(())
        }
        Command::State { base_url, token } => {
            let client = AcClient::builder(base_url).build()?;
            let token = secret_from(token, TOKEN_ENV)?;
            println!("{}", client.state(&token.into()).await?);
            Ok(())
        }
    }
}

/// The token's own `expireTime` (what the platform stated), else our estimate.
fn stated_expiry(token: &Token) -> String {
    AcClaims::of(token)
        .and_then(|c| c.expires_at())
        .map_or_else(|| rfc3339(token.expiry().wall()), rfc3339)
}

/// The shared token fields, plus `token` (the ac name of the credential), `expires_at`
/// from the token's own `expireTime`, and the cluster and account from its claims.
fn token_json(token: &Token) -> Value {
    let claims = AcClaims::of(token).unwrap_or_default();
    let mut v = output::token_json(token);
    v["token"] = json!(token.access_token().expose_secret());
    v["expires_at"] = json!(stated_expiry(token));
    v["cluster_id"] = json!(claims.cluster_id);
    v["user"] = json!(claims.user);
    v["account_status"] = json!(claims.account_status);
    v
}

fn region_json(region: &Region) -> Value {
    let mut v = match &region.token {
        Some(token) => token_json(token),
        None => json!({ "token": null, "suspended": true }),
    };
    v["cluster_id"] = json!(region.cluster.id);
    v["cluster_name"] = json!(region.cluster.name);
    v["account_status"] = json!(region.account_status);
    v
}

fn print_region(region: &Region) {
    let status = region.account_status.as_deref().unwrap_or("unknown");
    match &region.token {
        Some(token) => println!(
            "{} ({}): account {status}, expires {}\n  token: {}",
            region.cluster.id,
            region.cluster.name,
            stated_expiry(token),
            token.access_token().expose_secret()
        ),
        None => println!(
            "{} ({}): suspended, account status {status}: no token",
            region.cluster.id, region.cluster.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit::core::Cluster;
    use tokenkit::{Arrival, Expiry};

    use super::*;

    fn token(expire_ms: i64) -> Token {
        let raw = tokenkit::sandbox::jwt::mint_hs256(
            b"k",
            &json!({"expireTime": expire_ms.to_string(), "clusterId": "11112", "user": "demo",
                    "accountStatus": "Normal"}),
        );
        // A local estimate unlike the claim: the JSON must state the claim.
        Token::new(raw, Expiry::after(Arrival::now(), Duration::from_secs(10)))
    }

    #[test]
    fn renew_json_states_the_token_and_its_expire_time() {
        let t = token(1_686_908_509_231);
        let v = token_json(&t);
        assert_eq!(v["token"], json!(t.access_token().expose_secret()));
        assert_eq!(v["expires_at"], "2023-06-16T09:41:49Z");
        assert_eq!(v["cluster_id"], "11112");
        assert_eq!(v["account_status"], "Normal");
    }

    #[test]
    fn login_json_shows_suspended_regions() {
        let cluster = |id: &str, name: &str| Cluster {
            id: id.into(),
            name: name.into(),
        };
        let suspended = region_json(&Region {
            cluster: cluster("11113", "华北一区"),
            token: None,
            account_status: Some("Disable".into()),
        });
        assert_eq!(
            suspended,
            json!({"token": null, "suspended": true, "cluster_id": "11113",
                   "cluster_name": "华北一区", "account_status": "Disable"})
        );
        let active = region_json(&Region {
            cluster: cluster("11112", "华东一区"),
            token: Some(token(1_686_908_509_231)),
            account_status: Some("Normal".into()),
        });
        assert_eq!(active["cluster_name"], "华东一区");
        assert!(active["token"].is_string() && active.get("suspended").is_none());
    }
}
