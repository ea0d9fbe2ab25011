//! What a login returns: one entry per region (cluster), each with a token or, for a
//! region where the account is suspended, `"token": null` (PROTOCOLS.md §2.1).

use std::fmt;

use serde_json::{Map, Value};
use tokenkit_core::{Cluster, Error, Token, lenient};

use crate::reply::describe;
use crate::{AcClaims, PLATFORM};

/// Which cluster a token is for: by `clusterId` or by `clusterName`.
///
/// ```
/// use tokenkit_ac::ClusterSelector;
/// assert_eq!(ClusterSelector::platform(), ClusterSelector::id("0"));
/// assert_eq!(ClusterSelector::name("华东一区").to_string(), "cluster named 华东一区");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSelector {
    /// By `clusterId`, e.g. `11112`.
    Id(String),
    /// By `clusterName`, e.g. `华东一区`.
    Name(String),
}

impl ClusterSelector {
    /// The cluster with this id.
    pub fn id(id: impl Into<String>) -> Self {
        Self::Id(id.into())
    }

    /// The cluster with this name.
    pub fn name(name: impl Into<String>) -> Self {
        Self::Name(name.into())
    }

    /// The platform token (`clusterId` `0`), valid only for platform-level APIs.
    pub fn platform() -> Self {
        Self::Id("0".into())
    }

    /// Whether `cluster` is the one selected.
    pub fn matches(&self, cluster: &Cluster) -> bool {
        match self {
            Self::Id(id) => cluster.id == *id,
            Self::Name(name) => cluster.name == *name,
        }
    }
}

impl fmt::Display for ClusterSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "cluster {id}"),
            Self::Name(name) => write!(f, "cluster named {name}"),
        }
    }
}

/// One region of a login.
#[derive(Debug, Clone)]
pub struct Region {
    /// The cluster's id and name.
    pub cluster: Cluster,
    /// The token, or `None` when the account is suspended in this region.
    pub token: Option<Token>,
    /// The account status, when known: an `accountStatus` field beside a `null` token
    /// (the sandbox sends one), else the token's `accountStatus` claim.
    pub account_status: Option<String>,
}

impl Region {
    /// Whether the account is suspended here (the platform issued no token).
    pub fn is_suspended(&self) -> bool {
        self.token.is_none()
    }

    /// `cluster 11112 (华东一区)`, as errors name it.
    pub fn describe(&self) -> String {
        format!("cluster {} ({})", self.cluster.id, self.cluster.name)
    }

    /// The region's token, or a typed error naming the cluster and the account status.
    pub fn into_token(self) -> Result<Token, Error> {
        let resource = self.describe();
        self.token.ok_or_else(|| Error::Suspended {
            platform: PLATFORM,
            resource,
            status: self
                .account_status
                .unwrap_or_else(|| "unknown (the platform issued no token)".into()),
        })
    }
}

/// The answer of a login: every region of the account.
#[derive(Debug, Clone)]
pub struct Login {
    regions: Vec<Region>,
}

impl Login {
    pub(crate) fn new(regions: Vec<Region>) -> Self {
        Self { regions }
    }

    /// Every region, in the platform's order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Every region, owned.
    pub fn into_regions(self) -> Vec<Region> {
        self.regions
    }

    /// The selected region, if the account has it.
    pub fn find(&self, selector: &ClusterSelector) -> Option<&Region> {
        self.regions.iter().find(|r| selector.matches(&r.cluster))
    }

    /// The selected cluster's token. A cluster the account does not have is a
    /// configuration error listing the ones it has; a suspended cluster is
    /// [`Error::Suspended`] naming the cluster and the account status.
    pub fn token_for(self, selector: &ClusterSelector) -> Result<Token, Error> {
        let known: Vec<String> = self.regions.iter().map(Region::describe).collect();
        match self
            .regions
            .into_iter()
            .find(|r| selector.matches(&r.cluster))
        {
            Some(region) => region.into_token(),
            None => Err(Error::config(format!(
                "{PLATFORM}: the account has no {selector}; it has: {}",
                if known.is_empty() {
                    "no regions".to_owned()
                } else {
                    known.join(", ")
                }
            ))),
        }
    }
}

