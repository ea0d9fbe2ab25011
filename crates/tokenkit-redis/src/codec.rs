//! A token to and from the fields of the state hash (see [`crate::scripts`]).
//!
//! With a keyring ([`RedisStoreBuilder::keyring`](crate::RedisStoreBuilder::keyring)),
//! the access and refresh tokens inside the `record` field are sealed
//! ([`tokenkit_core::store::seal`]); every other field, and the rest of the record, stays
//! readable.

use std::time::Duration;

use redis::Value;
use tokenkit_core::store::seal;
use tokenkit_core::{Error, Expiry, Keyring, Token, TokenRecord, Versioned};

use crate::RedisStore;
use crate::error::unexpected;
use crate::ttl;

impl RedisStore {
    /// [`encode`] with this store's keyring.
    pub(crate) fn encode(&self, key: &str, token: &Token) -> Result<Encoded, Error> {
        encode(self.inner.settings.keyring.as_ref(), key, token)
    }

    /// [`decode`] with this store's keyring.
    pub(crate) fn decode(&self, key: &str, fields: Fields<'_>) -> Result<Option<Versioned>, Error> {
        decode(self.inner.settings.keyring.as_ref(), key, fields)
    }
}

/// The fields a compare-and-set writes, in the order the script takes them.
pub(crate) struct Encoded {
    pub(crate) record: String,
    pub(crate) spent: u32,
    pub(crate) budget: String,
    pub(crate) unknown: u8,
    /// The time the token has left, in ms, clamped (see [`crate::ttl`]): Redis adds
    /// its own clock.
    pub(crate) remaining_ms: u64,
}

/// Encodes `token` of grant `key` for the compare-and-set script, its secrets sealed
/// with `keyring` if there is one.
pub(crate) fn encode(
    keyring: Option<&Keyring>,
    key: &str,
    token: &Token,
) -> Result<Encoded, Error> {
    let record = seal::seal_record(keyring, key, token.to_record())?;
    let grant = record.grant;
    let remaining_ms = ttl::remaining_ms(token.expiry().remaining());
    let json = serde_json::to_string(&record)
        .map_err(|_| Error::store("cannot encode a token for redis", false))?;
    Ok(Encoded {
        record: json,
        spent: grant.refreshes_spent,
        budget: grant
            .refresh_budget
            .map(|b| b.to_string())
            .unwrap_or_default(),
        unknown: u8::from(grant.outcome_unknown),
        remaining_ms,
    })
}

/// The raw fields of a stored grant: `gen`, `record`, `spent`, `budget`, `unknown`.
pub(crate) struct Fields<'a> {
    pub(crate) generation: u64,
    pub(crate) record: Option<&'a [u8]>,
    pub(crate) spent: Option<&'a [u8]>,
    pub(crate) budget: Option<&'a [u8]>,
    pub(crate) unknown: Option<&'a [u8]>,
    /// The time left by Redis's clock, in ms (negative once expired).
    pub(crate) left_ms: Option<i64>,
}

/// Rebuilds the stored token; `None` if no token is stored (nothing, or a tombstone).
/// The grant accounting comes from its own fields, which the spend script updates
/// without rewriting the record. Sealed secrets are opened with `keyring`.
pub(crate) fn decode(
    keyring: Option<&Keyring>,
    key: &str,
    fields: Fields<'_>,
) -> Result<Option<Versioned>, Error> {
    let Some(record) = fields.record.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let corrupt = |what: &str| {
        Error::store(
            format!("redis state of key {key:?} is corrupt ({what})"),
            false,
        )
    };
    let record: TokenRecord =
        serde_json::from_slice(record).map_err(|_| corrupt("token record"))?;
    let mut record = seal::open_record(keyring, key, record)?;
    if let Some(spent) = fields.spent {
        record.grant.refreshes_spent = number(spent).ok_or_else(|| corrupt("spent"))?;
    }
    if let Some(budget) = fields.budget {
        record.grant.refresh_budget = if budget.is_empty() {
            None
        } else {
            Some(number(budget).ok_or_else(|| corrupt("budget"))?)
        };
    }
    if let Some(unknown) = fields.unknown {
        record.grant.outcome_unknown = unknown == b"1";
    }
    if fields.generation == 0 {
        return Err(corrupt("generation"));
    }
    let lifetime = Duration::from_millis(record.lifetime_ms);
    let mut token = Token::from_record(record);
    if let Some(left) = fields.left_ms {
        // Measured on Redis's clock, not the writer's or ours (see `scripts`).
        let remaining = Duration::from_millis(u64::try_from(left).unwrap_or(0));
        token = token.with_expiry(Expiry::from_remaining(remaining, lifetime));
    }
    Ok(Some(Versioned {
        generation: fields.generation,
        token,
    }))
}

