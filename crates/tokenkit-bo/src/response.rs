//! Reading a refresh answer into a [`Token`] (PROTOCOLS.md §3.1).
//!
//! `success` is authoritative. Field names come in camelCase (`_nodejs=common-data`)
//! or snake_case (`common-data-under`); numbers may be strings. The expiry comes from
//! the access token's JWT (`exp - iat`, and `exp` against the response's `Date`, the
//! earlier wins) and only without one from `expiresIn`, whose unit the seed contradicts:
//! above 10^11 it is an epoch-milliseconds instant, else seconds.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use tokenkit_core::http::Response;
use tokenkit_core::jwt::{self, Claims};
use tokenkit_core::{
    Arrival, Error, Expiry, ExpiryEstimate, Metadata, RefreshToken, Token, UserIdentity, civil,
    lenient,
};

use crate::rejection::rejected;
use crate::user::{EXTRA_KEY, TokenUser};

/// Above this, `expiresIn` is read as epoch milliseconds (§3.1): 10^11 s is year 5138,
/// 10^11 ms is 1973.
pub const EPOCH_MS_THRESHOLD: i64 = tokenkit_core::EPOCH_MILLIS_THRESHOLD;

/// The `data` object of a successful answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    /// Secrets are strings only: `true` is a broken answer, not the token `"true"`.
    #[serde(default, alias = "access_token", deserialize_with = "access_token")]
    access_token: Option<String>,
    #[serde(default, alias = "refresh_token", deserialize_with = "refresh_token")]
    refresh_token: Option<String>,
    #[serde(
        default,
        alias = "token_type",
        deserialize_with = "lenient::opt_string"
    )]
    token_type: Option<String>,
    #[serde(default, alias = "token_user")]
    token_user: Option<TokenUser>,
    #[serde(default, alias = "expires_in", deserialize_with = "lenient::opt_i64")]
    expires_in: Option<i64>,
    #[serde(default, alias = "client_id", deserialize_with = "lenient::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    expires: Option<String>,
    #[serde(default, alias = "time_stamp", deserialize_with = "lenient::opt_f64")]
    time_stamp: Option<f64>,
    #[serde(
        default,
        alias = "cache_type",
        deserialize_with = "lenient::opt_string"
    )]
    cache_type: Option<String>,
    #[serde(default, alias = "cache_date")]
    cache_date: Option<Value>,
}

fn access_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::opt_secret_string(d, "accessToken")
}

fn refresh_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::opt_secret_string(d, "refreshToken")
}

/// Turns a refresh answer into a token. `previous` is the refresh token that was spent:
/// it is kept when the answer carries none (§3.1: "may or may not rotate").
pub(crate) fn parse_refresh(response: &Response, previous: &RefreshToken) -> Result<Token, Error> {
    let body: Value = response.json()?;
    let Some(envelope) = body.as_object() else {
        return Err(response.malformed("the answer is not a JSON object"));
    };
    match envelope.get("success").map(success_flag) {
        Some(Some(true)) => {}
        Some(Some(false)) => return Err(rejected(&body, response.status, response.sent())),
        Some(None) => return Err(response.malformed("`success` is neither true nor false")),
        None => return Err(response.malformed("no `success` field")),
    }
    let data = match envelope.get("data") {
        Some(Value::Object(data)) => data.clone(),
        Some(Value::Null) | None => {
            return Err(response.malformed("`success` is true but `data` is missing"));
        }
        Some(_) => return Err(response.malformed("`data` is not an object")),
    };
    let parsed: Data = serde_json::from_value(Value::Object(data.clone())).map_err(|e| {
        // serde quotes the offending value, which may be anything the request carried.
        response.malformed(format!(
            "unexpected `data`: {}",
            tokenkit_core::unquoted(e.to_string().split(" at line").next().unwrap_or_default())
        ))
    })?;
    build_token(response, parsed, &data, previous)
}

