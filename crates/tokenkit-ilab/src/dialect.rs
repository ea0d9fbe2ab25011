//! Where the endpoints are and what the refresh parameter is called.
//!
//! The documents' paths are `/oauth/token/accesstoken` and `/oauth/token/refreshtoken`
//! (§1.1, §1.2). Public integrations of the main platform use the same scheme under
//! `/open/api/v2/token` and `/open/api/v2/token/refresh?access_token=…` (§1.3). The
//! difference is configuration, not a second code path (§1.3).
//!
//! The data calls (§1.4) live under `/open/api/v2/data_upload` and `…/data_get` in
//! every public integration, whichever dialect the tokens come from; a deployment that
//! serves them elsewhere says so with [`Dialect::with_data_paths`].

use std::borrow::Cow;

/// The refresh parameter of the documents' dialect (§1.2).
pub const REFRESH_TOKEN_PARAM: &str = "refresh_token";
/// The refresh parameter of the `open/api/v2` dialect (§1.3).
pub const ACCESS_TOKEN_PARAM: &str = "access_token";
/// Where results are reported (§1.4).
pub const DATA_UPLOAD_PATH: &str = "/open/api/v2/data_upload";
/// Where reported results are read back (§1.4).
pub const DATA_GET_PATH: &str = "/open/api/v2/data_get";

/// Paths and parameter names of one deployment.
///
/// ```
/// use tokenkit_ilab::Dialect;
/// assert_eq!(Dialect::default().exchange_path(), "/oauth/token/accesstoken");
/// let v2 = Dialect::open_api_v2();
/// assert_eq!(v2.refresh_path(), "/open/api/v2/token/refresh");
/// assert!(v2.refreshes_with_access_token());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    exchange_path: Cow<'static, str>,
    refresh_path: Cow<'static, str>,
    refresh_param: Cow<'static, str>,
    upload_path: Cow<'static, str>,
    data_get_path: Cow<'static, str>,
}

impl Default for Dialect {
    fn default() -> Self {
        Self::oauth()
    }
}

impl Dialect {
    /// The documents' dialect (§1.1, §1.2): the default.
    pub fn oauth() -> Self {
        Self {
            exchange_path: Cow::Borrowed("/oauth/token/accesstoken"),
            refresh_path: Cow::Borrowed("/oauth/token/refreshtoken"),
            refresh_param: Cow::Borrowed(REFRESH_TOKEN_PARAM),
            upload_path: Cow::Borrowed(DATA_UPLOAD_PATH),
            data_get_path: Cow::Borrowed(DATA_GET_PATH),
        }
    }

    /// The classic `open/api/v2` dialect (§1.3): the refresh sends the grant's original
    /// access token as `access_token`, and the signature is over that token.
    pub fn open_api_v2() -> Self {
        Self {
            exchange_path: Cow::Borrowed("/open/api/v2/token"),
            refresh_path: Cow::Borrowed("/open/api/v2/token/refresh"),
            refresh_param: Cow::Borrowed(ACCESS_TOKEN_PARAM),
            upload_path: Cow::Borrowed(DATA_UPLOAD_PATH),
            data_get_path: Cow::Borrowed(DATA_GET_PATH),
        }
    }

    /// Any other deployment: both paths (relative to the base URL) and the name of the
    /// refresh parameter (`refresh_token` or `access_token`).
    pub fn custom(
        exchange_path: impl Into<String>,
        refresh_path: impl Into<String>,
        refresh_param: impl Into<String>,
    ) -> Self {
        Self {
            exchange_path: Cow::Owned(exchange_path.into()),
            refresh_path: Cow::Owned(refresh_path.into()),
            refresh_param: Cow::Owned(refresh_param.into()),
            upload_path: Cow::Borrowed(DATA_UPLOAD_PATH),
            data_get_path: Cow::Borrowed(DATA_GET_PATH),
        }
    }

    /// The same dialect with the data calls (§1.4) at other paths.
    pub fn with_data_paths(
        mut self,
        upload_path: impl Into<String>,
        data_get_path: impl Into<String>,
    ) -> Self {
        self.upload_path = Cow::Owned(upload_path.into());
        self.data_get_path = Cow::Owned(data_get_path.into());
        self
    }

    /// Where results are reported (default [`DATA_UPLOAD_PATH`]).
    pub fn upload_path(&self) -> &str {
        &self.upload_path
    }

    /// Where results are read back (default [`DATA_GET_PATH`]).
    pub fn data_get_path(&self) -> &str {
        &self.data_get_path
    }

    /// The exchange path.
    pub fn exchange_path(&self) -> &str {
        &self.exchange_path
    }

    /// The refresh path.
    pub fn refresh_path(&self) -> &str {
        &self.refresh_path
    }

    /// The name of the refresh parameter.
    pub fn refresh_param(&self) -> &str {
        &self.refresh_param
    }

    /// Whether the refresh is driven by the grant's original access token (§1.3)
    /// rather than a refresh token (§1.2).
    pub fn refreshes_with_access_token(&self) -> bool {
        self.refresh_param == ACCESS_TOKEN_PARAM
    }
}
