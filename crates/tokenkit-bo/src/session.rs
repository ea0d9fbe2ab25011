//! `BoSession`: what the application's login returned.
//!
//! The bo token API documents only the refresh; the first access and refresh tokens
//! come from the application's own login (the seed: "通过登录时候获取"). A session is
//! turned into a [`Token`] whose expiry is estimated from the access token's JWT.

use std::time::Duration;

use tokenkit_core::jwt::{self, Claims};
use tokenkit_core::{AccessToken, Arrival, Expiry, RefreshToken, Token};

/// The access and refresh token of a logged-in user.
///
/// ```
/// let session = tokenkit_bo::BoSession::new("eyJ...", "MtP0zZx1gZE66xDnhwd1UV973XoVL4nT");
/// assert!(!format!("{session:?}").contains("MtP0"));
/// ```
#[derive(Debug, Clone)]
pub struct BoSession {
    access: AccessToken,
    refresh: RefreshToken,
    remaining: Option<Duration>,
}

impl BoSession {
    /// A session from the login's access token and refresh token.
    pub fn new(access: impl Into<AccessToken>, refresh: impl Into<RefreshToken>) -> Self {
        Self {
            access: access.into(),
            refresh: refresh.into(),
            remaining: None,
        }
    }

    /// How long the access token is still valid, when the login said so (needed only
    /// for an access token that is not a JWT).
    pub fn with_remaining(mut self, remaining: Duration) -> Self {
        self.remaining = Some(remaining);
        self
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> &RefreshToken {
        &self.refresh
    }

    /// The session as a token, or `None` when its expiry cannot be told (an opaque
    /// access token without [`BoSession::with_remaining`]).
    ///
    /// A session may have waited since it was issued, so the JWT's `exp` is compared
    /// with the local clock as well as `exp - iat`; the earlier wins.
    pub fn to_token(&self) -> Option<Token> {
        let arrival = Arrival::now();
        let mut estimate = Expiry::estimate(arrival);
        if let Some(remaining) = self.remaining {
            estimate = estimate.lifetime(remaining);
        }
        if let Some(claims) = jwt::decode_claims(self.access.expose_secret()) {
            estimate = jwt_estimates(estimate, &claims);
        }
        let expiry = estimate.build()?;
        Some(Token::new(self.access.clone(), expiry).with_refresh_token(self.refresh.clone()))
    }
}

fn jwt_estimates(
    mut estimate: tokenkit_core::ExpiryEstimate,
    claims: &Claims,
) -> tokenkit_core::ExpiryEstimate {
    let exp = jwt::claim_time(claims, "exp");
    if let (Some(exp), Some(iat)) = (exp, jwt::claim_time(claims, "iat")) {
        estimate = estimate.between(iat, exp);
    }
    if let Some(exp) = exp {
        estimate = estimate.absolute(exp);
    }
    estimate
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use tokenkit_core::civil;

    use super::*;

    fn jwt_with(claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig")
    }

    #[test]
    fn a_fresh_jwt_session_lives_exp_minus_iat() {
        let now = civil::unix_seconds(SystemTime::now());
        let access = jwt_with(&serde_json::json!({"iat": now, "nbf": now, "exp": now + 60}));
        let token = BoSession::new(access, "r").to_token().expect("known");
        let lifetime = token.expiry().lifetime();
        assert!(
            lifetime <= Duration::from_secs(60) && lifetime > Duration::from_secs(58),
            "{lifetime:?}"
        );
        assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r"));
    }

    #[test]
    fn an_old_or_opaque_session() {
        let now = civil::unix_seconds(SystemTime::now());
        let old = jwt_with(&serde_json::json!({"iat": now - 120, "exp": now - 60}));
        let token = BoSession::new(old, "r").to_token().expect("known");
        assert!(token.expiry().is_expired());
        assert!(BoSession::new("opaque", "r").to_token().is_none());
        let token = BoSession::new("opaque", "r")
            .with_remaining(Duration::from_secs(30))
            .to_token()
            .expect("known");
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(30));
    }
}
