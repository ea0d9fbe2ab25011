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
    /// Drop the decoded JWT claims of every token (the session registry's choice, to
    /// keep 100,000 sessions small; see [`compact`]).
    compact: bool,
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
    /// Exchanged by another process, if at all: this provider never held the ticket.
    Resumed,
}

impl IlabProvider {
    /// A provider whose first `fetch` exchanges `ticket`.
    pub fn new(client: IlabClient, ticket: Ticket) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Ticket(ticket)),
            compact: false,
        }
    }

    /// A provider for a grant whose ticket was already exchanged: its first `fetch`
    /// hands out `token`, later ones are a re-authentication error.
    pub fn from_exchanged(client: IlabClient, token: Token) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Exchanged(Box::new(token))),
            compact: false,
        }
    }

    /// A provider for a grant kept in a shared store by another process (the CLI's
    /// `ilab token --session`): it can refresh the stored grant, and its `fetch` is a
    /// re-authentication error, since only the user's relaunch gives a new ticket.
    pub fn resume(client: IlabClient) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Resumed),
            compact: false,
        }
    }

    /// For the session registry's launches: a grant whose ticket the registry exchanged
    /// and whose token it stored itself, so the cache adopts it from the store. Its
    /// `fetch` is the re-authentication error of a grant whose ticket is spent, and
    /// every refreshed token it hands out is [`compact`].
    pub(crate) fn compact_launched(client: IlabClient) -> Self {
        Self {
            client,
            source: Mutex::new(Source::Spent),
            compact: true,
        }
    }

    /// Like [`IlabProvider::resume`], for the session registry's resumed sessions:
    /// every refreshed token it hands out is [`compact`], as a launched session's.
    pub(crate) fn compact_resume(client: IlabClient) -> Self {
        Self {
            compact: true,
            ..Self::resume(client)
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
        match &*source {
            Source::Resumed => Source::Resumed,
            _ => std::mem::replace(&mut *source, Source::Spent),
        }
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
                format!(
                    "the grant cannot be refreshed (its two refreshes are spent, or the \
                     platform refused it) and its launch ticket was already exchanged (a \
                     ticket serves one exchange); {RELAUNCH}"
                ),
            )),
            // Not "already exchanged": this provider cannot know whether the grant was
            // ever stored; it only knows it cannot make one.
            Source::Resumed => Err(Error::reauth(
                PLATFORM,
                format!(
                    "no usable token of this session is stored (never exchanged here, or its \
                     refreshes are spent), and a new one needs a new ticket; {RELAUNCH}"
                ),
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
        let token = keep_display_name(token, current);
        Ok(if self.compact { compact(token) } else { token })
    }

    fn policy(&self) -> RefreshPolicy {
        Self::ilab_policy()
    }

    fn platform(&self) -> &'static str {
        crate::PLATFORM
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

/// The token without its decoded JWT claims and extra ilab fields: about 5 KiB per
/// seed-sized token that repeat what the token itself says (`jti`, times, `scope`).
/// The user (`un`, `dis`), the expiry and the grant stay; the claims can be decoded
/// again on demand with `tokenkit_core::jwt::decode_claims`.
pub fn compact(token: Token) -> Token {
    if token.metadata().extra.is_empty() {
        return token.without_claims();
    }
    let mut meta = token.metadata().clone();
    meta.extra = Default::default();
    meta.claims = Default::default();
    // `with_metadata` keeps the old claims when the new ones are empty; drop them after.
    token.with_metadata(meta).without_claims()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit_core::{Arrival, Expiry, Grant, Metadata, UserIdentity};

    use super::*;

    #[test]
    fn compact_keeps_identity_expiry_grant_and_secrets() {
        let token = Token::new(
            crate::test_vectors::SEED_REFRESH_TOKEN,
            Expiry::after(Arrival::now(), Duration::from_secs(600)),
        )
        .with_refresh_token("rt")
        .with_grant(Grant {
            refreshes_spent: 1,
            refresh_budget: Some(2),
            outcome_unknown: false,
            ..Default::default()
        })
        .with_metadata(Metadata {
            user: Some(UserIdentity {
                id: "u".into(),
                display_name: Some("张三".into()),
            }),
            ..Metadata::default()
        });
        assert!(!token.metadata().claims.is_empty());
        let small = compact(token.clone());
        assert!(small.metadata().claims.is_empty() && small.metadata().extra.is_empty());
        assert!(small.same_access_token(&token));
        assert_eq!(small.refresh_token(), token.refresh_token());
        assert_eq!(small.user(), token.user());
        assert_eq!(small.grant(), token.grant());
        let drift = small.expiry().deadline().max(token.expiry().deadline())
            - small.expiry().deadline().min(token.expiry().deadline());
        assert!(drift < Duration::from_millis(50), "{drift:?}");
    }
}
