//! The `reqwest::Client` built for an [`HttpConfig`]: no redirects, the timeouts, the
//! proxy, extra trusted CAs, and the TLS stack the crate's features chose.
//!
//! TLS features (docs/http.md): `rustls` (aws-lc-rs), `rustls-no-provider` (the
//! program installs a rustls crypto provider), `native-tls`. When a rustls feature and
//! `native-tls` are both enabled (features unify across a build), rustls is used: the
//! default build is the tested one.

use super::USER_AGENT;
use super::config::{HttpConfig, ProxyChoice};
use super::proxy;
use crate::Error;

/// Builds the client of `config` for `platform` (named in errors).
pub(super) fn client(
    platform: &'static str,
    config: &HttpConfig,
) -> Result<reqwest::Client, Error> {
    let builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout);
    let builder = tls(platform, builder, config)?;
    let builder = match (&config.proxy, &config.proxy_bypass) {
        (ProxyChoice::Environment, None) => builder,
        (ProxyChoice::Explicit(url), bypass) => {
            // Adding a proxy turns reqwest's reading of the environment off.
            builder.proxy(proxy::explicit(
                platform,
                url.expose_secret(),
                bypass.as_deref(),
            )?)
        }
        (ProxyChoice::Direct, None) => builder.no_proxy(),
        (_, Some(_)) => {
            return Err(Error::config(format!(
                "{platform}: a proxy bypass list applies to an explicit proxy; set one with HttpConfig::proxy"
            )));
        }
    };
    // reqwest's message is not kept: a builder error may quote a setting.
    builder
        .build()
        .map_err(|_| Error::config(format!("{platform}: the HTTP client could not be built")))
}

#[cfg(any(
    feature = "rustls",
    feature = "rustls-no-provider",
    feature = "native-tls"
))]
fn tls(
    platform: &'static str,
    builder: reqwest::ClientBuilder,
    config: &HttpConfig,
) -> Result<reqwest::ClientBuilder, Error> {
    #[cfg(any(feature = "rustls", feature = "rustls-no-provider"))]
    let builder = {
        provider_installed(platform)?;
        builder.tls_backend_rustls()
    };
    let mut roots = Vec::new();
    for root in &config.roots {
        roots.extend(certificates(platform, root)?);
    }
    Ok(if roots.is_empty() {
        builder
    } else {
        builder.tls_certs_merge(roots)
    })
}

/// Without a TLS feature, plain HTTP only (the sandbox's own build); extra CAs cannot
/// be honoured, which is said rather than ignored.
#[cfg(not(any(
    feature = "rustls",
    feature = "rustls-no-provider",
    feature = "native-tls"
)))]
fn tls(
    platform: &'static str,
    builder: reqwest::ClientBuilder,
    config: &HttpConfig,
) -> Result<reqwest::ClientBuilder, Error> {
    if config.roots.is_empty() {
        Ok(builder)
    } else {
        Err(Error::config(format!(
            "{platform}: an extra trusted CA needs TLS, and tokenkit was built without it \
             (enable the feature rustls, rustls-no-provider or native-tls)"
        )))
    }
}

/// The certificates of one extra CA setting: at least one, or a configuration error.
#[cfg(any(
    feature = "rustls",
    feature = "rustls-no-provider",
    feature = "native-tls"
))]
fn certificates(
    platform: &'static str,
    root: &super::config::RootCa,
) -> Result<Vec<reqwest::Certificate>, Error> {
    use super::config::RootCa;
    let (pem, what) = match root {
        RootCa::Pem(pem) => (
            std::borrow::Cow::Borrowed(pem.as_slice()),
            "the CA certificate".to_owned(),
        ),
        RootCa::File(path) => {
            let what = format!("the CA file {}", path.display());
            let pem = std::fs::read(path).map_err(|e| {
                Error::config(format!("{platform}: cannot read {what}: {}", e.kind()))
            })?;
            (std::borrow::Cow::Owned(pem), what)
        }
    };
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
        Error::config(format!(
            "{platform}: {what} is not PEM (-----BEGIN CERTIFICATE-----)"
        ))
    })?;
    if certificates.is_empty() {
        return Err(Error::config(format!(
            "{platform}: {what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certificates)
}

/// With `rustls-no-provider` alone, reqwest panics when it builds a client and no
/// process-wide crypto provider is installed; this says so as an error first.
#[cfg(any(feature = "rustls", feature = "rustls-no-provider"))]
fn provider_installed(platform: &'static str) -> Result<(), Error> {
    #[cfg(all(feature = "rustls-no-provider", not(feature = "rustls")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(Error::config(format!(
            "{platform}: tokenkit was built with the feature rustls-no-provider and no rustls \
             crypto provider is installed: install one before building a client, e.g. \
             rustls::crypto::ring::default_provider().install_default()"
        )));
    }
    let _ = platform;
    Ok(())
}
