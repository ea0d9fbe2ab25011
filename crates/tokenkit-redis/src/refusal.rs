//! Failures that no retry will mend, said so: the TLS handshake failed (an untrusted
//! or misnamed server certificate, a client certificate the server wants or refuses),
//! the server refused our credentials, or the ACL user may not do what the store does.
//! They are non-transient store errors, so a cache reports them instead of retrying.
//!
//! What is said comes from the error's kind — rustls's error, the server's error
//! code — never from the server's free text beyond the name of a refused command (a
//! reply could echo arguments, and arguments hold tokens).

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use rustls::{AlertDescription, CertificateError};

/// Where the rule a store's ACL user needs is documented.
const SEE_RULE: &str =
    "see tokenkit_redis::acl::minimal_rule, or minimal_cluster_rule on a Redis Cluster";

/// What was refused, if `e` is such a failure.
pub(crate) fn describe(e: &RedisError) -> Option<String> {
    if let Some(tls) = rustls_error(e) {
        return Some(format!("TLS: {}", tls_failure(tls)));
    }
    if e.kind() == ErrorKind::AuthenticationFailed || e.code() == Some("WRONGPASS") {
        return Some(
            "authentication failed (WRONGPASS: wrong username or password, or the user is \
             disabled)"
                .to_owned(),
        );
    }
    match e.code() {
        Some("NOAUTH") => {
            return Some(
                "authentication required (NOAUTH): the server wants a username and password"
                    .to_owned(),
            );
        }
        Some("NOPERM") => return Some(format!("{} (NOPERM; {SEE_RULE})", refused(e.detail()))),
        _ => {}
    }
    // A command refused inside a script is reported as a plain error by Redis 7.
    let detail = e.detail().unwrap_or_default();
    if matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ResponseError))
        && detail.starts_with("The user executing the script can't")
    {
        return Some(format!(
            "{} (NOPERM; {SEE_RULE})",
            refused_in_script(detail)
        ));
    }
    None
}

/// The rustls error inside `e`'s chain. The redis crate keeps an I/O error behind an
/// `Arc`, and an `io::Error` shows the error it wraps only through `get_ref`.
fn rustls_error(e: &RedisError) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(error) = next {
        let inner: &(dyn StdError + 'static) =
            match error.downcast_ref::<Arc<dyn StdError + Send + Sync>>() {
                Some(shared) => shared.as_ref(),
                None => error,
            };
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = inner
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|wrapped| wrapped.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = inner.source();
    }
    None
}

fn tls_failure(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(cert) => server_certificate(cert),
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (CertificateRequired): give one with \
             client_cert or ?cert=PATH&key=PATH"
                .to_owned()
        }
        E::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied),
        ) => format!("the server refused the client certificate ({alert:?})"),
        // What OpenSSL (the server of redis-server) says to a client certificate of a
        // CA it does not trust.
        E::AlertReceived(AlertDescription::DecryptError) => {
            "the server could not verify the handshake (DecryptError): does it trust the \
             client certificate?"
                .to_owned()
        }
        E::AlertReceived(alert) => format!("the server ended the handshake ({alert:?})"),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => {
            "the handshake failed: the server does not speak TLS there, or not as expected"
                .to_owned()
        }
        E::PeerIncompatible(_) => {
            "the server's TLS is incompatible (no common protocol version or cipher suite)"
                .to_owned()
        }
        _ => "the handshake failed".to_owned(),
    }
}

fn server_certificate(e: &CertificateError) -> String {
    use CertificateError as C;
    let what = match e {
        C::UnknownIssuer => {
            "is not trusted by the configured CA, or by the system trust store if none is \
             configured (UnknownIssuer): name the server's CA with ca_file or ?ca=PATH"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "is not valid for the host name of the URL (NotValidForName)"
        }
        C::Expired | C::ExpiredContext { .. } => "has expired (Expired)",
        C::NotValidYet | C::NotValidYetContext { .. } => "is not valid yet (NotValidYet)",
        C::Revoked => "is revoked (Revoked)",
        C::BadSignature => "has a bad signature (BadSignature)",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "is not for a server (InvalidPurpose)"
        }
        C::BadEncoding => "cannot be parsed (BadEncoding)",
        _ => "was refused",
    };
    format!("the server's certificate {what}")
}

