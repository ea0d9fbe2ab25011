//! Pending records of a grant ([`PendingRecord`]) in Redis: the scripts, and the index
//! of the keys that have some.
//!
//! Each grant's records are two names under the grant's hash tag ([`Names`]):
//!
//! | name | type | holds |
//! | --- | --- | --- |
//! | `<prefix>:{<key>}:pending` | hash | record id → data |
//! | `<prefix>:{<key>}:pending-order` | sorted set | record id → sequence of its first put |
//!
//! Both are written by one script per operation, so a put, a replace and a removal are
//! atomic, and Cluster can run the scripts (one slot). A new id gets the highest
//! sequence of the key plus one; a replace keeps its sequence, and so its place. When
//! the last record goes, Redis drops both names, and nothing of the grant's records is
//! left behind. Neither has a key TTL: a record must not expire unseen, it goes only by
//! [`TokenStore::remove_pending`](tokenkit_core::TokenStore::remove_pending). The token
//! (`…:state`) is another name, so removing either leaves the other alone.
//!
//! # The index of keys
//!
//! [`TokenStore::pending_keys`](tokenkit_core::TokenStore::pending_keys) must not `KEYS`
//! or `SCAN` the whole server (its other data is not ours to walk, and on Cluster it is
//! spread over nodes), so a set `<prefix>:pending-keys` lists the grant keys that may
//! have records. That set has a slot of its own: on Cluster no script can update it
//! together with a grant's names, so it is updated by separate commands, and it is only
//! a *hint*. The rule it keeps is: **a key with records is always listed**; a listed key
//! without records (stale) is possible and harmless, `pending_keys` checks every listed
//! key's `HLEN` and drops the empty ones. The commands of each step are ordered so
//! that a crash or a lost connection between two of them leaves at worst a stale entry
//! (with the one exception below), and so that concurrent steps of other processes
//! cannot unlist a key with records:
//!
//! - **put**: `SADD`, then the script, then `SADD` again. The first `SADD` means a
//!   writer dying right after the script (or whose later commands time out) has
//!   already listed the key. The second is for a concurrent unlisting (next point)
//!   that read "empty" before this script and removed the entry after the first
//!   `SADD`: it lands after that removal, or the unlister's re-check sees the record.
//! - **unlisting** (after a removal script reported the key empty, or when
//!   `pending_keys` found it empty): `SREM`, then `HLEN` again, and `SADD` back if a
//!   record arrived meanwhile. `SADD` is idempotent, so without the re-check a put that
//!   listed the key (a no-op, it was listed) between the emptiness and the `SREM` would
//!   be unlisted: its records hidden. With it, any put whose script ran before the
//!   re-check is seen there, and any later put's final `SADD` comes after the `SREM`.
//!
//! One window is left: an unlister that dies (or loses Redis) between its `SREM` and
//! its re-check, while a put of the same key landed between its emptiness check and
//! the `SREM`. The records are kept and `pending` of that key still returns them; the
//! key is listed again by its next put. Closing it too would take a per-key counter
//! that outlives the records and a compare-and-delete of the index on it.
//!
//! # Sealed data
//!
//! With a keyring ([`RedisStoreBuilder::keyring`](crate::RedisStoreBuilder::keyring))
//! each record's data is sealed before it is sent, bound to its grant key and record id
//! ([`tokenkit_core::store::seal`]); ids and order stay readable, so the scripts are
//! unchanged.
//!
//! # No fallback
//!
//! These operations always go to Redis, also with
//! [`Fallback::Local`](crate::Fallback::Local): a record kept only in this process's
//! memory would be reported as kept while the fleet cannot see it, and lost with the
//! process. While Redis is unreachable they fail as transient store errors within the
//! operation timeout (one timeout for the whole operation, all its commands).

use std::sync::LazyLock;

use redis::{RedisResult, Script};
use tokenkit_core::store::seal;
use tokenkit_core::{Error, PendingRecord};

use crate::RedisStore;
use crate::connection::Connection;
use crate::error::unexpected;
use crate::keys::{Names, pending_index};

/// Puts one record, keeping the place of a record it replaces.
///
/// `KEYS[1]` pending, `KEYS[2]` pending-order; `ARGV`: id, data. Returns the number of
/// records of the key. The sequence is written with `%d`: Lua's default number format
/// would round it past 14 digits.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  local seq = 1
  if last[2] then seq = tonumber(last[2]) + 1 end
  redis.call('ZADD', KEYS[2], string.format('%d', seq), ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HLEN', KEYS[1])
",
    )
});

/// The records of a key, oldest first.
///
/// `KEYS[1]` pending, `KEYS[2]` pending-order. Returns `{id1, data1, id2, data2, …}`.
/// One `HGET` per id rather than one `HMGET`: `unpack` of many ids would overflow
/// Lua's stack.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local data = redis.call('HGET', KEYS[1], id)
  if data then
    out[#out + 1] = id
    out[#out + 1] = data
  end
end
return out
",
    )
});

/// Removes one record.
///
/// `KEYS[1]` pending, `KEYS[2]` pending-order; `ARGV`: id. Returns `{removed (0/1),
/// records left}`.
static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {removed, redis.call('HLEN', KEYS[1])}
",
    )
});

