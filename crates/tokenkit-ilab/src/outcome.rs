//! What a delivery ends with: the platform's receipt, or an [`UploadError`] holding the
//! record and saying where it is now ([`Failure`]); a flush's [`FlushReport`]; and how
//! hard one call tries ([`Retry`]).

use std::fmt;
use std::time::Duration;

use tokenkit_core::{Backoff, Error};

use crate::ExperimentResult;

/// How hard one call tries to deliver one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per record and call, the first included (default 4; at least 1).
    pub attempts: u32,
    /// The wait between attempts (default 500 ms doubling to 8 s, jittered).
    pub backoff: Backoff,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_secs(8),
            },
        }
    }
}

/// The platform's acknowledgement of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The record's `originId`.
    pub origin_id: String,
    /// The platform's message (`msg`), as it sent it.
    pub message: String,
}

/// Why a record was not delivered, and where it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every attempt failed on something passing (a timeout, the platform down): the
    /// record is pending in the store, and a later [`Reporter::flush`](crate::Reporter::flush) delivers it.
    Pending,
    /// The grant can no longer get a token (both refreshes spent, the ticket used):
    /// only a relaunch helps. The record stays pending under the grant's key, so the
    /// relaunched grant of the same user delivers it; or the application
    /// [`discard`s](crate::Reporter::discard) it.
    Undeliverable,
    /// The platform refused the record (a code other than 0 and 2). It is not sent
    /// again (it would be refused again), but stays in the store, marked refused, until
    /// the application takes it over with [`Reporter::discard`](crate::Reporter::discard); every flush reports it.
    Refused,
    /// The record was neither delivered nor kept: the store could not keep it, or it
    /// is not this grant's to send (it names another user or appid, or the grant names
    /// no user). This error holds the only copy.
    NotKept,
}

impl Failure {
    fn describe(self) -> &'static str {
        match self {
            Self::Pending => "not delivered yet; kept pending in the store for a later flush",
            Self::Undeliverable => {
                "undeliverable with this grant; kept pending for the user's next launch"
            }
            Self::Refused => {
                "refused by the platform; kept, marked refused, until the application discards it"
            }
            Self::NotKept => "neither delivered nor kept",
        }
    }
}

/// A record that was not delivered: the record itself, where it is now, and why.
pub struct UploadError {
    failure: Failure,
    record: Box<ExperimentResult>,
    error: Error,
}

impl UploadError {
    pub(crate) fn new(failure: Failure, record: ExperimentResult, error: Error) -> Self {
        Self {
            failure,
            record: Box::new(record),
            error,
        }
    }

    /// Where the record is now.
    pub fn failure(&self) -> Failure {
        self.failure
    }

    /// The record (with its `username`, `appid` and `originId`).
    pub fn record(&self) -> &ExperimentResult {
        &self.record
    }

    /// The record, taken.
    pub fn into_record(self) -> ExperimentResult {
        *self.record
    }

    /// The error of the last attempt (the platform's code and message, a timeout, …).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Whether only the user's relaunch of the experiment can help.
    pub fn needs_relaunch(&self) -> bool {
        self.failure == Failure::Undeliverable
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ilab: result {} {}: {}",
            self.record.origin_id(),
            self.failure.describe(),
            self.error
        )
    }
}

impl fmt::Debug for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadError")
            .field("failure", &self.failure)
            .field("record", &self.record)
            .field("error", &self.error)
            .finish()
    }
}

impl std::error::Error for UploadError {}

/// What a [`Reporter::flush`](crate::Reporter::flush) did.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// The grant's store key.
    pub grant_key: String,
    /// The records the platform acknowledged.
    pub delivered: Vec<Receipt>,
    /// The records that were not delivered, with the records.
    pub failed: Vec<UploadError>,
    /// Pending records that cannot be read back (the store holds something that is
    /// not a record): left in the store, by id.
    pub unreadable: Vec<String>,
    /// Pending records not tried: another holder is flushing this key, or an earlier
    /// record found the platform unreachable.
    pub skipped: usize,
}

impl FlushReport {
    /// Whether some record can only be delivered after the user's relaunch.
    pub fn needs_relaunch(&self) -> bool {
        self.failed.iter().any(UploadError::needs_relaunch)
    }
}
