//! What the console shows of the ac platform, and what it does there as the platform's
//! operator: revoke a pair's token, suspend or resume an account in a region.
//!
//! Passwords and secret keys never leave the configuration; tokens and access key ids
//! leave it masked.

use std::time::SystemTime;

use super::clock::machine_time;
use super::handlers::{AcState, active_status, suspended_status};
use super::registry::Pair;
use super::{AcUrl, AcUrls};
use crate::mask::mask;

/// A pair's current token, as the platform would judge it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Accepted by `tokens/state` and `center`.
    Live,
    /// Past its `expireTime` (perhaps still renewable).
    Expired,
    /// Revoked by an operator or a suspension.
    Revoked,
    /// No token was issued for the pair yet.
    None,
}

/// An account.
#[derive(Debug, Clone)]
pub(crate) struct AccountView {
    /// Login name, orgId and userId.
    pub(crate) user: String,
    pub(crate) org_id: String,
    pub(crate) user_id: String,
    /// Its access key ids, masked.
    pub(crate) access_keys: Vec<String>,
}

/// A region, as configured.
#[derive(Debug, Clone)]
pub(crate) struct ClusterView {
    /// `clusterId` and `clusterName`.
    pub(crate) id: String,
    pub(crate) name: String,
    /// The configured `accountStatus`, and whether accounts start suspended here.
    pub(crate) account_status: String,
    pub(crate) suspended: bool,
    /// What `center` lists: (list name, URL, enabled).
    pub(crate) urls: Vec<(&'static str, String, bool)>,
}

/// One (user, cluster) pair.
#[derive(Debug, Clone)]
pub(crate) struct PairView {
    pub(crate) user: String,
    pub(crate) cluster: String,
    pub(crate) cluster_name: String,
    /// Whether the account is suspended in this region now.
    pub(crate) suspended: bool,
    /// The `accountStatus` a login states now: beside the null token if suspended,
    /// else in the tokens' claims.
    pub(crate) account_status: String,
    /// The current token, masked, and its expiry on the machine's clock.
    pub(crate) token: Option<(String, SystemTime)>,
    pub(crate) state: TokenState,
}

/// Everything the ac page shows.
#[derive(Debug, Clone)]
pub(crate) struct AcView {
    pub(crate) accounts: Vec<AccountView>,
    pub(crate) clusters: Vec<ClusterView>,
    /// Every user with every cluster, in configuration order.
    pub(crate) pairs: Vec<PairView>,
}

/// Why an action cannot name a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PairRefusal {
    /// The form names no user.
    NoUser,
    /// The form names no cluster.
    NoCluster,
    /// No account has this name.
    UnknownUser(String),
    /// No region has this id.
    UnknownCluster(String),
}

impl AcState {
    /// What the platform holds now.
    pub(crate) fn view(&self) -> AcView {
        let config = &self.config;
        let accounts = config
            .users
            .iter()
            .map(|user| AccountView {
                user: user.user.clone(),
                org_id: user.org_id.clone(),
                user_id: user.user_id.clone(),
                access_keys: config
                    .access_keys
                    .iter()
                    .filter(|key| key.user == user.user)
                    .map(|key| mask(&key.access_key))
                    .collect(),
            })
            .collect();
        let clusters = config
            .clusters
            .iter()
            .map(|cluster| ClusterView {
                id: cluster.id.clone(),
                name: cluster.name.clone(),
                account_status: cluster.account_status.clone(),
                suspended: cluster.suspended,
                urls: urls(&cluster.urls),
            })
            .collect();
        let (machine_now, platform_now_ms) = self.platform_clock().readings();
        let mut pairs = Vec::new();
        for user in &config.users {
            for cluster in &config.clusters {
                let key = (user.user.clone(), cluster.id.clone());
                let (suspended, current) = self.registry.pair(&key);
                let state = match &current {
                    None => TokenState::None,
                    Some(c) if c.revoked => TokenState::Revoked,
                    Some(c) if platform_now_ms >= c.expire_ms => TokenState::Expired,
                    Some(_) => TokenState::Live,
                };
                let status = if suspended {
                    suspended_status(cluster)
                } else {
                    active_status(cluster)
                };
                pairs.push(PairView {
                    user: key.0,
                    cluster: key.1,
                    cluster_name: cluster.name.clone(),
                    suspended,
                    account_status: status.to_owned(),
                    token: current.map(|c| {
                        let expires = machine_time(machine_now, platform_now_ms, c.expire_ms);
                        (c.masked, expires)
                    }),
                    state,
                });
            }
        }
        AcView {
            accounts,
            clusters,
            pairs,
        }
    }

    /// Revokes the pair's current token; `Ok(true)` if it had one not revoked yet.
    pub(crate) fn revoke_pair(&self, user: &str, cluster: &str) -> Result<bool, PairRefusal> {
        let pair = self.pair_named(user, cluster)?;
        Ok(self.registry.revoke_pair(&pair))
    }

    /// Suspends the account in the region: logins list it with a null token, and its
    /// current token is revoked.
    pub(crate) fn suspend(&self, user: &str, cluster: &str) -> Result<(), PairRefusal> {
        self.registry.suspend(self.pair_named(user, cluster)?);
        Ok(())
    }

    /// Resumes the account in the region: the next login mints a new token.
    pub(crate) fn resume(&self, user: &str, cluster: &str) -> Result<(), PairRefusal> {
        self.registry.resume(&self.pair_named(user, cluster)?);
        Ok(())
    }

    fn pair_named(&self, user: &str, cluster: &str) -> Result<Pair, PairRefusal> {
        let (user, cluster) = (user.trim(), cluster.trim());
        if user.is_empty() {
            return Err(PairRefusal::NoUser);
        }
        if cluster.is_empty() {
            return Err(PairRefusal::NoCluster);
        }
        if !self.config.users.iter().any(|u| u.user == user) {
            return Err(PairRefusal::UnknownUser(user.to_owned()));
        }
        if !self.config.clusters.iter().any(|c| c.id == cluster) {
            return Err(PairRefusal::UnknownCluster(cluster.to_owned()));
        }
        Ok((user.to_owned(), cluster.to_owned()))
    }
}

fn urls(urls: &AcUrls) -> Vec<(&'static str, String, bool)> {
    let list = |name: &'static str, list: &[AcUrl]| {
        list.iter()
            .map(|u| (name, u.url.clone(), u.enable))
            .collect::<Vec<_>>()
    };
    let mut all = list("hpcUrls", &urls.hpc);
    all.extend(list("efileUrls", &urls.efile));
    all.extend(list("aiUrls", &urls.ai));
    all
}
