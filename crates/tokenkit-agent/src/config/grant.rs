//! One grant of the config: its platform, its non-secret parameters and where each
//! secret comes from. Each platform's table has exactly the settings of the matching
//! `tokenkit <platform> token` command.

use serde::Deserialize;

use super::SecretSource;

/// `[grants.NAME]`: a grant the agent keeps a token of.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum GrantConfig {
    /// An ac account's token of one cluster.
    Ac(AcGrant),
    /// A bo session.
    Bo(BoGrant),
}

impl GrantConfig {
    /// The platform's name.
    pub fn platform(&self) -> &'static str {
        match self {
            Self::Ac(_) => "ac",
            Self::Bo(_) => "bo",
        }
    }

    /// The grant's secret sources, by field name.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretSource)> {
        let mut found = Vec::new();
        match self {
            Self::Ac(ac) => {
                if let Some(s) = &ac.password {
                    found.push(("password", s));
                }
                if let Some(s) = &ac.secret_key {
                    found.push(("secret_key", s));
                }
            }
            Self::Bo(bo) => {
                found.push(("des_key", &bo.des_key));
                found.push(("refresh_token", &bo.refresh_token));
                if let Some(s) = &bo.access_token {
                    found.push(("access_token", s));
                }
            }
        }
        found
    }

    pub(super) fn check(&self) -> Result<(), String> {
        match self {
            Self::Ac(ac) => ac.check(),
            Self::Bo(_) => Ok(()),
        }
    }
}

/// `platform = "ac"`: a password login (`org_id` + `password`) or an access-key login
/// (`access_key` + `secret_key`), and the cluster whose token is served.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcGrant {
    /// The OpenAPI host.
    pub base_url: String,
    /// The auth host of the access-key login (default: `base_url`).
    pub auth_url: Option<String>,
    /// The login name.
    pub user: String,
    /// The orgId of the password login.
    pub org_id: Option<String>,
    /// The password of the password login.
    pub password: Option<SecretSource>,
    /// The access key of the access-key login.
    pub access_key: Option<String>,
    /// The secret key of the access-key login (it signs; it is never sent).
    pub secret_key: Option<SecretSource>,
    /// The cluster: its id (`0`, the default, is the platform token) or its name.
    #[serde(default = "platform_cluster")]
    pub cluster: String,
}

fn platform_cluster() -> String {
    "0".into()
}

impl AcGrant {
    fn check(&self) -> Result<(), String> {
        match (&self.org_id, &self.access_key) {
            (Some(_), Some(_)) => Err(
                "give org_id (password login) or access_key (access-key login), not both".into(),
            ),
            (None, None) => {
                Err("give org_id (password login) or access_key (access-key login)".into())
            }
            (Some(_), None) if self.password.is_none() => {
                Err("the password login needs `password`".into())
            }
            (None, Some(_)) if self.secret_key.is_none() => {
                Err("the access-key login needs `secret_key`".into())
            }
            _ if self.cluster.trim().is_empty() => Err("`cluster` is empty".into()),
            _ => Ok(()),
        }
    }
}

/// `platform = "bo"`: a session kept alive by refreshing (refresh tokens rotate).
///
/// `refresh_token` (and `access_token`, if given) start the session when the store
/// holds none; afterwards the store's session is the one refreshed, so keep a durable
/// store (`file:`, Redis) or the rotated refresh token is lost with the process.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoGrant {
    /// The platform.
    pub base_url: String,
    /// The project id (`XownerId`).
    pub owner_id: String,
    /// The DES key (8 bytes).
    pub des_key: SecretSource,
    /// The DES IV (default: the key).
    pub des_iv: Option<String>,
    /// The `XverifyApi` plaintext template.
    pub template: Option<String>,
    /// Write `XverifyApi` in upper-case hex instead of Base64.
    #[serde(default)]
    pub hex: bool,
    /// `XsysId`.
    pub sys_id: Option<String>,
    /// `XuserFromFirstShareId`.
    pub first_share_id: Option<String>,
    /// `XuserFromSecondShareId`.
    pub second_share_id: Option<String>,
    /// `XfilterAreaCode`.
    pub filter_area_code: Option<String>,
    /// Ask for snake_case fields (`_nodejs=common-data-under`).
    #[serde(default)]
    pub snake_case: bool,
    /// The refresh token the application's login returned.
    pub refresh_token: SecretSource,
    /// The access token of that login (optional: without it the first token comes
    /// from a refresh).
    pub access_token: Option<SecretSource>,
    /// The session's name in the store, `bo:<owner_id>:<session>` (default: the grant's
    /// name); give the user id to share the session with `tokenkit bo token --session`.
    pub session: Option<String>,
}

/// `[ilab.NAME]`: an experiment whose users' sessions the agent keeps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IlabApp {
    /// The platform.
    pub base_url: String,
    /// The experiment's appid.
    pub appid: String,
    /// The experiment's secret.
    pub secret: SecretSource,
    /// `oauth` (the documents' paths, default) or `open-api-v2`.
    #[serde(default)]
    pub dialect: IlabDialect,
    /// Sign with lower-case hex.
    #[serde(default)]
    pub lowercase_hex: bool,
    /// Send a POST form instead of a GET query string.
    #[serde(default)]
    pub post: bool,
}

/// The ilab dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IlabDialect {
    /// `/oauth/token/accesstoken`, `/oauth/token/refreshtoken`.
    #[default]
    Oauth,
    /// `/open/api/v2/token`, `/open/api/v2/token/refresh`.
    OpenApiV2,
}
