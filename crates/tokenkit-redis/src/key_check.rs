//! The key check of a [`RedisStore`]: one string, `<prefix>:keycheck`, holding a value
//! sealed with the current key ([`seal::seal_key_check`]), verified by
//! [`RedisStoreBuilder::connect`](crate::RedisStoreBuilder::connect).
//!
//! Single-key commands only (`GET`, `SET NX`, `SET`), and the name has no hash tag: on
//! Redis Cluster it lives in a slot of its own, like the pending index. A missing check
//! is written with `SET NX`, so of two processes connecting with different keys one
//! writes and the other reads the winner's check and is refused. It has no TTL.

use redis::Value;
use tokenkit_core::Error;
use tokenkit_core::store::seal::{self, KeyCheck};

use crate::RedisStore;
use crate::error::unexpected;
use crate::keys;

/// How many times a check that changed under us is read again before giving up: it
/// changes only when someone writes or removes it at that moment.
const ATTEMPTS: usize = 3;

impl RedisStore {
    /// The Redis name of the store's key check (for operators and tests).
    pub fn key_check_key(&self) -> String {
        keys::key_check(&self.inner.settings.prefix)
    }

    /// Verifies the key check against this store's keyring, writing it when there is
    /// none or when it is sealed with an older key ([`seal::verify_key_check`]). A
    /// refusal is not transient; a Redis failure is.
    pub(crate) async fn verify_key_check(&self) -> Result<(), Error> {
        let keyring = self.inner.settings.keyring.as_ref();
        let name = self.key_check_key();
        let kept_in = format!("the Redis key {name}");
        for _ in 0..ATTEMPTS {
            let stored = self.get_key_check(&name).await?;
            let verdict = seal::verify_key_check(keyring, stored.as_deref(), &kept_in)?;
            // Without a keyring the verdict is `Holds` or a refusal: nothing to write.
            let Some(keyring) = keyring.filter(|_| verdict != KeyCheck::Holds) else {
                return Ok(());
            };
            let check = seal::seal_key_check(keyring)?;
            let only_if_absent = verdict == KeyCheck::Missing;
            if self.set_key_check(&name, &check, only_if_absent).await? {
                return Ok(());
            }
            // Another process wrote its check first: verify that one.
        }
        Err(Error::store(
            format!("{kept_in} kept changing while it was verified; try again"),
            true,
        ))
    }

    /// `GET` of the key check.
    async fn get_key_check(&self, name: &str) -> Result<Option<String>, Error> {
        let mut c = self.connection();
        let reply: Value = self
            .run("key check", async {
                redis::cmd("GET").arg(name).query_async(&mut c).await
            })
            .await?;
        match reply {
            Value::Nil => Ok(None),
            // Bytes that are not UTF-8 are no check: verifying refuses them as malformed.
            Value::BulkString(bytes) => Ok(Some(String::from_utf8(bytes).unwrap_or_default())),
            _ => Err(unexpected("key check", "not a string")),
        }
    }

    /// `SET` (with `NX` if `only_if_absent`) of the key check; whether it was written.
    async fn set_key_check(
        &self,
        name: &str,
        check: &str,
        only_if_absent: bool,
    ) -> Result<bool, Error> {
        let mut c = self.connection();
        let reply: Value = self
            .run("key check", async {
                let mut set = redis::cmd("SET");
                set.arg(name).arg(check);
                if only_if_absent {
                    set.arg("NX");
                }
                set.query_async(&mut c).await
            })
            .await?;
        Ok(reply != Value::Nil)
    }
}
