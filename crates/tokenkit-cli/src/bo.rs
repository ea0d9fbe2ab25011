//! `tokenkit bo …`: refresh a session with the DES-encrypted `XverifyApi` header, and
//! `token`: a valid access token of a stored session for scripts.
//!
//! Secrets come from the environment by preference (`TOKENKIT_BO_DES_KEY`,
//! `TOKENKIT_BO_REFRESH_TOKEN`), so they stay out of shell history and process lists;
//! the flags exist for convenience. The refresh spends the refresh token when the
//! platform rotates them, so the new one is always printed: it is the session now.

use serde_json::json;
use tokenkit::bo::{BoClient, BoProvider, NodeJsMode, TokenUser, VerifyEncoding, VerifySigner};
use tokenkit::{Token, TokenCache};

use crate::http::HttpArgs;
use crate::output::{CliResult, print_json, print_token, rfc3339, secret_from, token_json};
use crate::refused::RefusedArgs;
use crate::store::StoreArgs;

const DES_KEY_ENV: &str = "TOKENKIT_BO_DES_KEY";
const REFRESH_TOKEN_ENV: &str = "TOKENKIT_BO_REFRESH_TOKEN";

/// Commands of the bo platform.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Exchange a refresh token for a new access token (and, usually, a new refresh token).
    Refresh(RefreshArgs),
    /// Print a valid access token of a stored session (see `refresh --store`),
    /// refreshing it only when needed and storing every rotated refresh token; after
    /// the platform refused a token, pass it as `--refused` (or TOKENKIT_REFUSED_TOKEN)
    /// to get it refreshed once.
    Token(TokenArgs),
}

/// Arguments of `bo refresh`.
#[derive(clap::Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    platform: PlatformArgs,
    /// The refresh token from the login (prefer TOKENKIT_BO_REFRESH_TOKEN).
    #[arg(long)]
    refresh_token: Option<String>,
    /// Keep the session in this store under its user id (for `bo token`).
    #[command(flatten)]
    store: StoreArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bo token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    platform: PlatformArgs,
    /// The session's user id (`tokenUser.userId`).
    #[arg(long)]
    session: String,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    refused: RefusedArgs,
    /// Print one JSON object instead of the bare token.
    #[arg(long)]
    json: bool,
}

/// The platform, the project and the verify-header settings.
#[derive(clap::Args)]
pub struct PlatformArgs {
    /// The platform, e.g. `https://bo.example.com`.
    #[arg(long)]
    base_url: String,
    /// The project id (`XownerId`).
    #[arg(long)]
    owner_id: String,
    /// The DES key, 8 bytes (prefer TOKENKIT_BO_DES_KEY).
    #[arg(long)]
    des_key: Option<String>,
    /// The DES IV, 8 bytes (default: the key).
    #[arg(long)]
    des_iv: Option<String>,
    /// The XverifyApi plaintext template.
    #[arg(long, default_value = tokenkit::bo::DEFAULT_TEMPLATE)]
    template: String,
    /// Write XverifyApi in upper-case hex instead of Base64.
    #[arg(long)]
    hex: bool,
    /// The system id (`XsysId`).
    #[arg(long)]
    sys_id: Option<String>,
    /// The first-level share user id (`XuserFromFirstShareId`).
    #[arg(long)]
    first_share_id: Option<String>,
    /// The second-level share user id (`XuserFromSecondShareId`).
    #[arg(long)]
    second_share_id: Option<String>,
    /// The administrative area code (`XfilterAreaCode`).
    #[arg(long)]
    filter_area_code: Option<String>,
    /// Ask for snake_case fields (`_nodejs=common-data-under`).
    #[arg(long)]
    snake_case: bool,
    #[command(flatten)]
    http: HttpArgs,
}

pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Refresh(args) => refresh(args).await,
        Command::Token(args) => token(args).await,
    }
}

/// The store key of a session.
fn session_key(owner_id: &str, user_id: &str) -> String {
    format!("bo:{owner_id}:{user_id}")
}

async fn refresh(args: RefreshArgs) -> CliResult {
    let owner_id = args.platform.owner_id.clone();
    let refresh_token = secret_from(args.refresh_token, REFRESH_TOKEN_ENV)?;
    let client = args.platform.client()?;
    // The store is opened before the refresh token is spent (bo rotates it): a wrong
    // store key fails here, and the refresh token still works for a run that has the
    // right one.
    let kept = if args.store.is_memory() {
        None
    } else {
        Some(args.store.open(false).await?)
    };
    let token = client.refresh(&refresh_token.into()).await?;
    if let Some(store) = kept {
        let Some(user_id) = TokenUser::of(&token).and_then(|u| u.user_id) else {
            return Err(tokenkit::Error::config(
                "the answer named no user (tokenUser.userId) to keep the session under",
            ));
        };
        crate::store::replace(&*store, &session_key(&owner_id, &user_id), &token).await?;
    }
    if args.json {
        print_json(&json_of(&token));
    } else {
        print_lines(&token);
    }
    Ok(())
}

async fn token(args: TokenArgs) -> CliResult {
    let key = session_key(&args.platform.owner_id, &args.session);
    let cache = TokenCache::builder(BoProvider::resume(args.platform.client()?))
        .store(args.store.open(false).await?)
        .key(key)
        .build();
    let token = args.refused.token(&cache).await?;
    print_token(&token, args.json, json_of);
    Ok(())
}

impl PlatformArgs {
    fn client(self) -> Result<BoClient, tokenkit::Error> {
        let args = self;
        let mut signer =
            VerifySigner::builder(secret_from(args.des_key, DES_KEY_ENV)?).template(args.template);
        if let Some(iv) = args.des_iv {
            signer = signer.iv(iv);
        }
        if args.hex {
            signer = signer.encoding(VerifyEncoding::UpperHex);
        }
        let mut client = BoClient::builder(args.base_url, args.owner_id, signer.build()?);
        if let Some(id) = args.sys_id {
            client = client.sys_id(id);
        }
        if let Some(id) = args.first_share_id {
            client = client.first_share_id(id);
        }
        if let Some(id) = args.second_share_id {
            client = client.second_share_id(id);
        }
        if let Some(code) = args.filter_area_code {
            client = client.filter_area_code(code);
        }
        if args.snake_case {
            client = client.nodejs_mode(NodeJsMode::CommonDataUnder);
        }
        client.http(args.http.config()).build()
    }
}

/// The shared token fields plus the user and the platform's own `expires`.
fn json_of(token: &Token) -> serde_json::Value {
    let mut value = token_json(token);
    if let Some(user) = TokenUser::of(token) {
        value["user"] = json!(user);
    }
    if let Some(expires) = token.metadata().extra.get("expires") {
        value["platform_expires"] = expires.clone();
    }
    value
}

fn print_lines(token: &Token) {
    println!("access token: {}", token.access_token().expose_secret());
    if let Some(refresh) = token.refresh_token() {
        println!(
            "refresh token: {} (store it: the one you used may now be spent)",
            refresh.expose_secret()
        );
    }
    println!(
        "expires at: {} (in {} s)",
        rfc3339(token.expiry().wall()),
        token.remaining().as_secs()
    );
    if let Some(user) = TokenUser::of(token) {
        let name = user.push_name.or(user.user_name).unwrap_or_default();
        println!("user: {} {name}", user.user_id.unwrap_or_default());
    }
}
