//! The classification and the wording of errors.

use super::*;

fn rejected(reauth: bool) -> Error {
    Error::rejected(
        "ilab",
        "5",
        "请重新获取access_token",
        "refresh limit reached",
        reauth,
    )
}

#[test]
fn classification_table() {
    let transient = Error::Transient {
        platform: "ac",
        kind: TransientKind::ServerError,
        status: Some(502),
        excerpt: String::new(),
    };
    let cases: Vec<(Error, bool, bool)> = vec![
        (transient, true, false),
        (rejected(true), false, true),
        (rejected(false), false, false),
        (Error::malformed("bo", "not JSON", b"<html>"), false, false),
        (
            Error::OutcomeUnknown {
                platform: "ilab",
                operation: "refresh",
                waited: Duration::from_secs(10),
                cut_off: None,
            },
            false,
            false,
        ),
        (Error::reauth("ilab", "relaunch"), false, true),
        (Error::config("bad key"), false, false),
        (Error::store("down", true), true, false),
        (Error::store("corrupt", false), false, false),
        (
            Error::LeaseWaitTimeout {
                waited: Duration::from_secs(1),
            },
            true,
            false,
        ),
    ];
    for (err, transient, reauth) in cases {
        assert_eq!(err.is_transient(), transient, "{err}");
        assert_eq!(err.is_reauth_required(), reauth, "{err}");
    }
}

#[test]
fn platform_code_and_message() {
    let err = rejected(true);
    assert_eq!(err.platform_code(), Some("5"));
    assert_eq!(err.platform_message(), Some("请重新获取access_token"));
    assert_eq!(err.platform(), Some("ilab"));
    let text = err.to_string();
    assert!(
        text.contains("code 5") && text.contains("refresh limit reached"),
        "{text}"
    );
    assert_eq!(Error::config("x").platform_code(), None);
    let detailed = rejected(false)
        .with_detail("errorCode", "E1")
        .with_detail("errorText", "bad");
    assert_eq!(detailed.platform_detail("errorCode"), Some("E1"));
    assert_eq!(detailed.platform_detail("nope"), None);
    assert!(
        detailed
            .to_string()
            .contains("[errorCode \"E1\", errorText \"bad\"]"),
        "{detailed}"
    );
}
