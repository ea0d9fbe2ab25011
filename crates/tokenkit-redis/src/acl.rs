//! The least a Redis ACL user needs to run a [`RedisStore`](crate::RedisStore): every
//! operation, [`subscribe`](crate::RedisStore::subscribe) and the fleet flow of
//! [`TokenCache`](tokenkit_core::TokenCache)s, and nothing else.
//!
//! ```text
//! ACL SETUSER tokenkit on >PASSWORD resetkeys resetchannels -@all ~tokenkit:* &tokenkit:* +ping +evalsha +script|load +set +sadd +srem +smembers +hlen +subscribe +time +hmget +hset +hget +hdel +hexists +get +del +pexpire +publish +zadd +zrange +zrem +zscore
//! ```
//!
//! ([`minimal_rule`] writes it for a prefix.) Why each part:
//!
//! | rule | needed for |
//! | --- | --- |
//! | `resetkeys resetchannels -@all` | start from nothing, so the rule is all the user may do |
//! | `~<prefix>:*` | every key of the store: `<prefix>:{<key>}:state`, `:lease`, `:pending`, `:pending-order`, and the index `<prefix>:pending-keys` |
//! | `&<prefix>:*` | the change hints, `<prefix>:{<key>}:changes` (published by the scripts, subscribed to by `subscribe`) |
//! | `+ping` | `connect()` and `ping()` |
//! | `+evalsha +script\|load` | every script is sent as `EVALSHA`, and loaded with `SCRIPT LOAD` when the server does not know it yet (after a restart) |
//! | `+set` | taking the refresh lease (`SET … NX PX`) |
//! | `+sadd +srem +smembers +hlen` | the index of the keys that have pending records |
//! | `+subscribe` | `subscribe` and the cache's wait for a change |
//! | `+time` | inside the scripts: expiry on the server's clock |
//! | `+hmget +hset +hget +hdel +hexists` | inside the scripts: the state and pending hashes |
//! | `+get +del` | inside the scripts: renewing and releasing the lease |
//! | `+pexpire` | inside the scripts: the key TTL and the lease TTL |
//! | `+publish` | inside the scripts: the change hints |
//! | `+zadd +zrange +zrem +zscore` | inside the scripts: the order of pending records |
//!
//! Redis checks the commands a script runs, and the keys and channels they touch,
//! against the user's rule, as if the user sent them. The store sends no
//! `CLIENT SETINFO` on connect and no `SELECT` for database 0; a URL naming another
//! database (`/1`) needs `+select` too. `AUTH` and `HELLO` are always allowed.
//!
//! A refused command is a non-transient store error saying `NOPERM` and what was
//! refused (a command, the store's keys or its channels).
//!
//! # On a Redis Cluster
//!
//! A cluster keeps its ACL users per node: create the user on every node (replicas
//! too, they may be promoted), with [`minimal_cluster_rule`] — the rule above and two
//! commands the cluster client sends:
//!
//! ```text
//! ACL SETUSER tokenkit on >PASSWORD resetkeys resetchannels -@all ~tokenkit:* &tokenkit:* +ping +evalsha +script|load +set +sadd +srem +smembers +hlen +subscribe +time +hmget +hset +hget +hdel +hexists +get +del +pexpire +publish +zadd +zrange +zrem +zscore +cluster|slots +asking
//! ```
//!
//! | rule | needed for |
//! | --- | --- |
//! | `+cluster\|slots` | which master serves which slot: asked at the first connection, and again after a `MOVED` (a failover, a resharding) |
//! | `+asking` | while an operator moves a slot to another master (resharding), a grant already moved is served there after `ASKING` |
//!
//! Nothing else: the client sends no `READONLY` (it reads from masters only), no
//! `CLUSTER SHARDS` or `CLUSTER NODES`, and subscribes with classic `SUBSCRIBE`.

/// The commands a store's user needs; see the [module docs](self).
pub const COMMANDS: &[&str] = &[
    "ping",
    "evalsha",
    "script|load",
    "set",
    "sadd",
    "srem",
    "smembers",
    "hlen",
    "subscribe",
    "time",
    "hmget",
    "hset",
    "hget",
    "hdel",
    "hexists",
    "get",
    "del",
    "pexpire",
    "publish",
    "zadd",
    "zrange",
    "zrem",
    "zscore",
];

