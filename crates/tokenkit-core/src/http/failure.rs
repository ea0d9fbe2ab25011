//! Transport failures as typed errors: which ones are transient, which ones an unknown
//! outcome, and which ones only a change of configuration fixes (an untrusted
//! certificate, a proxy refusing its credentials, a redirect a user's client followed).
//!
//! reqwest's own messages are never kept: they name the URL, whose query may hold a
//! ticket, a signature or a token, and a proxy's URL may hold its password.

use std::error::Error as StdError;

use super::Spend;
use crate::Error;
use crate::error::TransientKind;

/// Classifies a transport error of a request made at `started`.
pub(crate) fn transport_error(
    platform: &'static str,
    e: &reqwest::Error,
    spend: Spend,
    started: tokio::time::Instant,
) -> Error {
    let transient = |kind| Error::Transient {
        platform,
        kind,
        status: None,
        excerpt: String::new(),
    };
    if e.is_builder() {
        return Error::config(format!(
            "{platform}: the request could not be built (check the base URL)"
        ));
    }
    if let Some(error) = needs_configuration(platform, e) {
        return error;
    }
    if e.is_connect() {
        return transient(TransientKind::Connect);
    }
    match spend {
        Spend::Yes(operation) => Error::OutcomeUnknown {
            platform,
            operation,
            waited: started.elapsed(),
            // Not a timeout: the connection broke before an answer arrived.
            cut_off: (!e.is_timeout()).then_some(crate::CutOff {
                status: None,
                received: 0,
            }),
        },
        Spend::No if e.is_timeout() => transient(TransientKind::Timeout),
        Spend::No => transient(TransientKind::Interrupted),
    }
}

/// A failure no retry can fix: the server's certificate is not trusted, or the proxy
/// wants other credentials. Nothing was sent to the platform in either case.
fn needs_configuration(platform: &'static str, e: &reqwest::Error) -> Option<Error> {
    for cause in causes(e) {
        if let Some(why) = certificate_problem(cause) {
            return Some(Error::config(format!(
                "{platform}: the server's TLS certificate {why}"
            )));
        }
        // hyper-util's tunnel (CONNECT) error for a `407` answer of the proxy: "tunnel
        // error: proxy authorization required" (its type is not public).
        if cause.to_string().ends_with("proxy authorization required") {
            return Some(proxy_refused(platform));
        }
    }
    None
}

/// The proxy answered `407 Proxy Authentication Required`.
pub(super) fn proxy_refused(platform: &'static str) -> Error {
    Error::config(format!(
        "{platform}: the proxy refused the request (HTTP 407 Proxy Authentication \
         Required): check the user and password of the proxy URL"
    ))
}

/// An answer whose final URL is not the request's: the client (a user's own) followed a
/// redirect. Only the target's scheme, host, port and path are named.
pub(crate) fn redirected(platform: &'static str, to: &reqwest::Url) -> Error {
    let port = to.port().map(|p| format!(":{p}")).unwrap_or_default();
    Error::config(format!(
        "{platform}: the HTTP client followed a redirect (to {}://{}{port}{}) and tokenkit \
         refuses the answer: a followed redirect may carry the request's secrets elsewhere; \
         build the client with redirect(reqwest::redirect::Policy::none())",
        to.scheme(),
        to.host_str().unwrap_or_default(),
        to.path()
    ))
}

/// The chain of causes, into the error an `io::Error` wraps (whose `source()` skips it).
fn causes(e: &reqwest::Error) -> Vec<&(dyn StdError + 'static)> {
    let mut out: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push(cause);
        if out.len() > 32 {
            break;
        }
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    out
}

/// What is wrong with the server's certificate, if `cause` says so.
fn certificate_problem(cause: &(dyn StdError + 'static)) -> Option<String> {
    #[cfg(any(feature = "rustls", feature = "rustls-no-provider"))]
    if let Some(rustls::Error::InvalidCertificate(problem)) = cause.downcast_ref::<rustls::Error>()
    {
        use rustls::CertificateError as C;
        return Some(match problem {
            C::UnknownIssuer | C::Other(_) => untrusted(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "is not valid for the host name of the URL".into()
            }
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                "is expired or not yet valid (check the local clock)".into()
            }
            other => format!("was rejected ({other:?})"),
        });
    }
    // OpenSSL (native-tls): `certificate verify failed` in its error string.
    cause
        .to_string()
        .contains("certificate verify failed")
        .then(untrusted)
}

fn untrusted() -> String {
    "is not trusted (its issuer is no CA the client trusts); if a private CA signed it \
     (a campus CA, a TLS-inspecting proxy), trust that CA: HttpConfig::ca_file \
     (tokenkit --ca-file; the agent's http.ca_file)"
        .into()
}

/// An answer whose status arrived but whose body broke off: for a spending operation the
/// outcome is unknown *because the answer was cut*, not because none came (the waiting
/// time says nothing then).
pub(super) fn cut_off(error: Error, status: u16, received: usize) -> Error {
    match error {
        Error::OutcomeUnknown {
            platform,
            operation,
            waited,
            ..
        } => Error::OutcomeUnknown {
            platform,
            operation,
            waited,
            cut_off: Some(crate::CutOff {
                status: Some(status),
                received,
            }),
        },
        other => other,
    }
}