fn build_token(
    response: &Response,
    data: Data,
    raw: &Map<String, Value>,
    previous: &RefreshToken,
) -> Result<Token, Error> {
    let access = data
        .access_token
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| response.malformed("`data` has no accessToken"))?;
    let claims = jwt::decode_claims(&access);
    let expiry = expiry_from(response.expiry_estimate(), claims.as_ref(), data.expires_in)
        .ok_or_else(|| {
            response
                .malformed("no expiry: the access token has no JWT exp and there is no expiresIn")
        })?;
    let refresh = data
        .refresh_token
        .filter(|r| !r.trim().is_empty())
        .map_or_else(|| previous.clone(), RefreshToken::new);

    let mut extra = Claims::new();
    if let Some(user) = &data.token_user {
        extra.insert(
            EXTRA_KEY.into(),
            serde_json::to_value(user).unwrap_or_default(),
        );
    }
    let mut keep = |name: &str, value: Option<Value>| {
        if let Some(v) = value.filter(|v| !v.is_null()) {
            extra.insert(name.into(), v);
        }
    };
    keep("clientId", data.client_id.map(Value::from));
    keep("expires", data.expires.map(Value::from));
    keep("timeStamp", data.time_stamp.map(Value::from));
    keep("cacheType", data.cache_type.map(Value::from));
    keep("cacheDate", data.cache_date);
    keep(
        "expiresIn",
        raw.get("expiresIn").or(raw.get("expires_in")).cloned(),
    );

    let user = data.token_user.as_ref().and_then(|u| {
        Some(UserIdentity {
            id: u.user_id.clone()?,
            display_name: u.push_name.clone(),
        })
    });
    Ok(Token::new(access, expiry)
        .with_refresh_token(refresh)
        .with_token_type(data.token_type.as_deref().unwrap_or("Bearer"))
        .with_metadata(Metadata {
            user,
            extra,
            ..Metadata::default()
        }))
}

/// The expiry of an access token that arrived at `arrival` (see the module docs),
/// capped at the default [`MAX_LIFETIME`](crate::MAX_LIFETIME); [`expiry_from`] takes
/// the client's cap.
pub fn expiry(
    arrival: Arrival,
    claims: Option<&Claims>,
    expires_in: Option<i64>,
) -> Option<Expiry> {
    expiry_from(
        Expiry::estimate(arrival).max_lifetime(crate::MAX_LIFETIME),
        claims,
        expires_in,
    )
}

/// The expiry from `estimate` (a response's, capped at the client's plausible maximum
/// lifetime) and the token's claims and `expiresIn`. Times may be seconds or
/// milliseconds; the size decides ([`tokenkit_core::epoch_seconds_or_millis`]).
pub fn expiry_from(
    mut estimate: ExpiryEstimate,
    claims: Option<&Claims>,
    expires_in: Option<i64>,
) -> Option<Expiry> {
    if let Some(claims) = claims {
        let exp = jwt::claim_time(claims, "exp");
        if let (Some(exp), Some(iat)) = (exp, jwt::claim_time(claims, "iat")) {
            estimate = estimate.between(iat, exp);
        }
        // `exp` against the server's own Date catches a token that was issued a while
        // ago (the platform caches answers: `cacheType`). Against the local wall clock
        // only when nothing else exists (PROTOCOLS.md, common rules).
        if let Some(exp) = exp
            && (estimate.has_server_date() || !estimate.is_known())
        {
            estimate = estimate.absolute(exp);
        }
    }
    if !estimate.is_known()
        && let Some(value) = expires_in
    {
        estimate = if value > EPOCH_MS_THRESHOLD {
            estimate.absolute(civil::from_unix_millis(value))
        } else {
            estimate.lifetime_secs(value)
        };
    }
    estimate.build()
}

