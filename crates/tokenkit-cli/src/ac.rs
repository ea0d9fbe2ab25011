//! `tokenkit ac …`: log in (every region's token), renew a token, check a token,
//! `token`: a valid token of one cluster for scripts, kept in a store between runs, and
//! `center`: the service URLs of a cluster's region.
//!
//! An account logs in with a password (`--org-id`, TOKENKIT_AC_PASSWORD) or with an
//! access key (`--access-key`, TOKENKIT_AC_SECRET_KEY), the login the platform
//! recommends. `token` and `center` go through one [`AcAccount`] over `--store`: a
//! login answers every region's token, so the tokens of all the account's clusters
//! come from one login, across runs and processes sharing the store.
//!
//! Secrets come from the environment by preference (`TOKENKIT_AC_PASSWORD`,
//! `TOKENKIT_AC_SECRET_KEY`, `TOKENKIT_AC_TOKEN`), so they stay out of shell history
//! and process lists; the flags exist for convenience.

use std::sync::Arc;

use serde_json::{Value, json};
use tokenkit::Token;
use tokenkit::ac::{
    AcAccount, AcClaims, AcClient, CenterRegion, ClusterSelector, Region, ServiceKind, ServiceUrl,
};

use crate::http::HttpArgs;
use crate::output::{self, CliResult, print_json, print_token, rfc3339, secret_from};
use crate::refused::RefusedArgs;
use crate::store::StoreArgs;

const PASSWORD_ENV: &str = "TOKENKIT_AC_PASSWORD";
const SECRET_KEY_ENV: &str = "TOKENKIT_AC_SECRET_KEY";
const TOKEN_ENV: &str = "TOKENKIT_AC_TOKEN";

/// Commands of the ac platform.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Log in: every region with its token, or its suspension. With a password
    /// (`--org-id`) or an access key (`--access-key`).
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
        #[command(flatten)]
        http: HttpArgs,
        /// The current token (prefer the TOKENKIT_AC_TOKEN environment variable).
        #[arg(long)]
        token: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print a valid token of one cluster, logging in or renewing only when needed.
    ///
    /// Keep it with `--store` so that runs and processes share one token: a login
    /// answers every region's token and all of them are kept, so the account's other
    /// clusters need no login of their own (`--cluster 0` then `--cluster 11112` over
    /// one store log in once). After the platform refused a token, pass it as
    /// `--refused` (or TOKENKIT_REFUSED_TOKEN) to get it renewed (`tokens/next`, else a
    /// new login) once.
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
        #[command(flatten)]
        http: HttpArgs,
        /// The token (prefer the TOKENKIT_AC_TOKEN environment variable).
        #[arg(long)]
        token: Option<String>,
    },
    /// The service URLs of a cluster's region (`center`): jobs (hpc), files (efile),
    /// containers (ai).
    ///
    /// The cluster's token comes as `tokenkit ac token` gets it (same account, same
    /// `--store`, no login when the store has one). Without `--kind`: the region, its
    /// cluster user and every URL marked `enabled` or `disabled`. With `--kind`: the
    /// first enabled URL of that kind alone on stdout, e.g.
    /// `HPC=$(tokenkit ac center --cluster 11112 --kind hpc …)`; exit 1 if the region
    /// has none.
    Center {
        #[command(flatten)]
        account: Account,
        /// The region's cluster: its id or its name (not `0`: the platform token has
        /// no region).
        #[arg(long, value_parser = parse_region_cluster)]
        cluster: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print only the first enabled URL of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `--kind` of `center`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    /// `hpcUrls`: the job service.
    Hpc,
    /// `efileUrls`: the file service.
    Efile,
    /// `aiUrls`: the container service.
    Ai,
}

impl From<KindArg> for ServiceKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Hpc => Self::Hpc,
            KindArg::Efile => Self::Efile,
            KindArg::Ai => Self::Ai,
        }
    }
}

/// A cluster `center` can describe: not empty, not the platform token's `0`.
fn parse_region_cluster(value: &str) -> Result<String, String> {
    match value.trim() {
        "" => Err("give the region's cluster id or name".into()),
        "0" => Err(
            "cluster 0 is the platform token, which has no region: give a region's id or name"
                .into(),
        ),
        cluster => Ok(cluster.to_owned()),
    }
}

