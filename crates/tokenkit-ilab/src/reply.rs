//! Parsing the answer of §1.1 and §1.2 into a [`Token`].
//!
//! Numbers may arrive as numbers or strings (`"code": "0"`, `"create_time":
//! "1711103229122"`), `*_display` fields are Beijing time, unknown fields are ignored.
//! A non-zero `code` is a typed refusal; `code` 0 without an `access_token` is a
//! malformed answer, never a panic.

use std::time::SystemTime;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use tokenkit_core::civil::parse_beijing_display;
use tokenkit_core::http::Response;
use tokenkit_core::jwt::{self, Claims};
use tokenkit_core::{
    Error, Expiry, ExpiryEstimate, Grant, Metadata, Token, UserIdentity, epoch_seconds_or_millis,
    lenient,
};

use crate::PLATFORM;
use crate::codes::{Operation, rejected};

/// The refreshes one grant allows (§1.2).
pub const REFRESH_BUDGET: u32 = 2;

/// The body of §1.1/§1.2, every field optional so that absence is reported by name.
#[derive(Debug, Deserialize)]
struct Reply {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    msg: Option<String>,
    /// Secrets are strings only: `true` is a broken answer, not the token `"true"`.
    #[serde(default, deserialize_with = "access_token")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    token_type: Option<String>,
    #[serde(default, deserialize_with = "refresh_token")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    expires_in: Option<i64>,
    /// `"callback:score"`; kept as sent (a string, or an array in JWT claims).
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    un: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dis: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    create_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    expires_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    create_time_display: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    expires_time_display: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    jti: Option<String>,
}

fn access_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::opt_secret_string(d, "access_token")
}

fn refresh_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::opt_secret_string(d, "refresh_token")
}

/// How the refresh credential of the new token is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NextRefresh<'a> {
    /// The `refresh_token` the answer carries (§1.1 exchange).
    FromReply,
    /// The grant's original access token (§1.3: no refresh token is issued).
    AccessToken,
    /// The credential just sent (§1.2: a refreshed token cannot start a new chain).
    Keep(&'a str),
}

/// Turns a response of `operation` into a token, or the platform's typed refusal.
pub(crate) fn parse(
    response: &Response,
    operation: Operation,
    next_refresh: NextRefresh<'_>,
) -> Result<Token, Error> {
    let reply: Reply = response.json().map_err(|e| withhold_tokens(e, response))?;
    from_reply(
        reply,
        &response.body,
        response.expiry_estimate(),
        operation,
        next_refresh,
    )
    .map_err(|e| withhold_tokens(e, response))
}

/// The checks and conversions after the body decoded; `body` is kept only for the
/// (redacted) excerpt of a malformed-answer error.
fn from_reply(
    reply: Reply,
    body: &[u8],
    estimate: ExpiryEstimate,
    operation: Operation,
    next_refresh: NextRefresh<'_>,
) -> Result<Token, Error> {
    let malformed = |reason: &str| Error::Malformed {
        platform: PLATFORM,
        reason: reason.to_owned(),
        excerpt: safe_excerpt(body),
    };
    let code = reply
        .code
        .as_deref()
        .ok_or_else(|| malformed("the answer has no `code` field"))?;
    if code.trim().parse::<i64>().ok() != Some(0) {
        return Err(rejected(operation, code, reply.msg));
    }
    let access = reply
        .access_token
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| malformed("code 0 without an `access_token`"))?;
    let claims = jwt::decode_claims(&access).unwrap_or_default();
    let expiry = expiry(&reply, &claims, estimate)?
        .ok_or_else(|| malformed("no expiry: none of expires_in, expires_time or a JWT `exp`"))?;
    let refresh = match next_refresh {
        NextRefresh::FromReply => reply.refresh_token.clone().filter(|t| !t.is_empty()),
        NextRefresh::AccessToken => Some(access.clone()),
        NextRefresh::Keep(sent) => Some(sent.to_owned()),
    };
    let metadata = metadata(&reply, &claims);
    let mut token = Token::new(access, expiry)
        .with_token_type(reply.token_type.as_deref().unwrap_or("bearer"))
        .with_grant(Grant {
            refresh_budget: Some(REFRESH_BUDGET),
            ..Grant::default()
        })
        .with_metadata(metadata);
    if let Some(refresh) = refresh {
        token = token.with_refresh_token(refresh);
    }
    Ok(token)
}

