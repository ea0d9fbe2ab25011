//! Pending records: what must still be delivered with a grant's tokens.
//!
//! The store keeps them as opaque text under (grant key, record id); the platform crate
//! that delivers them decides what the text is (ilab: the result record as JSON) and
//! removes a record only after the platform acknowledged it.

use std::fmt;

use crate::Error;

/// One pending record of a grant: its id (unique within the grant's key) and its data.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingRecord {
    id: String,
    data: String,
}

impl PendingRecord {
    /// A record `id` holding `data`.
    pub fn new(id: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            data: data.into(),
        }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The record's data, as it was put.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The data, taken.
    pub fn into_data(self) -> String {
        self.data
    }
}

/// The data is the application's (a student's result); logs show its size only.
impl fmt::Debug for PendingRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingRecord")
            .field("id", &self.id)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// The lease key under which one holder at a time delivers the pending records of
/// `key` (a lease of its own, so a delivery never holds up a refresh of the grant).
pub fn pending_lease_key(key: &str) -> String {
    format!("{key}#pending")
}

pub(super) fn unsupported() -> Error {
    Error::store("this token store keeps no pending records", false)
}
