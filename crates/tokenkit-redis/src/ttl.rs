//! Time spans sent to Redis, clamped to what Redis accepts — in Rust, and checked again
//! by every script that sets an expiry before it writes anything.
//!
//! Redis refuses an expiry whose absolute time (its clock plus the TTL, in ms)
//! overflows 64 bits, and a Lua script is atomic but not transactional: one failing at
//! its `PEXPIRE` keeps the `HSET` before it, leaving a record without a TTL whose change
//! was never announced. So a TTL is clamped to `[1 ms, KeyTtl::MAX]` and a token's time
//! left to `[0, KeyTtl::MAX]` before they are sent, and [`LUA_GUARD`] lets a script
//! refuse, before its first write, an argument that is not such a span: the whole
//! operation then fails and the key stays as it was.

use std::time::Duration;

use crate::config::KeyTtl;

/// [`KeyTtl::MAX`] in ms.
const MAX_MS: u64 = KeyTtl::MAX.as_secs() * 1000;

// A span plus Redis's clock (here: the year 2100) stays exact as a Lua number (a
// double), so the scripts' range check and expiry sum are exact.
const _: () = assert!(MAX_MS + 4_102_444_800_000 < 1 << 53);

/// The error code of a script that refused an argument (see [`LUA_GUARD`]).
pub(crate) const REFUSED_CODE: &str = "TOKENKIT_RANGE";

/// A TTL for `PEXPIRE` / `SET … PX`: at least 1 ms (0 deletes the key or is refused),
/// at most [`KeyTtl::MAX`].
pub(crate) fn expire_ms(ttl: Duration) -> u64 {
    clamped_ms(ttl).max(1)
}

/// A token's time left, in ms, at most [`KeyTtl::MAX`]: the script adds it to Redis's
/// clock, and the sum must stay a 64-bit millisecond time (and an exact Lua number).
pub(crate) fn remaining_ms(left: Duration) -> u64 {
    clamped_ms(left)
}

fn clamped_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).map_or(MAX_MS, |ms| ms.min(MAX_MS))
}

/// Lua helpers for the scripts that set an expiry: `ms_ok(v, min)` says whether the
/// argument `v` is a whole number of ms in `[min, KeyTtl::MAX]` (`tonumber` turns
/// `"18446744073709551615"` into a float, `"nan"` into NaN: both fail), and
/// `refuse(what)` is the error reply to return, before any write, when it is not.
pub(crate) static LUA_GUARD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        r"
local MAX_MS = {MAX_MS}
local function ms_ok(v, min)
  local n = tonumber(v)
  return n ~= nil and n == math.floor(n) and n >= min and n <= MAX_MS
end
local function refuse(what)
  return redis.error_reply('{REFUSED_CODE} ' .. what .. ' is out of range; nothing was written')
end
"
    )
});

#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(test)]
mod tests {
    use redis::AsyncCommands;
    use tokenkit_core::{CasOutcome, TokenStore};

    use super::*;
    use crate::scripts;

    #[test]
    fn spans_are_clamped_to_what_redis_accepts() {
        assert_eq!(expire_ms(Duration::ZERO), 1);
        assert_eq!(expire_ms(Duration::from_micros(1500)), 1);
        assert_eq!(expire_ms(Duration::from_secs(60)), 60_000);
        assert_eq!(expire_ms(Duration::MAX), MAX_MS);
        assert_eq!(remaining_ms(Duration::ZERO), 0);
        assert_eq!(remaining_ms(KeyTtl::MAX + Duration::from_millis(1)), MAX_MS);
        assert_eq!(remaining_ms(Duration::MAX), MAX_MS);
    }

    /// What a script refusing its argument leaves: everything as it was.
    #[tokio::test]
    async fn a_script_refusing_its_ttl_writes_nothing() {
        let Some(server) = support::RedisServer::start() else {
            return;
        };
        let store = server.store().await;
        let original = support::token("original", 600);
        store.compare_and_set("k", 0, &original).await.expect("cas");
        let names = store.names("k");
        let mut admin = server.admin().await;
        let before: Vec<(String, String)> = admin.hgetall(&names.state).await.expect("hgetall");
        let bad = [
            ("18446744073709551615", "60000"),
            ("60000", "18446744073709551615"),
            ("60000", "9223372036854775807"),
            ("60000", "0"),
            ("60000", "-1"),
            ("60000", "1.5"),
            ("60000", "nan"),
            ("60000", "inf"),
            ("60000", "soon"),
            ("-5", "60000"),
            ("1e300", "60000"),
        ];
        for (remaining, key_ttl) in bad {
            let mut c = store.connection();
            let reply: redis::RedisResult<redis::Value> = scripts::COMPARE_AND_SET
                .key(&names.state)
                .arg(1)
                .arg("{\"replacement\":true}")
                .arg(0)
                .arg("")
                .arg(0)
                .arg(remaining)
                .arg(key_ttl)
                .arg(&names.channel)
                .invoke_async(&mut c)
                .await;
            let after: Vec<(String, String)> = admin.hgetall(&names.state).await.expect("hgetall");
            assert_eq!(after, before, "{remaining} / {key_ttl} wrote");
            let pttl: i64 = admin.pttl(&names.state).await.expect("pttl");
            assert!(pttl > 0, "{remaining} / {key_ttl} left PTTL {pttl}");
            let Err(err) = reply else {
                panic!("{remaining} / {key_ttl} was accepted");
            };
            assert_eq!(err.code(), Some(REFUSED_CODE), "{err}");
        }
        // As a store error: typed, naming the operation, not transient.
        let mut c = store.connection();
        let e = store
            .run(
                "compare-and-set",
                scripts::COMPARE_AND_SET
                    .key(&names.state)
                    .arg(1)
                    .arg("{}")
                    .arg(0)
                    .arg("")
                    .arg(0)
                    .arg(0)
                    .arg("0")
                    .arg(&names.channel)
                    .invoke_async::<redis::Value>(&mut c),
            )
            .await
            .expect_err("refused");
        assert!(!e.is_transient(), "{e}");
        assert!(e.to_string().contains("out-of-range"), "{e}");
        // The grant is intact and its generation unspent: the next writer at 1 wins.
        let kept = store.load("k").await.expect("load").expect("kept");
        assert_eq!(kept.generation, 1);
        assert_eq!(kept.token.access_token().expose_secret(), "original");
        assert!(matches!(
            store
                .compare_and_set("k", 1, &support::token("next", 600))
                .await,
            Ok(CasOutcome::Written(2))
        ));
    }

    #[tokio::test]
    async fn a_lease_renewal_refusing_its_ttl_leaves_the_lease() {
        let Some(server) = support::RedisServer::start() else {
            return;
        };
        let store = server.store().await;
        let lease = store
            .try_lease("k", Duration::from_secs(30))
            .await
            .expect("lease")
            .expect("granted");
        let names = store.names("k");
        let mut admin = server.admin().await;
        for bad in ["18446744073709551615", "0", "-1", "soon"] {
            let mut c = store.connection();
            let reply: redis::RedisResult<i64> = scripts::RENEW_LEASE
                .key(&names.lease)
                .arg(&lease.fence)
                .arg(bad)
                .invoke_async(&mut c)
                .await;
            let pttl: i64 = admin.pttl(&names.lease).await.expect("pttl");
            assert!(pttl > 0 && pttl <= 30_000, "{bad} left PTTL {pttl}");
            let err = reply.expect_err(bad);
            assert_eq!(err.code(), Some(REFUSED_CODE), "{err}");
        }
    }
}