impl RedisStore {
    fn pending_index(&self) -> String {
        pending_index(&self.inner.settings.prefix)
    }

    /// The put script between two `SADD`s of the index (see the module docs).
    pub(crate) async fn redis_put_pending(
        &self,
        key: &str,
        id: &str,
        data: &str,
    ) -> Result<(), Error> {
        let data = seal::seal_pending(self.inner.settings.keyring.as_ref(), key, id, data)?;
        let names = self.names(key);
        let index = self.pending_index();
        let mut c = self.connection();
        self.run("put pending", async move {
            list(&mut c, &index, key).await?;
            PUT.key(&names.pending)
                .key(&names.pending_order)
                .arg(id)
                .arg(&data)
                .invoke_async::<i64>(&mut c)
                .await?;
            list(&mut c, &index, key).await
        })
        .await
    }

    /// The list script.
    pub(crate) async fn redis_pending(&self, key: &str) -> Result<Vec<PendingRecord>, Error> {
        const OP: &str = "pending";
        let names = self.names(key);
        let mut c = self.connection();
        let reply: Vec<Vec<u8>> = self
            .run(OP, async move {
                LIST.key(&names.pending)
                    .key(&names.pending_order)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if !reply.len().is_multiple_of(2) {
            return Err(unexpected(OP, "an id without data"));
        }
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| {
                Error::store(
                    format!("redis pending records of key {key:?} are corrupt (not UTF-8)"),
                    false,
                )
            })
        };
        let mut records = Vec::with_capacity(reply.len() / 2);
        let mut fields = reply.into_iter();
        let keyring = self.inner.settings.keyring.as_ref();
        while let (Some(id), Some(data)) = (fields.next(), fields.next()) {
            let id = text(id)?;
            let data = seal::open_pending(keyring, key, &id, text(data)?)?;
            records.push(PendingRecord::new(id, data));
        }
        Ok(records)
    }

    /// The remove script, then the key's unlisting if it has no records left.
    pub(crate) async fn redis_remove_pending(&self, key: &str, id: &str) -> Result<bool, Error> {
        let names = self.names(key);
        let index = self.pending_index();
        let mut c = self.connection();
        self.run("remove pending", async move {
            let (removed, left): (i64, i64) = REMOVE
                .key(&names.pending)
                .key(&names.pending_order)
                .arg(id)
                .invoke_async(&mut c)
                .await?;
            if left == 0 {
                unlist_if_empty(&mut c, &index, key, &names).await?;
            }
            Ok(removed == 1)
        })
        .await
    }

    /// The listed keys whose records hash is not empty; the others are unlisted.
    pub(crate) async fn redis_pending_keys(&self) -> Result<Vec<String>, Error> {
        let prefix = self.inner.settings.prefix.clone();
        let index = self.pending_index();
        let mut c = self.connection();
        self.run("pending keys", async move {
            let listed: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                .arg(&index)
                .query_async(&mut c)
                .await?;
            // Every member was written by us from a `&str`; another program's
            // non-UTF-8 member cannot stand for any of our keys.
            let listed: Vec<String> = listed
                .into_iter()
                .filter_map(|m| String::from_utf8(m).ok())
                .collect();
            if listed.is_empty() {
                return Ok(listed);
            }
            // One `HLEN` per key, sent together: not a pipeline, whose commands a
            // cluster would have to find in one slot (each key's records have their
            // own); on one server the connection pipelines them anyway.
            let lengths: Vec<i64> = futures_util::future::try_join_all(listed.iter().map(|key| {
                let mut c = c.clone();
                let name = Names::new(&prefix, key).pending;
                async move {
                    redis::cmd("HLEN")
                        .arg(name)
                        .query_async::<i64>(&mut c)
                        .await
                }
            }))
            .await?;
            let mut keys = Vec::with_capacity(listed.len());
            for (key, len) in listed.into_iter().zip(lengths) {
                let names = Names::new(&prefix, &key);
                if len > 0 || unlist_if_empty(&mut c, &index, &key, &names).await? {
                    keys.push(key);
                }
            }
            Ok(keys)
        })
        .await
    }
}

/// `SADD` of `key` to the index.
async fn list(c: &mut Connection, index: &str, key: &str) -> RedisResult<()> {
    redis::cmd("SADD")
        .arg(index)
        .arg(key)
        .query_async::<i64>(c)
        .await
        .map(drop)
}

/// Unlists `key`, then lists it again if it has records after all (a put raced the
/// emptiness check: see the module docs). Whether it has records.
async fn unlist_if_empty(
    c: &mut Connection,
    index: &str,
    key: &str,
    names: &Names,
) -> RedisResult<bool> {
    redis::cmd("SREM")
        .arg(index)
        .arg(key)
        .query_async::<i64>(c)
        .await?;
    let left: i64 = redis::cmd("HLEN")
        .arg(&names.pending)
        .query_async(c)
        .await?;
    if left > 0 {
        list(c, index, key).await?;
    }
    Ok(left > 0)
}