/// `success` as sent: a boolean, or its string or 0/1 spelling.
fn success_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    /// The access token of the seed's example: `iat` 1614248497, `exp` 1614248557.
    pub(crate) const SEED_ACCESS_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJSRzMiLCJhdWQiOiJhcGkiLCJpZCI6InB0ZGV2IiwibmFtZSI6ImRldiIsImNsaWVudF9pZCI6InB0ZGV2IiwiZXhwaXJlcyI6IjIwMjEvMi8yNSAxODoyMjozNyIsIm9wZW5faWQiOiIiLCJ3Yl9pZCI6IiIsInd4X29wZW5faWQiOiIiLCJ3eF91bmlvbl9pZCI6IiIsInRlbGVwaG9uZSI6IiIsInB1c2hfbmFtZSI6IuW8gOWPkeeuoeeQhuWRmCIsImhlYWRfaWNvbiI6IiIsImRlcF9pZCI6IiIsInN5c19pZCI6IiIsIm1lcmdlX3VzZXJfaWQiOiIiLCJhcmVhX2NvZGUiOiIiLCJyb2xlX2lkIjoiZGV2ZWxvcG1lbnQiLCJkZXZlbG9wZXIiOiIxIiwibmJmIjoxNjE0MjQ4NDk3LCJleHAiOjE2MTQyNDg1NTcsImlhdCI6MTYxNDI0ODQ5N30.XL2xjJ_idNHpUuppLG2JuVQ0DfyMRv5-gyg2H32dB0A";

    fn arrival(server_date: Option<SystemTime>) -> Arrival {
        Arrival::now().with_server_date(server_date)
    }

    #[test]
    fn the_seed_token_lives_60_seconds_by_exp_minus_iat() {
        let claims = jwt::decode_claims(SEED_ACCESS_TOKEN).expect("a JWT");
        assert_eq!(jwt::claim_i64(&claims, "nbf"), Some(1_614_248_497));
        // No Date header: exp - iat alone; the seed's epoch-ms expiresIn is ignored.
        let e = expiry(arrival(None), Some(&claims), Some(1_614_246_960_368)).expect("known");
        assert_eq!(e.lifetime(), Duration::from_secs(60));
    }

    #[test]
    fn with_a_date_header_an_old_jwt_is_already_expired() {
        let claims = jwt::decode_claims(SEED_ACCESS_TOKEN).expect("a JWT");
        let e = expiry(arrival(Some(SystemTime::now())), Some(&claims), None).expect("known");
        assert!(e.is_expired());
        // A token issued 50 s ago (a cached answer) has 10 s left, not 60.
        let now = civil::unix_seconds(SystemTime::now());
        let claims = json!({"iat": now - 50, "exp": now + 10});
        let claims = claims.as_object().expect("object");
        let e = expiry(arrival(Some(SystemTime::now())), Some(claims), None).expect("known");
        assert!(
            e.lifetime() <= Duration::from_secs(11),
            "{:?}",
            e.lifetime()
        );
    }

    #[test]
    fn expires_in_as_seconds_and_as_epoch_ms() {
        let e = expiry(arrival(None), None, Some(7200)).expect("known");
        assert_eq!(e.lifetime(), Duration::from_secs(7200));
        let server_now = civil::from_unix_millis(civil::unix_millis(SystemTime::now()));
        let ms = civil::unix_millis(server_now) + 120_000;
        let e = expiry(arrival(Some(server_now)), None, Some(ms)).expect("known");
        assert_eq!(e.lifetime(), Duration::from_secs(120));
        // The threshold itself is still seconds (capped at the plausible maximum).
        let e = expiry(arrival(None), None, Some(EPOCH_MS_THRESHOLD)).expect("known");
        assert_eq!(e.lifetime(), crate::MAX_LIFETIME);
        // Absurd values do not overflow.
        let claims = json!({"iat": i64::MIN, "exp": i64::MAX});
        let e = expiry(arrival(None), claims.as_object(), None).expect("known");
        assert_eq!(e.lifetime(), crate::MAX_LIFETIME);
        assert!(expiry(arrival(Some(server_now)), None, Some(i64::MAX)).is_some());
        assert!(expiry(arrival(None), None, None).is_none());
        assert_eq!(
            expiry(arrival(None), None, Some(-5)).map(|e| e.lifetime()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_jwt_without_iat_uses_exp() {
        let server_now = SystemTime::now();
        let claims = json!({"exp": civil::unix_seconds(server_now) + 300});
        let claims = claims.as_object().expect("object");
        let e = expiry(arrival(Some(server_now)), Some(claims), Some(10)).expect("known");
        assert!(
            e.lifetime() > Duration::from_secs(298),
            "{:?}",
            e.lifetime()
        );
        // A JWT with neither: expiresIn decides.
        let claims = json!({"sub": "x"});
        let e = expiry(arrival(None), claims.as_object(), Some(10)).expect("known");
        assert_eq!(e.lifetime(), Duration::from_secs(10));
    }

    #[test]
    fn success_spellings() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("false"), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!("yes"), None),
            (json!(null), None),
        ] {
            assert_eq!(success_flag(&v), want, "{v}");
        }
    }
}
