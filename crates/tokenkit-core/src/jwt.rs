//! Reading a JWT's payload without verifying it.
//!
//! The client holds no key, so claims are hints (expiry, user, cluster), never proof.
//! A token that is not a JWT is still a valid opaque token: decoding returns `None`.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// The decoded claims of a token: a JSON object.
pub type Claims = Map<String, Value>;

/// URL-safe alphabet, padding optional: some issuers pad, most do not.
const BASE64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the payload of a JWT, or `None` when `token` is not a JWT with a JSON-object
/// payload.
///
/// ```
/// let claims = tokenkit_core::jwt::decode_claims(
///     "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MTExODk2Mjl9.sig",
/// ).unwrap();
/// assert_eq!(claims["exp"], 1711189629);
/// assert!(tokenkit_core::jwt::decode_claims("MtP0zZx1gZE66xDnhwd1UV973XoVL4nT").is_none());
/// ```
pub fn decode_claims(token: &str) -> Option<Claims> {
    let mut parts = token.trim().split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Some issuers use the standard alphabet; accept both by mapping to URL-safe.
    let payload: String = payload
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = BASE64URL_LENIENT.decode(payload.as_bytes()).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A numeric claim that may be a JSON number or a string of digits.
pub fn claim_i64(claims: &Claims, name: &str) -> Option<i64> {
    crate::lenient::value_as_i64(claims.get(name)?)
}

/// A time claim (`exp`, `iat`, `create_time`…) in epoch seconds or milliseconds,
/// whichever its size says ([`crate::epoch_seconds_or_millis`]).
pub fn claim_time(claims: &Claims, name: &str) -> Option<std::time::SystemTime> {
    crate::epoch_seconds_or_millis(claim_i64(claims, name)?)
}

/// A claim as a string, whether it was sent as a string or a number.
pub fn claim_string(claims: &Claims, name: &str) -> Option<String> {
    crate::lenient::value_as_string(claims.get(name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_ilab_seed_access_token() {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTExODk2MjksImp0aSI6ImE1N2FiOTljLTZlZDMtNGI5My1hOGEzLTA3NzQ2NDM0ZmZlOCIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.rnRo5Z0D4R2p6jd57Ld29hAOegDtddKA4Z4sp4C7kD8";
        let claims = decode_claims(token).expect("a JWT");
        assert_eq!(claim_i64(&claims, "exp"), Some(1_711_189_629));
        assert_eq!(
            claim_string(&claims, "un").as_deref(),
            Some("1701808169793138690")
        );
        assert_eq!(
            claim_string(&claims, "client_id").as_deref(),
            Some("1681600222748241929")
        );
    }

    #[test]
    fn accepts_padded_payloads_and_rejects_non_jwts() {
        // {"a":1} is eyJhIjoxfQ (unpadded) / eyJhIjoxfQ== (padded)
        assert!(decode_claims("h.eyJhIjoxfQ.s").is_some());
        assert!(decode_claims("h.eyJhIjoxfQ==.s").is_some());
        for opaque in [
            "", "abc", "a.b", "a.b.c.d", "h.!!!.s", "h.WzFd.s", /* [1] */
        ] {
            assert!(decode_claims(opaque).is_none(), "{opaque}");
        }
    }

    #[test]
    fn ac_claims_are_strings() {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJjb21wdXRlVXNlciI6InNsdXJtdGVzdCIsImFjY291bnRTdGF0dXMiOiJUcmlhbCIsImNyZWF0b3IiOiJhYyIsInJvbGUiOiIxIiwiZXhwaXJlVGltZSI6IjE2ODY5MDg1MDkyMzEiLCJjbHVzdGVySWQiOiIxMTExMiIsImludm9rZXIiOiI2MDQ4Y2U3YmExNWMyYWYyZThjZWMxMjk5MWVjMTNjZiIsInVzZXIiOiJzbHVybXRlc3QiLCJ1c2VySWQiOiIxMTY1NTA0ODU0MSJ9.U7pZKgO_K6NuRwOWPxblDfgRpGeVxS-BYieOdLhGDK4";
        let claims = decode_claims(token).expect("a JWT");
        assert_eq!(claim_i64(&claims, "expireTime"), Some(1_686_908_509_231));
        assert_eq!(claim_string(&claims, "clusterId").as_deref(), Some("11112"));
    }
}
