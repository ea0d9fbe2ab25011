//! Region discovery: `GET /ac/openapi/v2/center` with a region token (PROTOCOLS.md
//! §2.6) — the region's service URLs (jobs, files, containers) and its cluster user.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokenkit_core::auth::AuthClient;
use tokenkit_core::{AccessToken, Error, TokenCache, lenient};

use crate::reply::{self, describe};
use crate::{AcClient, PLATFORM};

const CENTER: &str = "/ac/openapi/v2/center";

/// The kinds of service URL a region lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// `hpcUrls`: the job service.
    Hpc,
    /// `efileUrls`: the file service.
    Efile,
    /// `aiUrls`: the container service.
    Ai,
}

impl ServiceKind {
    /// The field of a region that lists this kind (`hpcUrls`, …).
    pub fn field(self) -> &'static str {
        match self {
            Self::Hpc => "hpcUrls",
            Self::Efile => "efileUrls",
            Self::Ai => "aiUrls",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hpc => "hpc",
            Self::Efile => "efile",
            Self::Ai => "ai",
        })
    }
}

impl FromStr for ServiceKind {
    type Err = Error;

    /// `hpc`, `efile` or `ai`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hpc" => Ok(Self::Hpc),
            "efile" => Ok(Self::Efile),
            "ai" => Ok(Self::Ai),
            _ => Err(Error::config(format!(
                "{PLATFORM}: unknown service kind {s:?}: use hpc, efile or ai"
            ))),
        }
    }
}

/// One service URL of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    /// The URL.
    pub url: String,
    /// `enable`: only enabled URLs are to be used. Sent as `"true"`/`"false"` or as a
    /// boolean; any other value counts as not enabled.
    pub enabled: bool,
    /// `version`, when given.
    pub version: Option<String>,
}

/// `clusterUserInfo`: the account's user on the region's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterUser {
    /// `userName`.
    pub user_name: Option<String>,
    /// `homePath`.
    pub home_path: Option<String>,
}

/// A region as `center` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CenterRegion {
    /// `id`, the cluster id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `clusterUserInfo`, when given.
    pub cluster_user: Option<ClusterUser>,
    /// `hpcUrls`.
    pub hpc: Vec<ServiceUrl>,
    /// `efileUrls`.
    pub efile: Vec<ServiceUrl>,
    /// `aiUrls`.
    pub ai: Vec<ServiceUrl>,
}

impl CenterRegion {
    /// Every URL of `kind`, enabled or not, in the platform's order.
    pub fn urls(&self, kind: ServiceKind) -> &[ServiceUrl] {
        match kind {
            ServiceKind::Hpc => &self.hpc,
            ServiceKind::Efile => &self.efile,
            ServiceKind::Ai => &self.ai,
        }
    }

    /// The first enabled URL of `kind`; a region without one is
    /// [`Error::Unavailable`] naming the region and the kind.
    ///
    /// ```
    /// # use tokenkit_ac::{CenterRegion, ServiceKind, ServiceUrl};
    /// let region = CenterRegion {
    ///     id: "11112".into(), name: "华东一区".into(), cluster_user: None,
    ///     hpc: vec![ServiceUrl { url: "https://old".into(), enabled: false, version: None },
    ///               ServiceUrl { url: "https://hpc".into(), enabled: true, version: None }],
    ///     efile: vec![], ai: vec![],
    /// };
    /// assert_eq!(region.url(ServiceKind::Hpc)?, "https://hpc");
    /// assert!(region.url(ServiceKind::Efile).unwrap_err().to_string().contains("efile"));
    /// # Ok::<(), tokenkit_core::Error>(())
    /// ```
    pub fn url(&self, kind: ServiceKind) -> Result<&str, Error> {
        let urls = self.urls(kind);
        urls.iter()
            .find(|u| u.enabled)
            .map(|u| u.url.as_str())
            .ok_or_else(|| Error::Unavailable {
                platform: PLATFORM,
                resource: format!("region {} ({})", self.name, self.id),
                reason: if urls.is_empty() {
                    format!("it lists no {kind} URL ({})", kind.field())
                } else {
                    format!(
                        "none of its {} {kind} URLs is enabled ({})",
                        urls.len(),
                        kind.field()
                    )
                },
            })
    }
}

