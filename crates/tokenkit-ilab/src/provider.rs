//! [`IlabProvider`]: one grant as a [`TokenProvider`], with the platform's rules.
//!
//! - `fetch` exchanges the ticket once: a ticket is single-use, so a second `fetch` is
//!   a re-authentication error, not a second exchange.
//! - `refresh` sends the grant's *original* refresh credential (§1.2: a refreshed token
//!   cannot start a new chain) and refuses locally once the grant's two refreshes are
//!   spent.
//! - the policy: budget 2, no background refresh; refresh only when the token is about
//!   to expire, because each refresh is precious.

use std::sync::Mutex;
use std::time::Duration;

use tokenkit_core::{Error, RefreshPolicy, RefreshToken, Token, TokenProvider, async_trait};

use crate::codes::RELAUNCH;
use crate::reply::REFRESH_BUDGET;
use crate::{IlabClient, PLATFORM, Ticket};

/// One grant: a launch ticket (or an already exchanged token) and the client that
/// exchanges and refreshes it.
///
/// ```no_run
/// use tokenkit_core::TokenCache;
/// use tokenkit_ilab::{IlabClient, IlabProvider, Ticket};
/// # async fn demo() -> Result<(), tokenkit_ilab::Error> {
/// let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
/// let cache = TokenCache::new(IlabProvider::new(client, Ticket::from_url_value("eyJ0eXAi…")?));
/// let token = cache.token().await?; // exchanges the ticket; refreshes at most twice later
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct IlabProvider {
    client: IlabClient,
    source: Mutex<Source>,
}

/// What `fetch` can still hand out.
#[derive(Debug)]
enum Source {
    /// A ticket not yet exchanged.
    Ticket(Ticket),
    /// A token already exchanged elsewhere (the session registry).
    Exchanged(Box<Token>),
    /// Handed out: only a relaunch gives a new ticket.
    Spent,
}

impl IlabProvider {
    /// A provider whose first `fetch` exchanges `ticket`.
    pub fn new(client: IlabClient, ticket: Ticket) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Ticket(ticket)),
        }
    }

    /// A provider for a grant whose ticket was already exchanged: its first `fetch`
    /// hands out `token`, later ones are a re-authentication error.
    pub fn from_exchanged(client: IlabClient, token: Token) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Exchanged(Box::new(token))),
        }
    }

    /// The client.
    pub fn client(&self) -> &IlabClient {
        &self.client
    }

    /// The policy every ilab grant follows: two refreshes, none in the background, and
    /// the refresh 30 s (at most a fifth of the lifetime) before expiry.
    pub fn ilab_policy() -> RefreshPolicy {
        RefreshPolicy::default()
            .with_refresh_budget(REFRESH_BUDGET)
            .with_background_refresh(false)
            .with_mandatory_ahead(Duration::from_secs(30))
    }

    fn take_source(&self) -> Source {
        let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *source, Source::Spent)
    }

    fn put_back(&self, ticket: Ticket) {
        let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
        *source = Source::Ticket(ticket);
    }
}

/// Whether the platform certainly did not consume the ticket: nothing reached it, or it
/// refused the request before looking at the ticket (codes 1 and 2).
fn ticket_unspent(error: &Error) -> bool {
    error.is_transient() || matches!(error.platform_code(), Some("1" | "2"))
}

#[async_trait]
impl TokenProvider for IlabProvider {
    async fn fetch(&self) -> Result<Token, Error> {
        match self.take_source() {
            Source::Exchanged(token) => Ok(*token),
            Source::Spent => Err(Error::reauth(
                PLATFORM,
                format!("the launch ticket was already exchanged (a ticket serves one exchange); {RELAUNCH}"),
            )),
            Source::Ticket(ticket) => match self.client.exchange(&ticket).await {
                Ok(token) => Ok(token),
                Err(error) => {
                    if ticket_unspent(&error) {
                        self.put_back(ticket);
                    }
                    Err(error)
                }
            },
        }
    }

    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        let spent = current.grant().refreshes_spent;
        if spent >= REFRESH_BUDGET {
            return Err(Error::reauth(
                PLATFORM,
                format!("both refreshes of this grant are spent; {RELAUNCH}"),
            ));
        }
        let credential = match current.refresh_token() {
            Some(r) => r.clone(),
            None if self.client.dialect().refreshes_with_access_token() => {
                RefreshToken::new(current.access_token().expose_secret())
            }
            None => {
                return Err(Error::reauth(
                    PLATFORM,
                    format!("the grant has no refresh token; {RELAUNCH}"),
                ));
            }
        };
        let mut token = self.client.refresh(&credential).await?;
        let grant = token.grant_mut();
        grant.refreshes_spent = spent + 1;
        grant.refresh_budget = Some(REFRESH_BUDGET);
        Ok(keep_display_name(token, current))
    }

    fn policy(&self) -> RefreshPolicy {
        Self::ilab_policy()
    }
}

/// The refresh answer may carry the user id in `dis` (§1.2); keep the display name the
/// exchange gave.
fn keep_display_name(token: Token, previous: &Token) -> Token {
    let (Some(new), Some(old)) = (token.user(), previous.user()) else {
        return token;
    };
    let lost = new.display_name.is_none() || new.display_name.as_deref() == Some(new.id.as_str());
    if !lost || old.display_name.is_none() || old.id != new.id {
        return token;
    }
    let mut meta = token.metadata().clone();
    if let Some(user) = meta.user.as_mut() {
        user.display_name.clone_from(&old.display_name);
    }
    token.with_metadata(meta)
}