/// A region entry before its token is built.
pub(crate) struct RawRegion {
    pub cluster: Cluster,
    pub token: Option<String>,
    pub account_status: Option<String>,
}

/// Reads the login's `data`: a list of `{clusterName, clusterId, token}`. The error
/// says what was wrong without quoting values (they may be tokens).
pub(crate) fn parse_regions(data: &Value) -> Result<Vec<RawRegion>, String> {
    let list = data.as_array().ok_or_else(|| {
        format!(
            "data is {} where a list of regions was expected",
            describe(data)
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let obj = entry.as_object().ok_or_else(|| {
                format!(
                    "data[{i}] is {} where a region object was expected",
                    describe(entry)
                )
            })?;
            let cluster = Cluster {
                id: required(obj, i, "clusterId")?,
                name: required(obj, i, "clusterName")?,
            };
            let token = match obj.get("token") {
                None | Some(Value::Null) => None,
                // An empty token is no token: treat it like `null` (suspended).
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(s.trim().to_owned()),
                Some(other) => {
                    return Err(format!(
                        "data[{i}].token is {} where a string or null was expected",
                        describe(other)
                    ));
                }
            };
            let account_status = obj
                .get("accountStatus")
                .and_then(lenient::value_as_string)
                .or_else(|| AcClaims::decode(token.as_deref()?)?.account_status);
            Ok(RawRegion {
                cluster,
                token,
                account_status,
            })
        })
        .collect()
}

fn required(obj: &Map<String, Value>, i: usize, name: &str) -> Result<String, String> {
    match obj.get(name) {
        None => Err(format!("data[{i}] has no {name}")),
        Some(v) => lenient::value_as_string(v).ok_or_else(|| {
            format!(
                "data[{i}].{name} is {} where a string was expected",
                describe(v)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn regions_accept_numbers_for_ids_and_null_or_empty_tokens() {
        let regions = parse_regions(&json!([
            {"clusterName": "ac", "clusterId": 0, "token": "t0"},
            {"clusterName": "华东一区", "clusterId": "11112", "token": null},
            {"clusterName": "华北", "clusterId": "11113", "token": "", "accountStatus": "Disable"},
            {"clusterName": "西南", "clusterId": "11114"}
        ]))
        .expect("parses");
        assert_eq!(regions[0].cluster.id, "0");
        assert_eq!(regions[0].token.as_deref(), Some("t0"));
        assert!(regions[1].token.is_none() && regions[2].token.is_none());
        assert!(regions[3].token.is_none());
        assert_eq!(regions[2].account_status.as_deref(), Some("Disable"));
    }

    #[test]
    fn wrong_shapes_are_described_without_values() {
        let cases = [
            (json!("SENTINEL-TOKEN"), "data is a string where a list"),
            (json!({"a": 1}), "data is an object where a list"),
            (
                json!(["SENTINEL-TOKEN"]),
                "data[0] is a string where a region",
            ),
            (json!([{"clusterName": "ac"}]), "data[0] has no clusterId"),
            (
                json!([{"clusterId": "0", "clusterName": ["x"]}]),
                "data[0].clusterName is a list",
            ),
            (
                json!([{"clusterId": "0", "clusterName": "ac", "token": 5}]),
                "data[0].token is a number",
            ),
        ];
        for (data, expected) in cases {
            let err = parse_regions(&data).err().expect("an error");
            assert!(err.starts_with(expected), "{err}");
            assert!(!err.contains("SENTINEL"), "{err}");
        }
    }

    #[test]
    fn selecting_a_missing_or_suspended_cluster() {
        let login = Login::new(vec![Region {
            cluster: Cluster {
                id: "11113".into(),
                name: "华北一区".into(),
            },
            token: None,
            account_status: Some("Disable".into()),
        }]);
        assert!(login.find(&ClusterSelector::name("华北一区")).is_some());
        let err = login
            .clone()
            .token_for(&ClusterSelector::id("11113"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ac: cluster 11113 (华北一区) unavailable: account status Disable"
        );
        let err = login.token_for(&ClusterSelector::platform()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: ac: the account has no cluster 0; it has: cluster 11113 (华北一区)"
        );
    }
}
