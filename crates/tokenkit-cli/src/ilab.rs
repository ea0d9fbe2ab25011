//! `tokenkit ilab …`: exchange a launch ticket, refresh a grant, and `token`: a valid
//! access token of a stored grant for scripts, refreshing only when needed.
//!
//! The secret comes from `TOKENKIT_ILAB_SECRET` by preference (out of shell history and
//! process lists); `--secret` exists for convenience. Tokens are printed only with
//! `--json`, where the caller asked for them.

use serde_json::{Value, json};
use tokenkit::ilab::{
    Dialect, HexCase, IlabClient, IlabProvider, REFRESH_BUDGET, RequestMethod, Ticket,
};
use tokenkit::{Grant, Token, TokenCache, TokenStore};

use crate::http::HttpArgs;
use crate::output::{CliResult, print_json, print_token, rfc3339, secret_from, token_json};
use crate::refused::RefusedArgs;
use crate::results::{self, Source};
use crate::store::StoreArgs;

const SECRET_ENV: &str = "TOKENKIT_ILAB_SECRET";
const REFRESH_ENV: &str = "TOKENKIT_ILAB_REFRESH_TOKEN";

/// Commands of the ilab platform.
#[derive(clap::Subcommand)]
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
        /// Keep the grant in this store under the user's `un` (for `ilab token`).
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object (with the tokens).
        #[arg(long)]
        json: bool,
    },
    /// Print a valid access token of a stored grant (see `exchange --store`),
    /// refreshing it only when it is about to expire, or once after the platform refused
    /// it (`--refused`, or TOKENKIT_REFUSED_TOKEN); exits 3 when the user must relaunch
    /// the experiment (the grant's 2 refreshes are spent).
    Token {
        #[command(flatten)]
        app: App,
        /// The user's `un`, as the exchange returned it.
        #[arg(long)]
        session: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        refused: RefusedArgs,
        /// Print one JSON object instead of the bare token.
        #[arg(long)]
        json: bool,
    },
    /// Report one result (the JSON body of a `data_upload`; `username`, `appid` and
    /// `originId` may be left out) with a stored grant, and print the platform's answer.
    /// The record is kept pending in the store until the platform acknowledged it;
    /// what cannot be delivered is printed with the record; exits 3 when only the
    /// user's relaunch can help.
    Upload {
        #[command(flatten)]
        app: App,
        /// The user's `un`, as the exchange returned it.
        #[arg(long)]
        session: String,
        /// Where the grant is kept (`file:PATH` or a Redis URL; not `memory:`).
        #[command(flatten)]
        store: StoreArgs,
        /// The record as JSON (`--file -`: standard input).
        #[arg(long, value_name = "RECORD.json", required_unless_present = "stdin")]
        file: Option<String>,
        /// `-`: read the record from standard input.
        #[arg(value_name = "-", value_parser = clap::builder::PossibleValuesParser::new(["-"]), conflicts_with = "file")]
        stdin: Option<String>,
    },
    /// Deliver the results still pending in the store (of every user of this
    /// experiment, or of `--session` only), oldest first.
    Flush {
        #[command(flatten)]
        app: App,
        /// Only this user's pending results.
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove one pending result from the store (one the platform refused, or one
    /// whose user will not relaunch): the application takes it over. Prints it.
    Discard {
        #[command(flatten)]
        app: App,
        /// The user's `un`.
        #[arg(long)]
        session: String,
        #[command(flatten)]
        store: StoreArgs,
        /// The record's `originId`.
        #[arg(long)]
        origin_id: String,
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
#[derive(clap::Args)]
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
    #[command(flatten)]
    http: HttpArgs,
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
            .http(self.http.config())
            .build()
    }
}

pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Exchange {
            app,
            ticket,
            launch_url,
            store,
            json,
        } => {
            let ticket = match (ticket, launch_url) {
                (Some(raw), _) => Ticket::from_url_value(&raw)?,
                (None, Some(url)) => Ticket::from_launch_url(&url)?,
                (None, None) => {
                    return Err(tokenkit::Error::config("give --ticket or --launch-url"));
                }
            };
            let appid = app.appid.clone();
            let client = app.client()?;
            // The store is opened before the single-use ticket is spent: a wrong store
            // key, a sealed store without one or an unreachable Redis fails here, and
            // the ticket still works for a run that gets them right.
            let kept = if store.is_memory() {
                None
            } else {
                Some(store.open(true).await?)
            };
            let token = client.exchange(&ticket).await?;
            if let Some(store) = kept {
                keep(&*store, &appid, &token).await?;
            }
            show(&token, json);
        }
        Command::Token {
            app,
            session,
            store,
            refused,
            json,
        } => {
            let key = session_key(&app.appid, &session);
            let store = store.open(true).await?;
            if store.load(&key).await?.is_none() {
                return Err(tokenkit::Error::reauth(
                    "ilab",
                    format!(
                        "no grant of session {session:?} is in this store: exchange the \
                         user's launch ticket with this store first (`tokenkit ilab exchange \
                         --ticket … --store …`)"
                    ),
                ));
            }
            let cache = TokenCache::builder(IlabProvider::resume(app.client()?))
                .store(store)
                .key(key)
                .build();
            let token = refused.token(&cache).await?;
            print_token(&token, json, ilab_json);
        }
        Command::Upload {
            app,
            session,
            store,
            file,
            stdin,
        } => {
            let store = durable(&store).await?;
            let key = session_key(&app.appid, &session);
            let source = match (file, stdin) {
                (Some(path), _) if path != "-" => Source::File(path),
                _ => Source::Stdin,
            };
            results::upload(app.client()?, store, &key, &session, source).await?;
        }
        Command::Flush {
            app,
            session,
            store,
        } => {
            let store = durable(&store).await?;
            let key = session.as_deref().map(|un| session_key(&app.appid, un));
            let prefix = session_key(&app.appid, "");
            results::flush(app.client()?, store, &prefix, key.as_deref()).await?;
        }
        Command::Discard {
            app,
            session,
            store,
            origin_id,
        } => {
            let store = durable(&store).await?;
            let key = session_key(&app.appid, &session);
            results::discard(app.client()?, store, &key, &origin_id).await?;
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

/// A store that outlives the command: results pending in `memory:` would die with it.
async fn durable(
    store: &StoreArgs,
) -> Result<std::sync::Arc<dyn tokenkit::TokenStore>, tokenkit::Error> {
    if store.is_memory() {
        return Err(tokenkit::Error::config(
            "results need a store that outlives the command: --store file:PATH or a Redis URL",
        ));
    }
    store.open(true).await
}

/// The store key of a user's grant.
fn session_key(appid: &str, un: &str) -> String {
    format!("ilab:{appid}:{un}")
}

/// Writes a freshly exchanged grant over whatever the store held for that user (a
/// relaunch starts a new grant with a new budget).
async fn keep(store: &dyn TokenStore, appid: &str, token: &Token) -> CliResult {
    let Some(un) = token.user().map(|u| u.id.clone()) else {
        return Err(tokenkit::Error::config(
            "the exchange named no user (`un`) to keep the grant under",
        ));
    };
    let key = session_key(appid, &un);
    let token = token.clone().with_grant(Grant {
        refreshes_spent: 0,
        refresh_budget: Some(REFRESH_BUDGET),
        outcome_unknown: false,
        ..Default::default()
    });
    crate::store::replace(store, &key, &token).await
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
