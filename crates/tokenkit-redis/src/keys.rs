//! Redis key and channel names of one grant.
//!
//! Every name of a grant carries the same *hash tag* (`{…}`), so Redis Cluster puts
//! them in one slot and a Lua script may touch all of them. The grant key is escaped
//! inside the tag (`{`, `}` and `%` become `%7B`, `%7D`, `%25`) so that a key can
//! never end the tag early and two grants can never share names.
//!
//! Two names are no grant's, each in a slot of its own: the index of the keys that have
//! pending records ([`pending_index`]) and the store's key check ([`key_check`]).

/// The names one grant uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    /// The hash with the token and its accounting.
    pub(crate) state: String,
    /// The refresh lease (a string holding the holder's fence).
    pub(crate) lease: String,
    /// The pub/sub channel on which changes are announced.
    pub(crate) channel: String,
    /// The pending records: a hash of record id → data. No key TTL.
    pub(crate) pending: String,
    /// The order of the pending records: a sorted set of record id → sequence of its
    /// first put. No key TTL.
    pub(crate) pending_order: String,
}

impl Names {
    /// The names of `key` under `prefix` (e.g. `tokenkit`).
    pub(crate) fn new(prefix: &str, key: &str) -> Self {
        let tag = escape(key);
        Self {
            state: format!("{prefix}:{{{tag}}}:state"),
            lease: format!("{prefix}:{{{tag}}}:lease"),
            channel: format!("{prefix}:{{{tag}}}:changes"),
            pending: format!("{prefix}:{{{tag}}}:pending"),
            pending_order: format!("{prefix}:{{{tag}}}:pending-order"),
        }
    }
}

/// The set of the (unescaped) grant keys that may have pending records, under `prefix`.
/// It has no hash tag of a grant, so on Redis Cluster it is in a slot of its own and no
/// script may touch it together with a grant's names (see [`crate::pending`]). It never
/// equals a grant's name: those have `{` right after the prefix.
pub(crate) fn pending_index(prefix: &str) -> String {
    format!("{prefix}:pending-keys")
}

/// The string holding the store's key check under `prefix` (see [`crate::key_check`]).
/// Like the pending index it has no hash tag and never equals a grant's name.
pub(crate) fn key_check(prefix: &str) -> String {
    format!("{prefix}:keycheck")
}

/// Escapes the characters that would break the hash tag. An empty key would make an
/// empty tag `{}`, which Redis Cluster ignores (the whole name is hashed), so it is
/// written as `%00`.
fn escape(key: &str) -> String {
    if key.is_empty() {
        return "%00".to_owned();
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot-relevant part of a name, as Redis Cluster computes it.
    fn hash_tag(name: &str) -> &str {
        let Some(open) = name.find('{') else {
            return name;
        };
        match name[open + 1..].find('}') {
            Some(0) | None => name,
            Some(len) => &name[open + 1..open + 1 + len],
        }
    }

    #[test]
    fn all_names_of_a_grant_share_one_hash_tag() {
        for key in ["ilab:u1", "a}b", "{x}", "", "用户/1", "100%"] {
            let names = Names::new("tokenkit", key);
            let tag = hash_tag(&names.state);
            assert!(!tag.is_empty() && tag != names.state, "{key:?}: {names:?}");
            assert_eq!(hash_tag(&names.lease), tag, "{key:?}");
            assert_eq!(hash_tag(&names.channel), tag, "{key:?}");
            assert_eq!(hash_tag(&names.pending), tag, "{key:?}");
            assert_eq!(hash_tag(&names.pending_order), tag, "{key:?}");
        }
        let names = Names::new("tokenkit", "ilab:u1");
        assert_eq!(names.state, "tokenkit:{ilab:u1}:state");
        assert_eq!(names.pending, "tokenkit:{ilab:u1}:pending");
        assert_eq!(names.pending_order, "tokenkit:{ilab:u1}:pending-order");
    }

    #[test]
    fn the_pending_index_and_the_key_check_are_no_grant_names() {
        let index = pending_index("tokenkit");
        assert_eq!(index, "tokenkit:pending-keys");
        let check = key_check("tokenkit");
        assert_eq!(check, "tokenkit:keycheck");
        // No hash tag: Cluster hashes the whole name, a slot of its own.
        assert_eq!(hash_tag(&index), index);
        assert_eq!(hash_tag(&check), check);
        for key in [
            "pending-keys",
            "keycheck",
            "",
            "{pending-keys}",
            "{keycheck}",
            "a}b",
        ] {
            let names = Names::new("tokenkit", key);
            for name in [
                &names.state,
                &names.lease,
                &names.channel,
                &names.pending,
                &names.pending_order,
            ] {
                assert_ne!(name, &index, "{key:?}");
                assert_ne!(name, &check, "{key:?}");
            }
        }
    }

    #[test]
    fn distinct_keys_get_distinct_names() {
        let keys = ["a}b", "a%7Db", "a", "", "%00", "{a}"];
        let mut names: Vec<_> = keys
            .iter()
            .flat_map(|k| {
                let n = Names::new("tokenkit", k);
                [n.state, n.pending, n.pending_order]
            })
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3 * keys.len(), "{names:?}");
    }
}
