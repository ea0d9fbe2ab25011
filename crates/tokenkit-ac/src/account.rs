//! One account, many clusters: one login serves every region's token cache.
//!
//! A login answers a token for every region (§2.1, §2.5), so an account that uses three
//! clusters needs one login, not three. [`AcAccount`] hands out one [`AcProvider`] per
//! cluster; their logins go through the account:
//!
//! - one login at a time per account: in this process (a mutex) and across processes
//!   sharing the store (a lease on the account's login key);
//! - after a login, every other region's token is written to the store under that
//!   region's key, so their caches adopt it instead of logging in themselves (across
//!   processes too, with `FileStore` or `RedisStore`);
//! - a login that waited for another one first looks at the store: if the other login
//!   already brought this cluster a token (unexpired, and not the one being replaced),
//!   that is the answer and no login is made.
//!
//! Renewal (`tokens/next`) stays per cluster: only a login is shared.

use std::sync::Arc;
use std::time::Duration;

use tokenkit_core::store::{CasOutcome, Lease};
use tokenkit_core::{Error, MemoryStore, Token, TokenCache, TokenStore};

use crate::{AcClient, AcProvider, ClusterSelector, Login};

/// How long an account's login lease lasts (a login takes a second, not this).
const LOGIN_LEASE: Duration = Duration::from_secs(30);
/// How long a login waits for another holder of the account's login lease.
const LOGIN_WAIT: Duration = Duration::from_secs(30);

/// An ac account whose clusters share their logins.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_ac::{AcAccount, AcClient, ClusterSelector};
/// use tokenkit_core::FileStore;
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice").access_key("ak", "sk").build()?;
/// let account = AcAccount::with_store(client, Arc::new(FileStore::open("/var/lib/tokenkit")?));
/// let east = account.cache(ClusterSelector::id("11112"));
/// let north = account.cache(ClusterSelector::name("华北一区"));
/// let platform = account.cache(ClusterSelector::platform());
/// let (a, b, c) = tokio::join!(east.token(), north.token(), platform.token()); // one login
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AcAccount {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    client: AcClient,
    store: Arc<dyn TokenStore>,
    prefix: String,
    login: tokio::sync::Mutex<()>,
}

impl AcAccount {
    /// An account whose tokens live in a private [`MemoryStore`] (one process).
    pub fn new(client: AcClient) -> Self {
        Self::with_store(client, Arc::new(MemoryStore::new()))
    }

