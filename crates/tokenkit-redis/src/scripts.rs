//! The Lua scripts: each store operation that reads and then writes is one script, so
//! it is atomic and costs one round trip. Every key a script touches is passed in
//! `KEYS` and shares the grant's hash tag, so the scripts also run on Redis Cluster.
//!
//! The state hash of a grant holds:
//!
//! | field | meaning |
//! | --- | --- |
//! | `gen` | generation: bumped by every write, never reset while the key lives |
//! | `record` | the token (JSON `TokenRecord`: access and refresh token, expiry, metadata) |
//! | `spent` | refreshes spent on the grant (authoritative over the record's copy) |
//! | `budget` | refreshes the grant allows, empty if unlimited |
//! | `unknown` | `1` if a counted refresh has no known outcome |
//! | `expires_at_ms` | the access token's expiry, epoch ms **on the Redis server's clock** (at most [`KeyTtl::MAX`](crate::KeyTtl::MAX) ahead) |
//!
//! Expiry is measured on one clock, Redis's: a writer passes the time its token has
//! left, the script adds Redis `TIME`, and a reader is told the time left by the same
//! clock. The hosts of a fleet may disagree about the time; none of them can make a
//! token look valid for longer than the platform said.
//!
//! A removed grant keeps only `gen` (a tombstone), so the generation only grows and a
//! writer that read before the removal still loses.

use std::sync::LazyLock;

use redis::Script;

use crate::ttl::LUA_GUARD;

/// Lua helpers shared by the scripts: Redis's own clock in epoch ms, and the time left
/// until a stored `expires_at_ms` (`false` when none is stored).
const CLOCK: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function left_ms(expires_at)
  local e = tonumber(expires_at or '')
  if e then return e - now_ms() end
  return false
end
";

/// Compare-and-set of a whole token.
///
/// `KEYS[1]` state; `ARGV`: expected generation, record JSON, spent, budget (`''` =
/// none), unknown (`0`/`1`), the token's remaining lifetime in ms, key TTL in ms,
/// change channel.
///
/// The two spans are checked before anything else (see [`crate::ttl`]): one that is
/// not a whole number of ms in range fails the script with an error reply, and nothing
/// is written, expired or published — the `HSET`, `PEXPIRE` and `PUBLISH` below
/// happen all three or not at all.
///
/// Returns `{1, new_gen}` when written; `{0, current_gen, record, spent, budget,
/// unknown, left_ms}` on a conflict (`record` is nil when nothing is stored); `{-1,
/// spent, budget}` when the token claims more refreshes than its budget allows —
/// refused whatever the caller's lease says, so not even two lease holders can
/// overspend.
pub(crate) static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{CLOCK}{}{}",
        *LUA_GUARD,
        r"
if not (ms_ok(ARGV[6], 0) and ms_ok(ARGV[7], 1)) then
  return refuse('a TTL argument')
end
local cur = redis.call('HMGET', KEYS[1], 'gen', 'record', 'spent', 'budget', 'unknown', 'expires_at_ms')
local gen = tonumber(cur[1]) or 0
local current = 0
if cur[2] then current = gen end
if current ~= tonumber(ARGV[1]) then
  return {0, current, cur[2], cur[3], cur[4], cur[5], left_ms(cur[6])}
end
if ARGV[4] ~= '' and tonumber(ARGV[3]) > tonumber(ARGV[4]) then
  return {-1, ARGV[3], ARGV[4]}
end
local new = gen + 1
redis.call('HSET', KEYS[1], 'gen', new, 'record', ARGV[2], 'spent', ARGV[3],
  'budget', ARGV[4], 'unknown', ARGV[5], 'expires_at_ms', now_ms() + tonumber(ARGV[6]))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PUBLISH', ARGV[8], 'gen:' .. new)
return {1, new}
"
    ))
});

/// Reads a grant: `{gen, record, spent, budget, unknown, left_ms}` (nil where absent),
/// with the time left measured on Redis's clock.
pub(crate) static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{CLOCK}{}",
        r"
local cur = redis.call('HMGET', KEYS[1], 'gen', 'record', 'spent', 'budget', 'unknown', 'expires_at_ms')
return {cur[1], cur[2], cur[3], cur[4], cur[5], left_ms(cur[6])}
"
    ))
});

/// Counts one refresh against the budget, atomically.
///
/// `KEYS[1]` state; `ARGV`: budget, change channel. The stricter of the given budget
/// and the stored one applies.
///
/// Returns `{1, new_gen, spent}` when counted (and marks the outcome unknown until a
/// token is committed); `{-1, gen, spent}` when the budget is spent; `{0}` when no
/// token is stored.
pub(crate) static SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('HMGET', KEYS[1], 'gen', 'record', 'spent', 'budget')
if not cur[2] then return {0} end
local gen = tonumber(cur[1]) or 0
local spent = tonumber(cur[3]) or 0
local budget = tonumber(ARGV[1])
local stored = tonumber(cur[4] or '')
if stored and stored < budget then budget = stored end
if spent >= budget then return {-1, gen, spent} end
local new = gen + 1
redis.call('HSET', KEYS[1], 'gen', new, 'spent', spent + 1, 'unknown', 1)
redis.call('PUBLISH', ARGV[2], 'gen:' .. new)
return {1, new, spent + 1}
",
    )
});

/// Extends the lease if the caller's fence still holds it.
///
/// `KEYS[1]` lease; `ARGV`: fence, TTL in ms. Returns `1` if renewed, else `0`; a TTL
/// out of range is refused before anything changes (see [`crate::ttl`]).
pub(crate) static RENEW_LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{}{}",
        *LUA_GUARD,
        r"
if not ms_ok(ARGV[2], 1) then
  return refuse('the lease TTL')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"
    ))
});

/// Deletes the lease if the caller's fence still holds it, and announces it so that
/// waiters may try at once.
///
/// `KEYS[1]` lease; `ARGV`: fence, change channel. Returns `1` if released, else `0`.
pub(crate) static RELEASE_LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
",
    )
});

/// Removes the token but keeps the generation (a tombstone with the key's TTL).
///
/// `KEYS[1]` state; `ARGV`: change channel. Returns `1` if a token was removed.
pub(crate) static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], 'record') == 1 then
  redis.call('HDEL', KEYS[1], 'record', 'spent', 'budget', 'unknown', 'expires_at_ms')
  redis.call('PUBLISH', ARGV[1], 'removed')
  return 1
end
return 0
",
    )
});
