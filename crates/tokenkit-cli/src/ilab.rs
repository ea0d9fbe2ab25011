//! `tokenkit ilab …`: exchange a launch ticket, refresh a grant.
//!
//! The secret comes from `TOKENKIT_ILAB_SECRET` by preference (out of shell history and
//! process lists); `--secret` exists for convenience. Tokens are printed only with
//! `--json`, where the caller asked for them.

use serde_json::{Value, json};
use tokenkit::Token;
use tokenkit::ilab::{Dialect, HexCase, IlabClient, REFRESH_BUDGET, RequestMethod, Ticket};

use crate::output::{CliResult, print_json, rfc3339, secret_from, token_json};

const SECRET_ENV: &str = "TOKENKIT_ILAB_SECRET";
const REFRESH_ENV: &str = "TOKENKIT_ILAB_REFRESH_TOKEN";

/// Commands of the ilab platform.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Exchange a launch ticket for a token and the user's identity (single use).
    Exchange {
        #[command(flatten)]
        app: App,
        /// The ticket as it stands in the launch URL (percent-decoded once here).
        #[arg(
            long,
            required_unless_present = "launch_url",
            conflicts_with = "launch_url"
        )]
        ticket: Option<String>,
        /// The whole launch URL (`https://lab.example/launch?ticket=…`).
        #[arg(long)]
        launch_url: Option<String>,
        /// Print one JSON object (with the tokens).
        #[arg(long)]
        json: bool,
    },
    /// Refresh with the grant's original refresh token (at most twice per grant).
    Refresh {
        #[command(flatten)]
        app: App,
        /// The refresh token the exchange returned (or TOKENKIT_ILAB_REFRESH_TOKEN).
        #[arg(long)]
        refresh_token: Option<String>,
        /// Print one JSON object (with the tokens).
        #[arg(long)]
        json: bool,
    },
}

/// The experiment's platform and credentials.
#[derive(Debug, clap::Args)]
pub struct App {
    /// The platform, e.g. `https://ilab.example:8180`.
    #[arg(long)]
    base_url: String,
    /// The experiment's appid.
    #[arg(long)]
    appid: String,
    /// The experiment's secret (prefer the TOKENKIT_ILAB_SECRET environment variable).
    #[arg(long)]
    secret: Option<String>,
    /// The documents' `/oauth/token/…` paths, or the `/open/api/v2/token…` preset.
    #[arg(long, value_enum, default_value_t = DialectArg::Oauth)]
    dialect: DialectArg,
    /// Sign with lower-case hex (some white-label clones).
    #[arg(long)]
    lowercase_hex: bool,
    /// Send a POST form instead of a GET query string.
    #[arg(long)]
    post: bool,
}

/// The dialects of `--dialect`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DialectArg {
    /// `/oauth/token/accesstoken`, `/oauth/token/refreshtoken`.
    Oauth,
    /// `/open/api/v2/token`, `/open/api/v2/token/refresh`.
    OpenApiV2,
}

impl App {
    fn client(self) -> Result<IlabClient, tokenkit::Error> {
        let secret = secret_from(self.secret, SECRET_ENV)?;
        IlabClient::builder(self.base_url, self.appid, secret)
            .dialect(match self.dialect {
                DialectArg::Oauth => Dialect::oauth(),
                DialectArg::OpenApiV2 => Dialect::open_api_v2(),
            })
            .hex_case(if self.lowercase_hex {
                HexCase::Lower
            } else {
                HexCase::Upper
            })
            .method(if self.post {
                RequestMethod::PostForm
            } else {
                RequestMethod::Get
            })
            .build()
    }
}

pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Exchange {
            app,
            ticket,
            launch_url,
            json,
        } => {
            let ticket = match (ticket, launch_url) {
                (Some(raw), _) => Ticket::from_url_value(&raw)?,
                (None, Some(url)) => Ticket::from_launch_url(&url)?,
                (None, None) => {
                    return Err(tokenkit::Error::config("give --ticket or --launch-url"));
                }
            };
            let token = app.client()?.exchange(&ticket).await?;
            show(&token, json);
        }
        Command::Refresh {
            app,
            refresh_token,
            json,
        } => {
            let credential = secret_from(refresh_token, REFRESH_ENV)?;
            let token = app.client()?.refresh(&credential.into()).await?;
            show(&token, json);
        }
    }
    Ok(())
}

fn show(token: &Token, json: bool) {
    if json {
        print_json(&ilab_json(token));
        return;
    }
    let user = token.user();
    println!(
        "user:        {}",
        user.map_or("(not given)", |u| u.id.as_str())
    );
    if let Some(name) = user.and_then(|u| u.display_name.as_deref()) {
        println!("name:        {name}");
    }
    println!(
        "expires at:  {} (in {} s)",
        rfc3339(token.expiry().wall()),
        token.remaining().as_secs()
    );
    println!(
        "refresh:     {} (a grant allows {REFRESH_BUDGET}; refresh with the original refresh token)",
        if token.refresh_token().is_some() {
            "token issued"
        } else {
            "no token issued"
        }
    );
    println!("tokens are printed with --json");
}

/// The token fields plus `un`, `dis`, `scope`, `jti`.
fn ilab_json(token: &Token) -> Value {
    let mut v = token_json(token);
    let user = token.user();
    v["un"] = json!(user.map(|u| u.id.as_str()));
    v["dis"] = json!(user.and_then(|u| u.display_name.as_deref()));
    let extra = &token.metadata().extra;
    for field in ["scope", "jti"] {
        if let Some(value) = extra.get(field) {
            v[field] = value.clone();
        }
    }
    v
}