    /// An account whose tokens live in `store`: processes sharing the store share the
    /// account's logins.
    pub fn with_store(client: AcClient, store: Arc<dyn TokenStore>) -> Self {
        let prefix = format!(
            "ac:{}:{}",
            client.user().unwrap_or("-"),
            client.account_id()
        );
        Self {
            shared: Arc::new(Shared {
                client,
                store,
                prefix,
                login: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The client.
    pub fn client(&self) -> &AcClient {
        &self.shared.client
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.shared.store
    }

    /// The store key of a cluster's token: `ac:<user>:<orgId>:<cluster>` (or
    /// `ac:<user>:ak-<accessKey>:<cluster>`), the cluster by id or name as selected.
    pub fn key(&self, cluster: &ClusterSelector) -> String {
        self.shared.key(cluster)
    }

    /// The provider of one cluster's token; its logins go through the account.
    pub fn provider(&self, cluster: ClusterSelector) -> AcProvider {
        AcProvider::for_account(Arc::clone(&self.shared), cluster)
    }

    /// A cache of one cluster's token, over the account's store and under
    /// [`AcAccount::key`].
    pub fn cache(&self, cluster: ClusterSelector) -> TokenCache {
        let key = self.key(&cluster);
        TokenCache::builder(self.provider(cluster))
            .store(Arc::clone(&self.shared.store))
            .key(key)
            .build()
    }
}

impl Shared {
    pub(crate) fn client(&self) -> &AcClient {
        &self.client
    }

    fn key(&self, cluster: &ClusterSelector) -> String {
        match cluster {
            ClusterSelector::Id(id) => format!("{}:{id}", self.prefix),
            ClusterSelector::Name(name) => format!("{}:{name}", self.prefix),
        }
    }

    /// The cluster's token from a login of the account: another's, if one happened
    /// while this one waited its turn, else a new one, shared with the other regions.
    /// `replacing` is the token the caller is replacing (refused or past renewal): the
    /// store may still hold it, and it is never the answer.
    pub(crate) async fn login_for(
        &self,
        cluster: &ClusterSelector,
        replacing: Option<&Token>,
    ) -> Result<Token, Error> {
        let key = self.key(cluster);
        let _turn = self.login.lock().await;
        let lease = self.login_lease().await?;
        let result = self.login_or_adopt(cluster, &key, replacing).await;
        if let Err(error) = self.store.release_lease(lease).await {
            tracing::warn!(key = %key, %error, "could not release the account's login lease");
        }
        result
    }

    async fn login_or_adopt(
        &self,
        cluster: &ClusterSelector,
        key: &str,
        replacing: Option<&Token>,
    ) -> Result<Token, Error> {
        // The cache asks for a login only when the store had nothing it could use; a
        // token there now came from another login of the account (in this process or
        // another) that ran while this one waited. It is the region's current token;
        // if it is about to expire the provider renews it (a second login would hand
        // back the same token).
        if let Some(stored) = self.store.load(key).await?
            && !stored.token.expiry().is_expired()
            && !replacing.is_some_and(|r| r.same_access_token(&stored.token))
        {
            tracing::info!(key = %key, "ac: another login of the account brought this cluster's token");
            return Ok(stored.token);
        }
        let login = self.client.login().await?;
        self.share(&login, key).await;
        login.token_for(cluster)
    }

    /// Writes every region's token of `login` under that region's keys (id and name),
    /// except `skip` (the caller's, which its cache commits itself). A region whose
    /// stored token is already this one is left alone; a write that loses a race is
    /// dropped (the winner's token is at least as new).
    async fn share(&self, login: &Login, skip: &str) {
        for region in login.regions() {
            let Some(token) = &region.token else {
                continue;
            };
            let mut keys = vec![self.key(&ClusterSelector::id(&region.cluster.id))];
            if !region.cluster.name.is_empty() {
                keys.push(self.key(&ClusterSelector::name(&region.cluster.name)));
            }
            for key in keys.iter().filter(|k| *k != skip) {
                if let Err(error) = self.put(key, token).await {
                    tracing::warn!(key = %key, %error, "could not share a login's token");
                }
            }
        }
    }

    async fn put(&self, key: &str, token: &Token) -> Result<(), Error> {
        let stored = self.store.load(key).await?;
        if stored
            .as_ref()
            .is_some_and(|s| s.token.same_access_token(token))
        {
            return Ok(());
        }
        let expected = stored.map_or(0, |s| s.generation);
        if let CasOutcome::Conflict(_) = self.store.compare_and_set(key, expected, token).await? {
            tracing::debug!(key = %key, "a newer token was stored meanwhile");
        }
        Ok(())
    }

    /// The account's login lease: waits (on the store's change hint, polling as the
    /// fallback) while another process logs in.
    async fn login_lease(&self) -> Result<Lease, Error> {
        let key = format!("{}:login", self.prefix);
        let deadline = tokio::time::Instant::now() + LOGIN_WAIT;
        loop {
            if let Some(lease) = self.store.try_lease(&key, LOGIN_LEASE).await? {
                return Ok(lease);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::LeaseWaitTimeout { waited: LOGIN_WAIT });
            }
            let poll = Duration::from_millis(50).mul_f64(0.5 + fastrand::f64());
            self.store.wait_for_change(&key, poll).await;
        }
    }
}