/// What a store's user needs on a Redis Cluster beyond [`COMMANDS`]; see
/// [On a Redis Cluster](self#on-a-redis-cluster).
pub const CLUSTER_COMMANDS: &[&str] = &["cluster|slots", "asking"];

/// The `ACL SETUSER` rules for a store with this key prefix (the builder's
/// [`prefix`](crate::RedisStoreBuilder::prefix), default `tokenkit`), one per argument:
/// add `on` and `>PASSWORD` to create the user. Glob characters of the prefix are
/// escaped, so the patterns match that prefix only.
///
/// ```
/// let rules = tokenkit_redis::acl::minimal_rules("tokenkit");
/// assert_eq!(&rules[..5], ["resetkeys", "resetchannels", "-@all", "~tokenkit:*", "&tokenkit:*"]);
/// assert!(rules.contains(&"+evalsha".to_owned()));
/// ```
pub fn minimal_rules(prefix: &str) -> Vec<String> {
    let pattern = escape_glob(prefix);
    let mut rules = vec![
        "resetkeys".to_owned(),
        "resetchannels".to_owned(),
        "-@all".to_owned(),
        format!("~{pattern}:*"),
        format!("&{pattern}:*"),
    ];
    rules.extend(COMMANDS.iter().map(|c| format!("+{c}")));
    rules
}

/// [`minimal_rules`] as one line, as written after `ACL SETUSER <name> on >PASSWORD` or
/// in an ACL file (a prefix with spaces needs [`minimal_rules`] instead).
///
/// ```
/// let rule = tokenkit_redis::acl::minimal_rule("fleet-a");
/// assert!(rule.starts_with("resetkeys resetchannels -@all ~fleet-a:* &fleet-a:* +ping"));
/// ```
pub fn minimal_rule(prefix: &str) -> String {
    minimal_rules(prefix).join(" ")
}

/// [`minimal_rules`] for a store on a Redis Cluster: with [`CLUSTER_COMMANDS`] too. Give
/// them to the user on every node.
///
/// ```
/// let rules = tokenkit_redis::acl::minimal_cluster_rules("tokenkit");
/// assert!(rules.starts_with(&tokenkit_redis::acl::minimal_rules("tokenkit")));
/// assert!(rules.ends_with(&["+cluster|slots".to_owned(), "+asking".to_owned()]));
/// ```
pub fn minimal_cluster_rules(prefix: &str) -> Vec<String> {
    let mut rules = minimal_rules(prefix);
    rules.extend(CLUSTER_COMMANDS.iter().map(|c| format!("+{c}")));
    rules
}

/// [`minimal_cluster_rules`] as one line, as [`minimal_rule`] is.
///
/// ```
/// let rule = tokenkit_redis::acl::minimal_cluster_rule("fleet-a");
/// assert!(rule.ends_with("+zscore +cluster|slots +asking"));
/// ```
pub fn minimal_cluster_rule(prefix: &str) -> String {
    minimal_cluster_rules(prefix).join(" ")
}

/// `prefix` with Redis glob characters escaped.
fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_rules_are_the_rules() {
        for rule in [minimal_rule("tokenkit"), minimal_cluster_rule("tokenkit")] {
            let line = format!("ACL SETUSER tokenkit on >PASSWORD {rule}");
            for (page, text) in [
                ("src/acl.rs", include_str!("acl.rs")),
                ("docs/redis.md", include_str!("../../../docs/redis.md")),
            ] {
                // The line itself, not only as the start of the other rule's line.
                let whole = text.lines().any(|l| l.trim_start_matches("//! ") == line);
                assert!(whole, "update {page} to: {line}");
            }
        }
    }

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        let rules = minimal_rules("a*b?[c]");
        assert_eq!(rules[3], r"~a\*b\?\[c\]:*");
        assert_eq!(rules[4], r"&a\*b\?\[c\]:*");
    }
}
