//! A token and what comes with it: refresh token, expiry, grant accounting and typed
//! platform metadata.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::jwt::Claims;
use crate::{AccessToken, Expiry, RefreshToken};

/// The platform user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    /// The platform's user id (ilab `un`, ac `user`, bo `userId`).
    pub id: String,
    /// The display name (ilab `dis`, bo `pushName`), when known.
    pub display_name: Option<String>,
}

/// The cluster (region) an ac token is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// `clusterId`, e.g. `11112`; `0` is the platform token.
    pub id: String,
    /// `clusterName`, e.g. `华东一区`.
    pub name: String,
}

/// Platform metadata of a token. Held behind an `Arc` in [`Token`], so cloning a token
/// does not copy it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Whose token this is.
    pub user: Option<UserIdentity>,
    /// Which cluster it serves (ac).
    pub cluster: Option<Cluster>,
    /// The access token's JWT claims, when it is a JWT.
    pub claims: Claims,
    /// Other platform fields worth keeping (ilab `scope`, bo `tokenUser`, …).
    pub extra: Claims,
}

/// The refresh accounting of the grant a token belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Refreshes spent on this grant (counted *before* each request is sent).
    pub refreshes_spent: u32,
    /// How many refreshes the grant allows (ilab: 2), if limited.
    pub refresh_budget: Option<u32>,
    /// A refresh was sent and no answer came back: it may or may not have been spent.
    pub outcome_unknown: bool,
    /// A renewal of this token was sent and its answer lost, on a platform whose
    /// renewal revokes the token renewed ([`RefreshPolicy::renewal_revokes`]): the
    /// platform may no longer accept it, so it is renewed (or replaced by a login)
    /// before it is served again.
    ///
    /// [`RefreshPolicy::renewal_revokes`]: crate::RefreshPolicy::renewal_revokes
    #[serde(default)]
    pub suspect: bool,
    /// A budgeted refresh of this grant was answered with an implausible token
    /// ([`Error::Implausible`](crate::Error::Implausible)): no further refresh is spent
    /// on the grant automatically; it needs a new authentication.
    #[serde(default)]
    pub implausible: bool,
}

impl Grant {
    /// Refreshes left, if the grant is limited.
    pub fn refreshes_left(&self) -> Option<u32> {
        self.refresh_budget
            .map(|b| b.saturating_sub(self.refreshes_spent))
    }
}

/// An access token with its expiry, optional refresh token, grant and metadata.
///
/// ```
/// use std::time::Duration;
/// use tokenkit_core::{Arrival, Expiry, Token};
/// let token = Token::new("eyJhbGciOiJIUzI1NiJ9.e30.sig", Expiry::after(Arrival::now(), Duration::from_secs(60)))
///     .with_refresh_token("r-123")
///     .with_token_type("bearer");
/// assert_eq!(token.token_type(), "bearer");
/// assert!(format!("{token:?}").contains("redacted"));
/// ```
#[derive(Debug, Clone)]
pub struct Token {
    access: AccessToken,
    refresh: Option<RefreshToken>,
    token_type: Arc<str>,
    expiry: Expiry,
    grant: Grant,
    meta: Arc<Metadata>,
}

impl Token {
    /// A bearer token with the given expiry; claims are decoded if it is a JWT.
    pub fn new(access: impl Into<AccessToken>, expiry: Expiry) -> Self {
        let access = access.into();
        let claims = crate::jwt::decode_claims(access.expose_secret()).unwrap_or_default();
        Self {
            access,
            refresh: None,
            token_type: Arc::from("bearer"),
            expiry,
            grant: Grant::default(),
            meta: Arc::new(Metadata {
                claims,
                ..Metadata::default()
            }),
        }
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, refresh: impl Into<RefreshToken>) -> Self {
        self.refresh = Some(refresh.into());
        self
    }

    /// Sets the token type (`bearer`, `Bearer`, …).
    pub fn with_token_type(mut self, token_type: impl AsRef<str>) -> Self {
        self.token_type = Arc::from(token_type.as_ref());
        self
    }

    /// Replaces the expiry (a store that measured the time left on its own clock).
    pub fn with_expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// Sets the grant accounting.
    pub fn with_grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// Drops the decoded JWT claims (they can be decoded again from the access token);
    /// for holders of many tokens, such as a registry of 100,000 sessions.
    pub fn without_claims(mut self) -> Self {
        if !self.meta.claims.is_empty() {
            Arc::make_mut(&mut self.meta).claims = Claims::new();
        }
        self
    }

    /// Replaces the metadata, keeping the decoded claims if the new metadata has none.
    pub fn with_metadata(mut self, mut meta: Metadata) -> Self {
        if meta.claims.is_empty() {
            meta.claims = std::mem::take(&mut Arc::make_mut(&mut self.meta).claims);
        }
        self.meta = Arc::new(meta);
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access
    }