/// The platform and the account's credentials: a password login (`--org-id` with a
/// password) or an access-key login (`--access-key` with its secret key), never both.
/// No `Debug`: it holds secrets.
#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("login")
        .required(true)
        .multiple(false)
        .args(["org_id", "access_key"])
))]
pub struct Account {
    /// The platform's OpenAPI host, e.g. `https://api01.example.com:65102`.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// The platform's auth host, which serves the access-key login (default:
    /// --base-url).
    #[arg(long, value_name = "URL")]
    auth_url: Option<String>,
    /// The login name.
    #[arg(long)]
    user: String,
    /// The orgId issued to the caller: selects the password login (the password from
    /// TOKENKIT_AC_PASSWORD or --password).
    #[arg(long)]
    org_id: Option<String>,
    /// The password of the password login (prefer the TOKENKIT_AC_PASSWORD environment
    /// variable).
    #[arg(long, conflicts_with = "access_key", allow_hyphen_values = true)]
    password: Option<String>,
    /// The access key: selects the access-key login (the secret key from
    /// TOKENKIT_AC_SECRET_KEY or --secret-key), the login the platform recommends.
    #[arg(long, value_name = "AK")]
    access_key: Option<String>,
    /// The secret key of the access key; it signs the login and is never sent (prefer
    /// the environment variable: it keeps the key out of `ps` output).
    #[arg(
        long,
        value_name = "SK",
        env = SECRET_KEY_ENV,
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    secret_key: Option<String>,
    #[command(flatten)]
    http: HttpArgs,
}

impl Account {
    fn client(self) -> Result<AcClient, tokenkit::Error> {
        let mut builder = AcClient::builder(self.base_url)
            .user(self.user)
            .http(self.http.config());
        if let Some(url) = self.auth_url {
            builder = builder.auth_url(url);
        }
        // The password from TOKENKIT_AC_PASSWORD is only looked at by the password
        // login: an exported password does not stand in the way of --access-key.
        builder = match (self.access_key, self.org_id) {
            (Some(access_key), _) => {
                builder.access_key(access_key, secret_from(self.secret_key, SECRET_KEY_ENV)?)
            }
            (None, Some(org_id)) => builder
                .password(secret_from(self.password, PASSWORD_ENV)?)
                .org_id(org_id),
            (None, None) => {
                return Err(tokenkit::Error::config(
                    "ac: give --org-id (password login) or --access-key (access-key login)",
                ));
            }
        };
        builder.build()
    }

    /// The account over `store`: its clusters' tokens under `ac:<user>:<orgId>:<cluster>`
    /// (or `ac:<user>:ak-<accessKey>:<cluster>`), one login for all of them.
    async fn open(self, store: &StoreArgs) -> Result<AcAccount, tokenkit::Error> {
        let client = self.client()?;
        Ok(AcAccount::with_store(client, store.open(false).await?))
    }
}