/// What an error may quote of a body. The core redacts long token-like runs; a body
/// that names a token field may still hold a short one, so it is not quoted at all.
fn safe_excerpt(body: &[u8]) -> String {
    if mentions_token(body) {
        WITHHELD.to_owned()
    } else {
        tokenkit_core::excerpt(body)
    }
}

const WITHHELD: &str = "[withheld: the body carries a token]";

fn mentions_token(body: &[u8]) -> bool {
    body.windows(6).any(|w| w.eq_ignore_ascii_case(b"_token"))
}

/// An error of `response` as it may leave this crate: what the request carried is
/// scrubbed from every text the platform supplied (its code, its message: a platform
/// may echo the request), and excerpts are [`safe_excerpt`]s of the scrubbed body.
fn withhold_tokens(error: Error, response: &Response) -> Error {
    let safe_excerpt = || {
        if mentions_token(&response.body) {
            WITHHELD.to_owned()
        } else {
            response.excerpt()
        }
    };
    match response.sent().error(error) {
        Error::Malformed {
            platform, reason, ..
        } => Error::Malformed {
            platform,
            reason,
            excerpt: safe_excerpt(),
        },
        Error::Transient {
            platform,
            kind,
            status,
            ..
        } => Error::Transient {
            platform,
            kind,
            status,
            excerpt: safe_excerpt(),
        },
        other => other,
    }
}

/// Every lifetime measured on the server's clock, anchored at arrival; the earliest
/// wins (PROTOCOLS.md, common rules). The local wall clock is a last resort. Times may
/// come in seconds or milliseconds, whatever the documents say; a token already expired
/// on arrival is [`Error::Implausible`].
fn expiry(
    reply: &Reply,
    claims: &Claims,
    mut estimate: ExpiryEstimate,
) -> Result<Option<Expiry>, Error> {
    let created = reply
        .create_time
        .and_then(epoch_seconds_or_millis)
        .or_else(|| display(reply.create_time_display.as_deref()));
    let expires = reply
        .expires_time
        .and_then(epoch_seconds_or_millis)
        .or_else(|| display(reply.expires_time_display.as_deref()));
    let claim_created = jwt::claim_time(claims, "create_time");
    let claim_exp = jwt::claim_time(claims, "exp");

    if let Some(secs) = reply.expires_in {
        estimate = estimate.lifetime_secs(secs);
    }
    if let (Some(c), Some(e)) = (created, expires) {
        estimate = estimate.between(c, e);
    }
    if let (Some(c), Some(e)) = (claim_created.or(created), claim_exp) {
        estimate = estimate.between(c, e);
    }
    if estimate.has_server_date()
        && let Some(e) = expires.or(claim_exp)
    {
        estimate = estimate.absolute(e);
    }
    if !estimate.is_known()
        && let Some(e) = expires.or(claim_exp)
    {
        // Nothing relative: compare with the local wall clock, the documented fallback.
        estimate = estimate.absolute(e);
    }
    estimate.build_usable(PLATFORM)
}

fn display(value: Option<&str>) -> Option<SystemTime> {
    parse_beijing_display(value?)
}