    /// The refresh token, if the platform issued one.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh.as_ref()
    }

    /// The token type.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The expiry.
    pub fn expiry(&self) -> &Expiry {
        &self.expiry
    }

    /// The grant accounting.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Mutable grant accounting (the cache updates it around each refresh).
    pub fn grant_mut(&mut self) -> &mut Grant {
        &mut self.grant
    }

    /// The platform metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The metadata's `Arc`, for cheap sharing.
    pub fn metadata_arc(&self) -> &Arc<Metadata> {
        &self.meta
    }

    /// The user, when the platform said.
    pub fn user(&self) -> Option<&UserIdentity> {
        self.meta.user.as_ref()
    }

    /// Whether two tokens carry the same access token.
    pub fn same_access_token(&self, other: &Token) -> bool {
        self.access == other.access
    }

    /// Time left before expiry.
    pub fn remaining(&self) -> Duration {
        self.expiry.remaining()
    }

    /// The serializable form of this token, for stores. It holds the secrets in clear:
    /// only stores call it.
    pub fn to_record(&self) -> TokenRecord {
        TokenRecord {
            access_token: self.access.expose_secret().to_owned(),
            refresh_token: self.refresh.as_ref().map(|r| r.expose_secret().to_owned()),
            token_type: self.token_type.to_string(),
            expires_at_ms: crate::civil::unix_millis(self.expiry.wall()),
            // Saturated like `expires_at_ms`: a wrapped lifetime would shrink the margins.
            lifetime_ms: u64::try_from(self.expiry.lifetime().as_millis()).unwrap_or(u64::MAX),
            grant: self.grant,
            metadata: (*self.meta).clone(),
        }
    }

    /// Rebuilds a token from its stored form.
    pub fn from_record(record: TokenRecord) -> Self {
        let expiry = Expiry::from_wall(
            crate::civil::from_unix_millis(record.expires_at_ms),
            Duration::from_millis(record.lifetime_ms),
        );
        Self {
            access: AccessToken::new(record.access_token.clone()),
            refresh: record.refresh_token.clone().map(RefreshToken::new),
            token_type: Arc::from(record.token_type.as_str()),
            expiry,
            grant: record.grant,
            meta: Arc::new(record.metadata.clone()),
        }
    }
}

/// The stored form of a [`Token`]. Its secrets are plain strings that are wiped on drop;
/// a store with a keyring replaces them by sealed values before it writes the record
/// ([`crate::store::seal`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The access token, in clear (or sealed, in a sealed store's copy).
    pub access_token: String,
    /// The refresh token, in clear (or sealed, in a sealed store's copy).
    pub refresh_token: Option<String>,
    /// The token type.
    pub token_type: String,
    /// The expiry on the writer's wall clock, epoch milliseconds.
    pub expires_at_ms: i64,
    /// The lifetime the server granted, milliseconds.
    pub lifetime_ms: u64,
    /// Grant accounting.
    pub grant: Grant,
    /// Platform metadata.
    pub metadata: Metadata,
}

impl TokenRecord {
    /// The expiry on the wall clock.
    pub fn expires_at(&self) -> SystemTime {
        crate::civil::from_unix_millis(self.expires_at_ms)
    }
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at_ms", &self.expires_at_ms)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl Drop for TokenRecord {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_token.zeroize();
        if let Some(r) = self.refresh_token.as_mut() {
            r.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defect: a far-future expiry wrapped negative in the record (`as i64`), so every
    /// process reading the store saw an expired token and spent a refresh.
    #[test]
    fn record_times_out_of_range_saturate_instead_of_wrapping() {
        let forever = Token::new(
            "t",
            Expiry::after(Arrival::now(), Duration::from_secs(u64::MAX / 4)),
        );
        let record = forever.to_record();
        assert!(record.expires_at_ms > 0, "{}", record.expires_at_ms);
        assert!(!Token::from_record(record).expiry().is_expired());
        let huge = Duration::from_secs(u64::MAX / 4);
        let epoch = std::time::UNIX_EPOCH;
        assert_eq!(crate::civil::unix_millis(epoch + huge), i64::MAX);
        assert_eq!(crate::civil::unix_millis(epoch - huge), i64::MIN);
        assert_eq!(
            crate::civil::unix_millis(epoch - Duration::from_millis(5)),
            -5
        );
        let plain = Token::new("t", Expiry::after(Arrival::now(), Duration::from_secs(60)));
        assert_eq!(plain.to_record().lifetime_ms, 60_000);
    }
    use crate::Arrival;

    #[test]
    fn record_round_trip_keeps_everything_but_prints_nothing_secret() {
        let token = Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), Duration::from_secs(90)),
        )
        .with_refresh_token("SENTINEL-REFRESH")
        .with_grant(Grant {
            refreshes_spent: 1,
            refresh_budget: Some(2),
            outcome_unknown: false,
            ..Default::default()
        })
        .with_metadata(Metadata {
            user: Some(UserIdentity {
                id: "u1".into(),
                display_name: Some("用户".into()),
            }),
            ..Metadata::default()
        });
        let record = token.to_record();
        assert!(!format!("{record:?}").contains("SENTINEL"));
        assert!(!format!("{token:?}").contains("SENTINEL"));
        let json = serde_json::to_string(&record).expect("serializes");
        let back = Token::from_record(serde_json::from_str(&json).expect("parses"));
        assert!(back.same_access_token(&token));
        assert_eq!(
            back.refresh_token().map(|r| r.expose_secret()),
            Some("SENTINEL-REFRESH")
        );
        assert_eq!(back.grant().refreshes_left(), Some(1));
        assert_eq!(back.user().map(|u| u.id.as_str()), Some("u1"));
        assert!(back.remaining() > Duration::from_secs(85));
        assert_eq!(back.expiry().lifetime(), Duration::from_secs(90));
    }

    #[test]
    fn claims_are_decoded_and_kept_across_metadata_updates() {
        let token = Token::new(
            "h.eyJ1biI6ImFsaWNlIn0.s",
            Expiry::after(Arrival::now(), Duration::from_secs(1)),
        )
        .with_metadata(Metadata::default());
        assert_eq!(token.metadata().claims["un"], "alice");
    }
}