/// Parses `data` of a `center` answer: one region object (as the production service
/// answers) or a list of them (as the page's table says).
pub fn parse_center(data: &Value) -> Result<Vec<CenterRegion>, String> {
    match data {
        Value::Object(region) => Ok(vec![parse_region(region)?]),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(region) => parse_region(region),
                other => Err(format!(
                    "region {i} is {} where an object was expected",
                    describe(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "data is {} where a region object or a list of regions was expected",
            describe(other)
        )),
    }
}

fn parse_region(region: &Map<String, Value>) -> Result<CenterRegion, String> {
    let text = |name: &str| region.get(name).and_then(lenient::value_as_string);
    let id = text("id").ok_or("a region has no id")?;
    let name = text("name").unwrap_or_default();
    let cluster_user = match region.get("clusterUserInfo") {
        None | Some(Value::Null) => None,
        Some(Value::Object(info)) => Some(ClusterUser {
            user_name: info.get("userName").and_then(lenient::value_as_string),
            home_path: info.get("homePath").and_then(lenient::value_as_string),
        }),
        Some(other) => {
            return Err(format!(
                "clusterUserInfo of region {id} is {} where an object was expected",
                describe(other)
            ));
        }
    };
    let urls = |kind: ServiceKind| -> Result<Vec<ServiceUrl>, String> {
        match region.get(kind.field()) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(entries)) => entries
                .iter()
                .map(|entry| {
                    parse_url(entry).ok_or_else(|| {
                        format!(
                            "an entry of {} of region {id} has no url string",
                            kind.field()
                        )
                    })
                })
                .collect(),
            Some(other) => Err(format!(
                "{} of region {id} is {} where a list was expected",
                kind.field(),
                describe(other)
            )),
        }
    };
    Ok(CenterRegion {
        hpc: urls(ServiceKind::Hpc)?,
        efile: urls(ServiceKind::Efile)?,
        ai: urls(ServiceKind::Ai)?,
        id,
        name,
        cluster_user,
    })
}

fn parse_url(entry: &Value) -> Option<ServiceUrl> {
    let url = entry.get("url")?.as_str()?.trim().to_owned();
    if url.is_empty() {
        return None;
    }
    let enabled = match entry.get("enable") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    Some(ServiceUrl {
        url,
        enabled,
        version: entry.get("version").and_then(lenient::value_as_string),
    })
}

/// Region discovery for one cluster's token cache: the answer of `center`, kept for
/// as long as the token it was fetched with is the cache's current one.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_ac::{AcClient, AcProvider, ClusterSelector, ServiceKind};
/// use tokenkit_core::TokenCache;
/// # async fn run() -> Result<(), tokenkit_core::Error> {
/// let client = AcClient::builder("https://api01.example.com:65102")
///     .user("alice").access_key("ak", "sk").build()?;
/// let cache = Arc::new(TokenCache::new(AcProvider::new(client.clone(), ClusterSelector::id("11112"))));
/// let discovery = client.discovery(cache);
/// let jobs = discovery.url(ServiceKind::Hpc).await?; // the region's first enabled job URL
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Discovery {
    client: AcClient,
    calls: AuthClient,
    cached: Mutex<Option<(AccessToken, Arc<[CenterRegion]>)>>,
}

impl AcClient {
    /// Region discovery with the tokens of `cache` (a region's, not the platform
    /// token's), through the authenticated-call layer (a 10008 renews once).
    pub fn discovery<C>(&self, cache: Arc<C>) -> Discovery
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        Discovery {
            client: self.clone(),
            calls: self.calls(cache),
            cached: Mutex::new(None),
        }
    }

    /// `GET /ac/openapi/v2/center` through `calls` (whose tokens must be region
    /// tokens): the regions it describes, usually the token's own.
    pub async fn center(&self, calls: &AuthClient) -> Result<Vec<CenterRegion>, Error> {
        let url = format!("{}{CENTER}", self.base_url());
        let answer = calls.send(calls.get(url)).await?;
        // The token the call carried (the renewed one, if the call renewed it): the
        // platform may echo it.
        let sent = calls
            .cache()
            .cached()
            .map(|t| crate::client::sent_token(t.access_token()))
            .unwrap_or_default();
        let response = self
            .inner()
            .http
            .read(answer)
            .await
            .map_err(|e| sent.error(e))?
            .with_sent(sent);
        let data = reply::data(&response)?;
        parse_center(&data).map_err(|reason| response.malformed(reason))
    }
}