fn metadata(reply: &Reply, claims: &Claims) -> Metadata {
    let un = reply
        .un
        .clone()
        .or_else(|| jwt::claim_string(claims, "un"))
        .or_else(|| jwt::claim_string(claims, "user_name"));
    let dis = reply
        .dis
        .clone()
        .or_else(|| jwt::claim_string(claims, "dis"));
    let mut extra = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            extra.insert(name.to_owned(), v);
        }
    };
    put("scope", reply.scope.clone());
    put("jti", reply.jti.clone().map(Value::from));
    put("create_time", reply.create_time.map(Value::from));
    put("expires_time", reply.expires_time.map(Value::from));
    put(
        "create_time_display",
        reply.create_time_display.clone().map(Value::from),
    );
    put(
        "expires_time_display",
        reply.expires_time_display.clone().map(Value::from),
    );
    Metadata {
        user: un.map(|id| UserIdentity {
            id,
            display_name: dis,
        }),
        extra,
        ..Metadata::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::test_vectors::{SEED_EXCHANGE_BODY, SEED_REFRESH_BODY, SEED_REFRESH_TOKEN};

    fn parse_body(body: &str, op: Operation, next: NextRefresh<'_>) -> Result<Token, Error> {
        let reply: Reply = serde_json::from_str(body).map_err(|e| Error::config(e.to_string()))?;
        from_reply(
            reply,
            body.as_bytes(),
            Expiry::estimate(tokenkit_core::Arrival::now()),
            op,
            next,
        )
    }

    #[test]
    fn the_seed_exchange_answer() {
        let token = parse_body(
            SEED_EXCHANGE_BODY,
            Operation::Exchange,
            NextRefresh::FromReply,
        )
        .expect("parses");
        let user = token.user().expect("un and dis");
        assert_eq!(user.id, "1701808169793138690");
        assert_eq!(user.display_name.as_deref(), Some("用户姓名"));
        assert_eq!(token.token_type(), "bearer");
        assert_eq!(
            token.refresh_token().map(|r| r.expose_secret()),
            Some(SEED_REFRESH_TOKEN)
        );
        // expires_in 86399 s; expires_time - create_time 86399000 ms; JWT exp - create_time
        // 86399.878 s: the earliest, 86399 s, wins.
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(86_399));
        let extra = &token.metadata().extra;
        assert_eq!(extra["scope"], "callback:score");
        assert_eq!(extra["jti"], "a57ab99c-6ed3-4b93-a8a3-07746434ffe8");
        assert_eq!(extra["create_time"], 1_711_103_229_122_i64);
        assert_eq!(extra["expires_time_display"], "2024-03-23 18:27:08");
        assert_eq!(token.metadata().claims["client_id"], "1681600222748241929");
        assert_eq!(token.grant().refresh_budget, Some(REFRESH_BUDGET));
    }

    #[test]
    fn the_seed_refresh_answer_keeps_the_original_refresh_token() {
        let token = parse_body(
            SEED_REFRESH_BODY,
            Operation::Refresh,
            NextRefresh::Keep(SEED_REFRESH_TOKEN),
        )
        .expect("parses");
        // §1.2: a refreshed token cannot start a new chain; the next refresh must send
        // the grant's original refresh token again.
        assert_eq!(
            token.refresh_token().map(|r| r.expose_secret()),
            Some(SEED_REFRESH_TOKEN)
        );
        assert_eq!(
            token.metadata().extra["jti"],
            "8a7ee8d8-7a15-4559-b678-255aaacc3290"
        );
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(86_399));
    }

    #[test]
    fn numbers_as_strings_and_display_times() {
        let body = r#"{"code": "0", "access_token": "opaque", "expires_in": "60",
            "create_time_display": "2024-03-22 18:27:09", "expires_time_display": "2024-03-22 18:28:09",
            "un": 42, "future_field": {"nested": true}}"#;
        let token = parse_body(body, Operation::Exchange, NextRefresh::FromReply).expect("parses");
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(60));
        assert_eq!(token.user().map(|u| u.id.as_str()), Some("42"));
        assert!(token.refresh_token().is_none());
        // Beijing display times alone give the lifetime too.
        let body = r#"{"code": 0, "access_token": "opaque",
            "create_time_display": "2024-03-22 18:27:09", "expires_time_display": "2024-03-22 18:29:09"}"#;
        let token =
            parse_body(body, Operation::Exchange, NextRefresh::AccessToken).expect("parses");
        assert_eq!(token.expiry().lifetime(), Duration::from_secs(120));
        assert_eq!(
            token.refresh_token().map(|r| r.expose_secret()),
            Some("opaque")
        );
    }

    #[test]
    fn refusals_and_malformed_answers() {
        let err = parse_body(
            r#"{"code": 3, "msg": "ticket过期"}"#,
            Operation::Exchange,
            NextRefresh::FromReply,
        )
        .expect_err("must fail");
        assert_eq!(err.platform_code(), Some("3"));
        assert_eq!(err.platform_message(), Some("ticket过期"));
        assert!(err.is_reauth_required());
        let err = parse_body(
            r#"{"code": "5", "msg": "x"}"#,
            Operation::Refresh,
            NextRefresh::FromReply,
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("refresh limit"), "{err}");
        for body in [
            r#"{"msg": "no code"}"#,
            r#"{"code": 0, "msg": "ok"}"#,
            r#"{"code": 0, "access_token": ""}"#,
            r#"{"code": 0, "access_token": "opaque"}"#,
        ] {
            let err = parse_body(body, Operation::Exchange, NextRefresh::FromReply)
                .expect_err("must fail");
            assert!(matches!(err, Error::Malformed { .. }), "{body}: {err}");
        }
    }
}
