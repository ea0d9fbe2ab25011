//! The platform's return codes (§1.1 and §1.2 tables), as typed errors that keep the
//! platform's own (Chinese) message and say in English what the code means.

use tokenkit_core::Error;

use crate::PLATFORM;

/// What the application must tell the user when only a new ticket can help.
pub const RELAUNCH: &str =
    "the user must relaunch the experiment from the platform (\"我要做实验\") to get a new ticket";

/// Which operation a code answers: the two tables differ from code 3 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// §1.1, exchanging a ticket.
    Exchange,
    /// §1.2, refreshing.
    Refresh,
    /// §1.4, reporting a result (`data_upload`).
    Upload,
    /// §1.4, reading results back (`data_get`).
    DataGet,
}

impl Operation {
    /// `exchange` or `refresh`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exchange => "exchange",
            Self::Refresh => "refresh",
            Self::Upload => "result upload",
            Self::DataGet => "result read-back",
        }
    }
}

/// The English meaning of `code` for `operation`, and whether only a relaunch helps.
pub fn meaning(operation: Operation, code: i64) -> (String, bool) {
    use Operation::{DataGet, Exchange, Refresh, Upload};
    let (text, reauth) = match (operation, code) {
        (Upload | DataGet, 1) => ("missing parameter (access_token)".to_owned(), false),
        (Upload | DataGet, 2) => (
            "the access token is no longer valid (expired, refreshed away or revoked)".to_owned(),
            false,
        ),
        (Upload, 3) => (
            "the platform refused the record (its message names the field)".to_owned(),
            false,
        ),
        (DataGet, 3) => (
            "signature mismatch or wrong appid: check the appid and secret".to_owned(),
            false,
        ),
        (Upload, _) => (
            "unrecognised code: the platform refused the record".to_owned(),
            false,
        ),
        (DataGet, _) => (
            "unrecognised code: system error or illegal request".to_owned(),
            false,
        ),
        (Exchange, 1) => (
            "missing parameter (ticket, appid or signature)".to_owned(),
            false,
        ),
        (Refresh, 1) => (
            "missing parameter (refresh token, appid or signature)".to_owned(),
            false,
        ),
        (_, 2) => (
            "signature mismatch: check the appid and secret, and that the value was \
             percent-decoded exactly once before hashing"
                .to_owned(),
            false,
        ),
        (Exchange, 3) => (format!("ticket expired; {RELAUNCH}"), true),
        (Exchange, 4) => (
            format!("invalid ticket (unknown, or already exchanged); {RELAUNCH}"),
            true,
        ),
        (Refresh, 3) => (format!("invalid refresh token; {RELAUNCH}"), true),
        (Refresh, 4) => (
            format!(
                "not the grant's original token (a refreshed token cannot start a new \
                 refresh chain); {RELAUNCH}"
            ),
            true,
        ),
        (Refresh, 5) => (
            format!("refresh limit reached (2 refreshes per grant); {RELAUNCH}"),
            true,
        ),
        (Exchange, _) => ("system error or illegal operation".to_owned(), false),
        (Refresh, _) => ("illegal request or system error".to_owned(), false),
    };
    (text, reauth)
}

/// The typed error for a non-zero `code` (kept as the platform sent it).
pub fn rejected(operation: Operation, code: &str, message: Option<String>) -> Error {
    let (meaning, reauth_required) = match code.trim().parse::<i64>() {
        Ok(n) => meaning(operation, n),
        Err(_) => (
            format!(
                "unrecognised code during {}: system error or illegal request",
                operation.name()
            ),
            false,
        ),
    };
    Error::rejected(
        PLATFORM,
        code,
        message.unwrap_or_default(),
        meaning,
        reauth_required,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        use Operation::{Exchange, Refresh};
        let cases = [
            (Exchange, 1, "missing parameter", false),
            (Exchange, 2, "signature mismatch", false),
            (Exchange, 3, "ticket expired", true),
            (Exchange, 4, "invalid ticket", true),
            (Exchange, 9, "system error or illegal operation", false),
            (Refresh, 1, "missing parameter", false),
            (Refresh, 2, "signature mismatch", false),
            (Refresh, 3, "invalid refresh token", true),
            (Refresh, 4, "original", true),
            (Refresh, 5, "refresh limit reached", true),
            (Refresh, -1, "illegal request or system error", false),
        ];
        for (op, code, text, reauth) in cases {
            let (meaning, r) = meaning(op, code);
            assert!(meaning.contains(text), "{op:?} {code}: {meaning}");
            assert_eq!(r, reauth, "{op:?} {code}");
            if reauth {
                assert!(meaning.contains("relaunch"), "{meaning}");
            }
        }
    }

    #[test]
    fn rejected_keeps_the_platform_message() {
        let err = rejected(
            Operation::Refresh,
            "5",
            Some("请重新获取access_token".into()),
        );
        assert_eq!(err.platform_code(), Some("5"));
        assert_eq!(err.platform_message(), Some("请重新获取access_token"));
        assert!(err.is_reauth_required());
        let text = err.to_string();
        assert!(
            text.contains("code 5") && text.contains("refresh limit"),
            "{text}"
        );
        let odd = rejected(Operation::Exchange, "E42", None);
        assert!(odd.to_string().contains("unrecognised code"), "{odd}");
    }
}
