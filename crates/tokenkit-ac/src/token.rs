//! Turning a raw ac token into a [`Token`]: expiry from the `expireTime` claim measured
//! against the response's `Date` header, plus user and cluster metadata.

use std::time::{Duration, SystemTime};

use tokenkit_core::jwt::claim_time;
use tokenkit_core::{Arrival, Cluster, Expiry, ExpiryEstimate, Metadata, Token, UserIdentity};

use crate::AcClaims;

/// The HTTP `Date` header has whole-second resolution: the server's "now" may be up to
/// a second later than it says. Measuring `expireTime` from `Date + 1 s` keeps the
/// estimate on the safe side (a token must never look valid after the server expired
/// it), which matters with the short lifetimes of tests.
const DATE_RESOLUTION: Duration = Duration::from_secs(1);

/// Builds the token for `raw`, received at `arrival`.
///
/// Expiry: `expireTime` (epoch ms, server clock) minus the response's `Date` (the
/// common rule of PROTOCOLS.md: never trust the local wall clock when the server's is
/// at hand). A token minted elsewhere may carry only a JWT `exp` (seconds, §2.4): then
/// `exp` against `Date` (and `exp - iat` when there is an `iat`); the earliest estimate
/// wins. A token with neither (not a JWT, or an unknown shape) is still a valid opaque
/// token; it is given `assumed_lifetime`.
pub(crate) fn build(
    raw: String,
    estimate: ExpiryEstimate,
    cluster: Option<Cluster>,
    login_user: Option<&str>,
    assumed_lifetime: Duration,
) -> Token {
    let claims = AcClaims::decode(&raw);
    let mut estimate = estimate;
    let on_server_clock =
        |expires: SystemTime| expires.checked_sub(DATE_RESOLUTION).unwrap_or(expires);
    if let Some(expires) = claims.as_ref().and_then(AcClaims::expires_at) {
        estimate = estimate.absolute(on_server_clock(expires));
    }
    let jwt = tokenkit_core::jwt::decode_claims(&raw).unwrap_or_default();
    // Seconds by the JWT rules, but a platform may send milliseconds: the size decides.
    let exp = claim_time(&jwt, "exp");
    if let Some(expires) = exp {
        estimate = estimate.absolute(on_server_clock(expires));
    }
    if let (Some(exp), Some(iat)) = (exp, claim_time(&jwt, "iat")) {
        estimate = estimate.between(iat, exp);
    }
    if !estimate.is_known() {
        estimate = estimate.lifetime(assumed_lifetime);
    }
    let expiry = estimate
        .build()
        .unwrap_or_else(|| Expiry::after(Arrival::now(), assumed_lifetime));
    let claims = claims.unwrap_or_default();
    let cluster = cluster.or_else(|| {
        claims.cluster_id.clone().map(|id| Cluster {
            id,
            name: String::new(),
        })
    });
    let user = claims
        .user
        .clone()
        .or_else(|| login_user.map(str::to_owned))
        .map(|id| UserIdentity {
            id,
            display_name: None,
        });
    Token::new(raw, expiry).with_metadata(Metadata {
        user,
        cluster,
        ..Metadata::default()
    })
}

