//! `AcProvider`: the token of one cluster, for the core's `TokenCache`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokenkit_core::{Error, RefreshPolicy, Token, TokenProvider, async_trait};

use crate::account::Shared;

use crate::reply::{INSUFFICIENT_PERMISSION, PARAMETER_INVALID};
use crate::{AcClient, ClusterSelector, PLATFORM, token};

/// How long after expiry a token can still be renewed (§2.2: 24 h).
pub const RENEWAL_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A login hands back the region's *current* token, which may be about to expire (or,
/// measured against `Date`, already be): one with less than this left is renewed at
/// once, so the cache never receives a token it cannot hand out.
pub const LOGIN_TOKEN_FLOOR: Duration = Duration::from_secs(1);

/// The token of one cluster: `fetch` logs in and picks the cluster, `refresh` renews
/// with `tokens/next` and falls back to a login when renewal is refused.
///
/// ```no_run
/// use tokenkit_ac::{AcClient, AcProvider, ClusterSelector};
/// use tokenkit_core::TokenCache;
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice").password("s3cret").org_id("org").build()?;
/// let cache = TokenCache::new(AcProvider::new(client, ClusterSelector::name("华东一区")));
/// let token = cache.token().await?; // logs in once, then renews as needed
/// # Ok(()) }
/// ```
///
/// A provider of its own logs in for its cluster alone; one from
/// [`AcAccount::provider`](crate::AcAccount::provider) shares the account's logins with
/// the other clusters.
#[derive(Debug, Clone)]
pub struct AcProvider {
    client: AcClient,
    cluster: ClusterSelector,
    renewal_window: Duration,
    account: Option<Arc<Shared>>,
    /// The last token a login was asked to replace. When that login fails (say, with
    /// wrong credentials) the cache asks `fetch` next, and a shared store may still hold
    /// this token: it must not come back as the answer.
    replacing: Arc<Mutex<Option<Token>>>,
}

impl AcProvider {
    /// The token of `cluster`, obtained with `client` (which must have credentials).
    pub fn new(client: AcClient, cluster: ClusterSelector) -> Self {
        Self {
            client,
            cluster,
            renewal_window: RENEWAL_WINDOW,
            account: None,
            replacing: Arc::default(),
        }
    }

    pub(crate) fn for_account(account: Arc<Shared>, cluster: ClusterSelector) -> Self {
        Self {
            client: account.client().clone(),
            cluster,
            renewal_window: RENEWAL_WINDOW,
            account: Some(account),
            replacing: Arc::default(),
        }
    }

    /// How long after expiry renewal is still tried (default 24 h, the platform's rule).
    /// Past it, a refresh logs in without asking the platform to renew.
    pub fn renewal_window(mut self, window: Duration) -> Self {
        self.renewal_window = window;
        self
    }

    /// The client.
    pub fn client(&self) -> &AcClient {
        &self.client
    }

    /// The cluster this provider serves.
    pub fn cluster(&self) -> &ClusterSelector {
        &self.cluster
    }

    /// Whether `current` is past its renewal window, on the local monotonic clock
    /// (its deadline was measured on the server's clock, see `token::build`).
    fn window_closed(&self, current: &Token) -> bool {
        tokio::time::Instant::now() >= current.expiry().deadline() + self.renewal_window
    }
}

impl AcProvider {
    /// A login for this cluster (the account's, when there is one), replacing
    /// `replacing`. A login hands back the region's current token, which may be about to
    /// expire: one with less than [`LOGIN_TOKEN_FLOOR`] left is renewed at once.
    async fn login(&self, replacing: Option<&Token>) -> Result<Token, Error> {
        let replacing = {
            let mut last = self.replacing.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(token) = replacing {
                *last = Some(token.clone());
            }
            last.clone()
        };
        let token = match &self.account {
            Some(account) => account.login_for(&self.cluster, replacing.as_ref()).await?,
            None => self.client.login().await?.token_for(&self.cluster)?,
        };
        if token.remaining() >= LOGIN_TOKEN_FLOOR {
            return Ok(token);
        }
        tracing::info!(cluster = %self.cluster, "ac login gave a token about to expire; renewing it at once");
        self.renew(&token).await
    }

    /// `tokens/next` for `current`; the new token keeps `current`'s cluster name (the
    /// renewal answers only the token, whose claims hold the id alone).
    async fn renew(&self, current: &Token) -> Result<Token, Error> {
        let renewed = self.client.renew(current.access_token()).await?;
        Ok(match current.metadata().cluster.clone() {
            Some(cluster) => token::with_cluster(renewed, cluster),
            None => renewed,
        })
    }
}

/// Renewal refusals that only a new login can get past: the token is too old (10008,
/// also the answer for a token already replaced by its renewal) or not accepted (10004).
fn renewal_refused(error: &Error) -> bool {
    error.platform() == Some(PLATFORM)
        && matches!(
            error.platform_code(),
            Some(INSUFFICIENT_PERMISSION | PARAMETER_INVALID)
        )
}

#[async_trait]
impl TokenProvider for AcProvider {
    async fn fetch(&self) -> Result<Token, Error> {
        self.login(None).await
    }

    async fn refresh(&self, current: &Token) -> Result<Token, Error> {
        if self.window_closed(current) {
            tracing::info!(cluster = %self.cluster, "ac renewal window closed; logging in");
            return self.login(Some(current)).await;
        }
        match self.renew(current).await {
            Ok(renewed) => Ok(renewed),
            Err(error) if renewal_refused(&error) => {
                tracing::info!(cluster = %self.cluster, %error, "ac renewal refused; logging in");
                self.login(Some(current)).await
            }
            Err(error) => Err(error),
        }
    }

    /// Renew while within the renewal window past expiry (§2.2); renewals spend
    /// nothing, so background refresh ahead of expiry is on.
    /// A renewal replaces the token renewed (`tokens/next`): after one whose answer was
    /// lost, the current token is suspect and renewed (or replaced by a login) before
    /// it is served again.
    fn policy(&self) -> RefreshPolicy {
        RefreshPolicy::default()
            .with_renewal_grace(self.renewal_window)
            .with_renewal_revokes(true)
    }

    fn platform(&self) -> &'static str {
        PLATFORM
    }
}