fn number<T: std::str::FromStr>(bytes: &[u8]) -> Option<T> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A bulk string or nil of a reply, as bytes.
pub(crate) fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// An optional integer of a reply: nil (or Lua `false`) is `None`.
pub(crate) fn optional_integer(operation: &str, value: &Value) -> Result<Option<i64>, Error> {
    match value {
        Value::Nil => Ok(None),
        other => integer(operation, other).map(Some),
    }
}

/// An integer of a reply (integers may come back as strings from HMGET).
pub(crate) fn integer(operation: &str, value: &Value) -> Result<i64, Error> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Nil => Ok(0),
        other => bytes(other)
            .and_then(number)
            .ok_or_else(|| unexpected(operation, "not an integer")),
    }
}

/// A generation of a reply (never negative).
pub(crate) fn generation(operation: &str, value: &Value) -> Result<u64, Error> {
    u64::try_from(integer(operation, value)?)
        .map_err(|_| unexpected(operation, "negative generation"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokenkit_core::{Arrival, Expiry, Grant};

    use super::*;

    #[test]
    fn round_trip_with_accounting_from_the_fields() {
        let token = Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), Duration::from_secs(60)),
        )
        .with_refresh_token("SENTINEL-REFRESH")
        .with_grant(Grant {
            refreshes_spent: 1,
            refresh_budget: Some(2),
            outcome_unknown: false,
            ..Default::default()
        });
        let e = encode(None, "k", &token).expect("encodes");
        assert_eq!((e.spent, e.budget.as_str(), e.unknown), (1, "2", 0));
        let back = decode(
            None,
            "k",
            Fields {
                generation: 7,
                record: Some(e.record.as_bytes()),
                spent: Some(b"2"),
                budget: Some(b"2"),
                unknown: Some(b"1"),
                left_ms: Some(30_000),
            },
        )
        .expect("decodes")
        .expect("present");
        assert_eq!(back.generation, 7);
        // The time left comes from Redis's clock; the lifetime from the record.
        let left = back.token.expiry().remaining();
        assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(29));
        assert_eq!(back.token.expiry().lifetime(), Duration::from_secs(60));
        assert_eq!(back.token.access_token().expose_secret(), "SENTINEL-ACCESS");
        assert_eq!(
            *back.token.grant(),
            Grant {
                refreshes_spent: 2,
                refresh_budget: Some(2),
                outcome_unknown: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn absent_tombstoned_and_corrupt_state() {
        let none = Fields {
            generation: 3,
            record: None,
            spent: None,
            budget: None,
            unknown: None,
            left_ms: None,
        };
        assert!(decode(None, "k", none).expect("ok").is_none());
        let corrupt = Fields {
            generation: 3,
            record: Some(b"{\"access_token\":\"SENTINEL-ACCESS\",\"tok"),
            spent: None,
            budget: None,
            unknown: None,
            left_ms: None,
        };
        let err = decode(None, "k", corrupt).expect_err("corrupt");
        assert!(!err.is_transient());
        assert!(err.to_string().contains("corrupt"), "{err}");
        assert!(!err.to_string().contains("SENTINEL"), "{err}");
    }

    #[test]
    fn with_a_keyring_the_record_holds_sealed_secrets_only() {
        let keyring =
            Keyring::new([tokenkit_core::StoreKey::generate("k1").expect("random")]).expect("keys");
        let token = Token::new(
            "SENTINEL-ACCESS",
            Expiry::after(Arrival::now(), Duration::from_secs(60)),
        )
        .with_refresh_token("SENTINEL-REFRESH");
        let e = encode(Some(&keyring), "k", &token).expect("encodes");
        assert!(!e.record.contains("SENTINEL"), "{}", e.record);
        assert!(e.record.contains("\"tk1:k1:"), "{}", e.record);
        let fields = |record| Fields {
            generation: 1,
            record: Some(record),
            spent: None,
            budget: None,
            unknown: None,
            left_ms: None,
        };
        let back = decode(Some(&keyring), "k", fields(e.record.as_bytes()))
            .expect("decodes")
            .expect("present");
        assert_eq!(back.token.access_token().expose_secret(), "SENTINEL-ACCESS");
        let err = decode(None, "k", fields(e.record.as_bytes())).expect_err("no key");
        assert!(!err.is_transient());
        assert!(err.to_string().contains("this store has no key"), "{err}");
        // Bound to its grant: another key's state does not open.
        assert!(decode(Some(&keyring), "other", fields(e.record.as_bytes())).is_err());
    }
}