/// The same token with its cluster named (a renewal answers only the token, whose
/// claims carry the cluster id but not its name).
pub(crate) fn with_cluster(token: Token, cluster: Cluster) -> Token {
    let mut meta = token.metadata().clone();
    meta.cluster = Some(cluster);
    token.with_metadata(meta)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use tokenkit_core::civil;

    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn arrival(wall: SystemTime, server: Option<SystemTime>) -> Arrival {
        Arrival {
            instant: tokio::time::Instant::now(),
            wall,
            server_date: server,
        }
    }

    #[test]
    fn expiry_is_measured_against_the_date_header_whatever_the_local_clock() {
        let server_now = civil::from_unix_millis(1_700_000_000_000);
        let raw = jwt(serde_json::json!({"expireTime": "1700000600000", "clusterId": "11112"}));
        for skew in [-3600_i64, 0, 3600] {
            let wall = civil::from_unix_millis(1_700_000_000_000 + skew * 1000);
            let token = build(
                raw.clone(),
                tokenkit_core::Expiry::estimate(arrival(wall, Some(server_now))),
                None,
                Some("u"),
                Duration::from_secs(3600),
            );
            // 600 s on the server's clock, minus the Date header's 1 s resolution.
            assert_eq!(
                token.expiry().lifetime(),
                Duration::from_secs(599),
                "skew {skew}"
            );
        }
    }

    #[test]
    fn without_a_date_header_the_local_clock_is_the_last_resort() {
        let wall = civil::from_unix_millis(1_700_000_000_000);
        let raw = jwt(serde_json::json!({"expireTime": 1_700_000_060_000_i64}));
        let token = build(
            raw,
            tokenkit_core::Expiry::estimate(arrival(wall, None)),
            None,
            None,
            Duration::from_secs(3600),
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(59));
    }

    #[test]
    fn an_opaque_token_gets_the_assumed_lifetime_and_the_login_user() {
        let token = build(
            "opaque-token-value".into(),
            tokenkit_core::Expiry::estimate(arrival(SystemTime::now(), Some(SystemTime::now()))),
            Some(Cluster {
                id: "0".into(),
                name: "ac".into(),
            }),
            Some("demo"),
            Duration::from_secs(1800),
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(1800));
        assert_eq!(token.user().map(|u| u.id.as_str()), Some("demo"));
        assert_eq!(
            token.metadata().cluster.as_ref().map(|c| c.name.as_str()),
            Some("ac")
        );
        assert!(token.metadata().claims.is_empty());
    }

    #[test]
    fn claims_name_the_user_and_cluster_and_survive_renaming() {
        let raw =
            jwt(serde_json::json!({"user": "alice", "clusterId": "11112", "expireTime": "1"}));
        let token = build(
            raw,
            tokenkit_core::Expiry::estimate(arrival(SystemTime::now(), None)),
            None,
            Some("ignored"),
            Duration::from_secs(1),
        );
        assert!(token.expiry().is_expired());
        assert_eq!(token.user().map(|u| u.id.as_str()), Some("alice"));
        let named = with_cluster(
            token,
            Cluster {
                id: "11112".into(),
                name: "华东一区".into(),
            },
        );
        assert_eq!(
            named.metadata().cluster.as_ref().map(|c| c.name.as_str()),
            Some("华东一区")
        );
        assert_eq!(named.metadata().claims["user"], "alice");
    }

    #[test]
    fn a_token_with_only_a_jwt_exp_lives_until_exp_on_the_server_clock() {
        let server_now = civil::from_unix_millis(1_700_000_000_000);
        let raw = jwt(serde_json::json!({"exp": 1_700_000_900_i64, "user": "u"}));
        for skew in [-3600_i64, 0, 3600] {
            let wall = civil::from_unix_millis(1_700_000_000_000 + skew * 1000);
            let token = build(
                raw.clone(),
                tokenkit_core::Expiry::estimate(arrival(wall, Some(server_now))),
                None,
                None,
                Duration::from_secs(3600),
            );
            assert_eq!(
                token.expiry().lifetime(),
                Duration::from_secs(899),
                "skew {skew}"
            );
        }
        // With an `iat` too, the shorter of the two estimates.
        let raw = jwt(serde_json::json!({"exp": 1_700_000_900_i64, "iat": 1_699_999_900_i64}));
        let token = build(
            raw,
            tokenkit_core::Expiry::estimate(arrival(server_now, Some(server_now))),
            None,
            None,
            Duration::from_secs(3600),
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(899));
        let raw = jwt(serde_json::json!({"exp": 1_700_000_900_i64, "iat": 1_700_000_500_i64}));
        let token = build(
            raw,
            tokenkit_core::Expiry::estimate(arrival(server_now, Some(server_now))),
            None,
            None,
            Duration::from_secs(3600),
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(400));
        // An `exp` that is not a positive number is no estimate.
        let raw = jwt(serde_json::json!({"exp": -5}));
        let token = build(
            raw,
            tokenkit_core::Expiry::estimate(arrival(server_now, Some(server_now))),
            None,
            None,
            Duration::from_secs(3600),
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(3600));
    }
}
