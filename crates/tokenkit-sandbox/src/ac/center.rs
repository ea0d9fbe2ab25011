//! A region's service URLs and the `center` answer that describes them (PROTOCOLS.md
//! §2.6).
//!
//! The defaults are derived from the cluster id under `.sandbox.invalid` (a reserved
//! name that never resolves, so a client that calls a discovered URL by mistake fails
//! fast instead of reaching a real host), and every region lists one disabled efile
//! URL first: a client that ignores `enable` picks it and its tests notice.

use serde_json::{Value, json};

use super::{AcCluster, AcUser};

/// One service URL of a region, as `center` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcUrl {
    /// The base URL of the service.
    pub url: String,
    /// Whether clients may use it (`"enable": "true"`).
    pub enable: bool,
}

impl AcUrl {
    /// An entry clients may use.
    ///
    /// ```
    /// let url = tokenkit_sandbox::ac::AcUrl::enabled("https://hpc.example:65443");
    /// assert!(url.enable);
    /// ```
    pub fn enabled(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            enable: true,
        }
    }

    /// An entry listed with `"enable": "false"`: clients must skip it.
    ///
    /// ```
    /// let url = tokenkit_sandbox::ac::AcUrl::disabled("https://old.example:65443");
    /// assert!(!url.enable);
    /// ```
    pub fn disabled(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            enable: false,
        }
    }

    fn to_json(&self) -> Value {
        // The platform sends `enable` as a string (§2.6); `version` is not documented
        // beyond being present.
        json!({"url": self.url, "enable": self.enable.to_string(), "version": "1.0"})
    }
}

/// The service URLs of a region: `hpcUrls` (jobs), `efileUrls` (files), `aiUrls`
/// (containers). [`Default`] lists none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcUrls {
    /// `hpcUrls`.
    pub hpc: Vec<AcUrl>,
    /// `efileUrls`.
    pub efile: Vec<AcUrl>,
    /// `aiUrls`.
    pub ai: Vec<AcUrl>,
}

impl AcUrls {
    /// The default URLs of cluster `id`: one enabled hpc and ai URL, and for efile a
    /// disabled `efile-<id>-old` URL followed by the enabled `efile-<id>`.
    ///
    /// ```
    /// let urls = tokenkit_sandbox::ac::AcUrls::for_cluster("11112");
    /// assert_eq!(urls.hpc[0].url, "https://hpc-11112.sandbox.invalid:65443");
    /// assert_eq!(urls.efile[0].url, "https://efile-11112-old.sandbox.invalid:65443");
    /// assert!(!urls.efile[0].enable && urls.efile[1].enable);
    /// ```
    pub fn for_cluster(id: &str) -> Self {
        let url = |host: String| format!("https://{host}.sandbox.invalid:65443");
        Self {
            hpc: vec![AcUrl::enabled(url(format!("hpc-{id}")))],
            efile: vec![
                AcUrl::disabled(url(format!("efile-{id}-old"))),
                AcUrl::enabled(url(format!("efile-{id}"))),
            ],
            ai: vec![AcUrl::enabled(url(format!("ai-{id}")))],
        }
    }
}

/// The region object of a `center` answer for `user` in `cluster`.
pub(super) fn region(user: &AcUser, cluster: &AcCluster) -> Value {
    let list = |urls: &[AcUrl]| urls.iter().map(AcUrl::to_json).collect::<Vec<_>>();
    json!({
        "id": cluster.id,
        "name": cluster.name,
        "clusterUserInfo": {
            "userName": user.user,
            "homePath": format!("/public/home/{}", user.user),
        },
        "hpcUrls": list(&cluster.urls.hpc),
        "efileUrls": list(&cluster.urls.efile),
        "aiUrls": list(&cluster.urls.ai),
    })
}
