//! How one attempt to deliver a result ended, and what that means for the next.

use tokenkit_core::Error;

use crate::upload_answer::UploadAnswer;

/// How one attempt ended.
pub(crate) enum Attempt {
    Delivered(String),
    /// Passing: the same record, sent again, may go through.
    Retry(Error),
    /// Not worth another attempt in this call, but the record stays pending.
    Stop(Error),
    Undeliverable(Error),
    Refused(Error),
}

impl Attempt {
    /// What an answer of the platform means for the record.
    pub(crate) fn of_answer(answer: UploadAnswer) -> Self {
        match answer {
            UploadAnswer::Acknowledged(message) => Self::Delivered(message),
            UploadAnswer::Unreadable(error) => Self::Retry(error),
            // The layer renews a refused token once; a refusal that still arrives here
            // is not worth a second refresh of this grant's two.
            UploadAnswer::TokenInvalid(error) => Self::Stop(error),
            UploadAnswer::Refused(error) => Self::Refused(error),
        }
    }

    /// An error of the authenticated call itself (no answer to read).
    pub(crate) fn of_call_error(error: Error) -> Self {
        if error.is_reauth_required() {
            Self::Undeliverable(error)
        } else if error.is_token_refused() && !error.is_transient() {
            // The renewed token was refused too: no second refresh on this call.
            Self::Stop(error)
        } else if error.is_transient() || error.is_outcome_unknown() {
            // Sent, but no answer: the platform may have stored the record. The same
            // record (same `originId`) sent again is kept once.
            Self::Retry(error)
        } else {
            Self::Stop(error)
        }
    }
}