/// A cluster by id (all digits) or by name.
fn selector(cluster: String) -> ClusterSelector {
    if !cluster.is_empty() && cluster.bytes().all(|b| b.is_ascii_digit()) {
        ClusterSelector::id(cluster)
    } else {
        ClusterSelector::name(cluster)
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
            http,
            token,
            json,
        } => {
            let client = AcClient::builder(base_url).http(http.config()).build()?;
            let current = secret_from(token, TOKEN_ENV)?;
            let renewed = client.renew(&current.into()).await?;
            if json {
                print_json(&token_json(&renewed));
            } else {
                println!("token: {}", renewed.access_token().expose_secret());
                println!("expires at: {}", rfc3339(renewed.expiry().wall()));
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
            let cache = account.open(&store).await?.cache(selector(cluster));
            let token = refused.token(&cache).await?;
            print_token(&token, json, token_json);
            Ok(())
        }
        Command::State {
            base_url,
            http,
            token,
        } => {
            let client = AcClient::builder(base_url).http(http.config()).build()?;
            let token = secret_from(token, TOKEN_ENV)?;
            println!("{}", client.state(&token.into()).await?);
            Ok(())
        }
        Command::Center {
            account,
            cluster,
            store,
            kind,
            json,
        } => {
            let account = account.open(&store).await?;
            let cache = Arc::new(account.cache(selector(cluster)));
            let discovery = account.client().discovery(cache);
            match kind.map(ServiceKind::from) {
                Some(kind) => {
                    let url = discovery.url(kind).await?;
                    if json {
                        print_json(&json!({ "kind": kind.to_string(), "url": url }));
                    } else {
                        println!("{url}");
                    }
                }
                None => {
                    let regions = discovery.regions().await?;
                    if json {
                        let regions: Vec<Value> = regions.iter().map(center_json).collect();
                        print_json(&json!({ "regions": regions }));
                    } else {
                        for region in regions.iter() {
                            print!("{}", center_text(region));
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

const KINDS: [ServiceKind; 3] = [ServiceKind::Hpc, ServiceKind::Efile, ServiceKind::Ai];

/// One region of `center` as JSON: `id`, `name`, `cluster_user` (or null), and per kind
/// its URLs with `enabled` and `version`.
fn center_json(region: &CenterRegion) -> Value {
    let urls = |urls: &[ServiceUrl]| -> Vec<Value> {
        urls.iter()
            .map(|u| json!({ "url": u.url, "enabled": u.enabled, "version": u.version }))
            .collect()
    };
    let mut v = json!({
        "id": region.id,
        "name": region.name,
        "cluster_user": region.cluster_user.as_ref().map(|u| json!({
            "user_name": u.user_name,
            "home_path": u.home_path,
        })),
    });
    for kind in KINDS {
        v[kind.to_string()] = json!(urls(region.urls(kind)));
    }
    v
}

/// One region of `center` as lines: `region <name> (<id>)`, `  user <name> home <path>`,
/// then `  <kind> <url> enabled|disabled [version <v>]` per URL (`  <kind> none` for a
/// kind without URLs). Missing values print as `-`.
fn center_text(region: &CenterRegion) -> String {
    use std::fmt::Write as _;
    let mut out = format!("region {} ({})\n", region.name, region.id);
    let user = region.cluster_user.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "  user {} home {}",
        user.user_name.as_deref().unwrap_or("-"),
        user.home_path.as_deref().unwrap_or("-")
    );
    for kind in KINDS {
        let urls = region.urls(kind);
        if urls.is_empty() {
            let _ = writeln!(out, "  {kind} none");
        }
        for url in urls {
            let mark = if url.enabled { "enabled" } else { "disabled" };
            let _ = match &url.version {
                Some(version) => writeln!(out, "  {kind} {} {mark} version {version}", url.url),
                None => writeln!(out, "  {kind} {} {mark}", url.url),
            };
        }
    }
    out
}

/// The token's own `expireTime` (what the platform stated), when it has one.
fn stated_expiry(token: &Token) -> Option<String> {
    AcClaims::of(token)
        .and_then(|c| c.expires_at())
        .map(rfc3339)
}

/// The shared token fields (`expires_at` and `expires_in` both from the one expiry the
/// cache uses), plus `token` (the ac name of the credential), `expire_time` as the
/// token's claim states it (which a skewed clock, its or the platform's, may put
/// elsewhere), and the cluster and account from its claims.
fn token_json(token: &Token) -> Value {
    let claims = AcClaims::of(token).unwrap_or_default();
    let mut v = output::token_json(token);
    v["token"] = json!(token.access_token().expose_secret());
    v["expire_time"] = json!(stated_expiry(token));
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
            rfc3339(token.expiry().wall()),
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
        // A local estimate unlike the claim.
        Token::new(raw, Expiry::after(Arrival::now(), Duration::from_secs(10)))
    }

    /// Defect: `expires_at` came from the claim and `expires_in` from the estimate, so
    /// a skewed Date made them disagree by years. Both come from the one expiry; the
    /// claim is shown as what it is.
    #[test]
    fn renew_json_states_one_expiry_and_the_claimed_expire_time_beside_it() {
        let t = token(1_686_908_509_231);
        let v = token_json(&t);
        assert_eq!(v["token"], json!(t.access_token().expose_secret()));
        assert_eq!(v["expire_time"], "2023-06-16T09:41:49Z");
        assert_eq!(v["expires_at"], json!(rfc3339(t.expiry().wall())));
        let expires_in = v["expires_in"].as_u64().expect("expires_in");
        assert!((9..=10).contains(&expires_in), "{v}");
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