impl Discovery {
    /// The regions `center` describes, fetched once per token.
    pub async fn regions(&self) -> Result<Arc<[CenterRegion]>, Error> {
        if let Some(regions) = self.still_valid() {
            return Ok(regions);
        }
        let regions: Arc<[CenterRegion]> = self.client.center(&self.calls).await?.into();
        // Kept for the token now current (the call may have renewed it).
        if let Some(token) = self.calls.cache().cached() {
            let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
            *cached = Some((token.access_token().clone(), Arc::clone(&regions)));
        }
        Ok(regions)
    }

    /// The token's region (the one whose id is the token's cluster, else the first),
    /// and its first enabled URL of `kind`.
    pub async fn url(&self, kind: ServiceKind) -> Result<String, Error> {
        let regions = self.regions().await?;
        let own = self
            .calls
            .cache()
            .cached()
            .and_then(|t| t.metadata().cluster.as_ref().map(|c| c.id.clone()));
        let region = regions
            .iter()
            .find(|r| Some(&r.id) == own.as_ref())
            .or_else(|| regions.first())
            .ok_or_else(|| Error::Unavailable {
                platform: PLATFORM,
                resource: "the token's region".into(),
                reason: "center described no region".into(),
            })?;
        region.url(kind).map(str::to_owned)
    }

    fn still_valid(&self) -> Option<Arc<[CenterRegion]>> {
        let current = self.calls.cache().cached()?;
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some((token, regions)) if token == current.access_token() => Some(Arc::clone(regions)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_object_or_a_list_and_enable_as_string_or_bool() {
        let region = json!({"id": 11112, "name": "华东一区",
            "clusterUserInfo": {"userName": "demo", "homePath": "/public/home/demo"},
            "hpcUrls": [{"url": "https://a", "enable": "false"}, {"url": "https://b", "enable": true, "version": 2}],
            "efileUrls": [{"url": "https://c", "enable": "TRUE"}],
            "aiUrls": []});
        let one = parse_center(&region).expect("object");
        let list = parse_center(&json!([region])).expect("list");
        assert_eq!(one, list);
        let r = &one[0];
        assert_eq!(r.id, "11112");
        assert_eq!(r.url(ServiceKind::Hpc).expect("hpc"), "https://b");
        assert_eq!(r.hpc[1].version.as_deref(), Some("2"));
        assert_eq!(r.url(ServiceKind::Efile).expect("efile"), "https://c");
        let none = r.url(ServiceKind::Ai).expect_err("no ai");
        assert!(matches!(none, Error::Unavailable { .. }));
        assert!(
            none.to_string().contains("华东一区") && none.to_string().contains("ai"),
            "{none}"
        );
        assert_eq!(
            r.cluster_user.as_ref().and_then(|u| u.home_path.as_deref()),
            Some("/public/home/demo")
        );
    }

    #[test]
    fn bad_shapes_are_named() {
        for (data, says) in [
            (json!("x"), "data is a string"),
            (json!([1]), "region 0 is a number"),
            (json!({"name": "n"}), "no id"),
            (
                json!({"id": "1", "hpcUrls": {}}),
                "hpcUrls of region 1 is an object",
            ),
            (
                json!({"id": "1", "aiUrls": [{"enable": true}]}),
                "no url string",
            ),
            (
                json!({"id": "1", "clusterUserInfo": "u"}),
                "clusterUserInfo",
            ),
        ] {
            let err = parse_center(&data).expect_err("refused");
            assert!(err.contains(says), "{err}");
        }
        assert!(parse_center(&json!([])).expect("empty list").is_empty());
    }

    #[test]
    fn kinds_parse() {
        assert_eq!("HPC".parse::<ServiceKind>().expect("hpc"), ServiceKind::Hpc);
        assert!("gpu".parse::<ServiceKind>().is_err());
    }
}