/// What a top-level `NOPERM` refused: `this user has no permissions to run the 'get'
/// command`, `… to access one of the keys …`, `… one of the channels …`.
fn refused(detail: Option<&str>) -> String {
    let detail = detail.unwrap_or_default();
    if detail.contains("command") {
        return match command_name(detail) {
            Some(name) => format!("the ACL user may not run the command {name:?}"),
            None => "the ACL user may not run a command the store uses".to_owned(),
        };
    }
    if detail.contains("channel") {
        return "the ACL user may not use the store's channels (its &pattern does not cover \
                the prefix)"
            .to_owned();
    }
    if detail.contains("key") {
        return "the ACL user may not access the store's keys (its ~pattern does not cover \
                the prefix)"
            .to_owned();
    }
    "the ACL user may not do this".to_owned()
}

/// What a command inside a script was refused: `The user executing the script can't
/// run this command or subcommand`, `… can't publish to the channel …`, `… can't
/// access at least one of the keys …`.
fn refused_in_script(detail: &str) -> String {
    let what = if detail.contains("channel") {
        "use the store's channels (its &pattern does not cover the prefix)"
    } else if detail.contains("key") {
        "access the store's keys (its ~pattern does not cover the prefix)"
    } else {
        "run a command the store's scripts use"
    };
    format!("inside a store script, the ACL user may not {what}")
}

/// The name between quotes in `… run the 'get' command`, if it looks like a command
/// name (Redis puts its own name of the command there, not an argument).
fn command_name(detail: &str) -> Option<&str> {
    let (_, rest) = detail.split_once('\'')?;
    let (name, _) = rest.split_once('\'')?;
    (!name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'|' || b == b'-' || b == b'_'
        }))
    .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_io(e: rustls::Error) -> RedisError {
        io::Error::new(io::ErrorKind::InvalidData, e).into()
    }

    #[test]
    fn tls_failures_are_found_behind_the_io_error() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "TLS: the server's certificate is not trusted by the configured CA",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                "not valid for the host name",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                "requires a client certificate",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::UnknownCA),
                "refused the client certificate (UnknownCA)",
            ),
        ];
        for (error, text) in cases {
            let described = describe(&tls_io(error)).expect("a TLS failure");
            assert!(described.contains(text), "{described}");
        }
        // A plain I/O failure is none of these.
        let reset: RedisError = io::Error::new(io::ErrorKind::ConnectionReset, "x").into();
        assert_eq!(describe(&reset), None);
    }

    #[test]
    fn refusals_name_the_kind_of_thing_never_the_servers_text() {
        let noperm = |detail: &str| {
            redis::make_extension_error("NOPERM".to_owned(), Some(detail.to_owned()))
        };
        let e = noperm("this user has no permissions to run the 'time' command");
        let text = describe(&e).expect("noperm");
        assert!(
            text.contains("may not run the command \"time\"") && text.contains("NOPERM"),
            "{text}"
        );
        let e = noperm("this user has no permissions to access one of the keys used as arguments");
        assert!(describe(&e).expect("noperm").contains("store's keys"));
        let e =
            noperm("this user has no permissions to access one of the channels used as arguments");
        assert!(describe(&e).expect("noperm").contains("store's channels"));
        // A quoted "name" that is no command name is not repeated.
        let e = noperm("this user has no permissions to run the 'SENTINEL tok3n' command");
        let text = describe(&e).expect("noperm");
        assert!(!text.contains("SENTINEL"), "{text}");
        assert_eq!(
            command_name("run the 'client|setinfo' command"),
            Some("client|setinfo")
        );
    }
}
