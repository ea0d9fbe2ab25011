//! TLS material of `rediss://`: which certificates to trust (the system trust store, or
//! exactly the CA the user gives), the optional client certificate (mutual TLS), and
//! the process's rustls crypto provider.
//!
//! Files are read and checked when the store is built, so a wrong path or a file that
//! is not PEM is a configuration error naming the path and the option that gave it,
//! not a handshake failure later. Paths are not secret; the key's contents are never
//! printed, and our copy of it is wiped once the redis crate has its own.

use std::io;
use std::path::{Path, PathBuf};

use redis::{ClientTlsConfig, TlsCertificates};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokenkit_core::Error;
use zeroize::Zeroizing;

/// Certificates in PEM, from a file or given as bytes.
#[derive(Clone)]
pub(crate) enum Pem {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// The CA to trust instead of the system store, and the option that named it (for
/// errors: `ca_file`, `ca_pem`, `ca=`).
#[derive(Clone)]
pub(crate) struct Ca {
    pub(crate) pem: Pem,
    pub(crate) option: &'static str,
}

/// A client certificate chain and its private key, as PEM files.
#[derive(Clone)]
pub(crate) struct ClientCert {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) option: &'static str,
}

/// What the redis crate needs to connect with `ca` (or the system store) and `client`.
pub(crate) fn certificates(
    ca: Option<&Ca>,
    client: Option<&ClientCert>,
) -> Result<TlsCertificates, Error> {
    let root_cert = ca.map(trust_anchors).transpose()?;
    let client_tls = client.map(client_identity).transpose()?;
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}

/// The CA's PEM, after checking that it holds at least one certificate usable as a
/// trust anchor.
fn trust_anchors(ca: &Ca) -> Result<Vec<u8>, Error> {
    let (pem, what) = match &ca.pem {
        Pem::File(path) => (
            read(path, "CA file", ca.option)?.to_vec(),
            format!("the CA file {} ({})", path.display(), ca.option),
        ),
        Pem::Bytes(bytes) => (bytes.clone(), format!("the CA ({})", ca.option)),
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| tls_config(format!("{what} is not PEM")))?;
    if certs.is_empty() {
        return Err(tls_config(format!(
            "{what} holds no certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    let mut store = RootCertStore::empty();
    for cert in certs {
        store
            .add(cert)
            .map_err(|_| tls_config(format!("{what} holds a certificate that is not a CA")))?;
    }
    Ok(pem)
}

/// The client certificate chain and key, checked.
fn client_identity(client: &ClientCert) -> Result<ClientTlsConfig, Error> {
    let what =
        |kind: &str, path: &Path| format!("the {kind} {} ({})", path.display(), client.option);
    let cert = read(&client.cert, "client certificate file", client.option)?;
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            tls_config(format!(
                "{} is not PEM",
                what("client certificate", &client.cert)
            ))
        })?;
    if chain.is_empty() {
        return Err(tls_config(format!(
            "{} holds no certificate (-----BEGIN CERTIFICATE-----)",
            what("client certificate", &client.cert)
        )));
    }
    let key = read(&client.key, "client key file", client.option)?;
    if PrivateKeyDer::from_pem_slice(&key).is_err() {
        return Err(tls_config(format!(
            "{} holds no private key in PEM (PKCS#8, PKCS#1 or SEC1)",
            what("client key", &client.key)
        )));
    }
    Ok(ClientTlsConfig {
        client_cert: cert.to_vec(),
        client_key: key.to_vec(),
    })
}

/// The whole file, wiped when dropped (it may be a private key).
fn read(path: &Path, kind: &str, option: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    std::fs::read(path).map(Zeroizing::new).map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::NotFound => "it does not exist".to_owned(),
            io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            kind => kind.to_string(),
        };
        tls_config(format!(
            "the {kind} {} ({option}) cannot be read: {why}",
            path.display()
        ))
    })
}

fn tls_config(reason: String) -> Error {
    Error::config(format!("redis TLS: {reason}"))
}

/// The redis crate builds its rustls configuration with the process-wide default
/// crypto provider, and rustls panics when there is none it can choose. So before a
/// TLS client is built: with the `rustls` feature, aws-lc-rs is installed if no
/// provider is; without it, the application must have installed one, and if it has
/// not this is a clear error instead of that panic.
pub(crate) fn ensure_crypto_provider() -> Result<(), Error> {
    if rustls::crypto::CryptoProvider::get_default().is_some() {
        return Ok(());
    }
    install_default_provider()
}

#[cfg(feature = "rustls")]
fn install_default_provider() -> Result<(), Error> {
    // Another thread may install one between our check and this: theirs stays, and
    // is as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Ok(())
}

#[cfg(not(feature = "rustls"))]
fn install_default_provider() -> Result<(), Error> {
    Err(Error::config(
        "rediss:// needs a rustls crypto provider: install one with \
         rustls::crypto::CryptoProvider::install_default before connecting \
         (or enable the `rustls` feature for aws-lc-rs)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "tokenkit-tls-unit-{}-{}",
                std::process::id(),
                fastrand::u64(..)
            ));
            std::fs::create_dir_all(&dir).expect("dir");
            Self(dir)
        }

        fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).expect("write");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ca(pem: Pem) -> Ca {
        Ca { pem, option: "ca=" }
    }

    #[test]
    fn a_missing_or_non_pem_ca_is_a_config_error_naming_path_and_option() {
        let missing = std::env::temp_dir().join("tokenkit-no-such-ca.pem");
        let err =
            certificates(Some(&ca(Pem::File(missing.clone()))), None).expect_err("missing file");
        let text = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(text.contains(&missing.display().to_string()), "{text}");
        assert!(
            text.contains("(ca=)") && text.contains("does not exist"),
            "{text}"
        );

        let dir = TempDir::new();
        let garbage = dir.file("ca.pem", b"not a certificate at all");
        let err = certificates(Some(&ca(Pem::File(garbage.clone()))), None).expect_err("no PEM");
        let text = err.to_string();
        assert!(text.contains("holds no certificate"), "{text}");
        assert!(text.contains(&garbage.display().to_string()), "{text}");

        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = certificates(
            Some(&Ca {
                pem: Pem::Bytes(broken.to_vec()),
                option: "ca_pem",
            }),
            None,
        )
        .expect_err("broken PEM");
        assert!(
            err.to_string().contains("the CA (ca_pem) is not PEM"),
            "{err}"
        );
    }

    #[test]
    fn a_key_file_that_is_no_key_is_refused_without_its_contents() {
        let secret = b"SENTINEL-KEY-4e1f not a key";
        let dir = TempDir::new();
        let key = dir.file("key.pem", secret);
        // A certificate is needed first: any PEM certificate block parses as one.
        let cert = dir.file(
            "cert.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let client = ClientCert {
            cert,
            key: key.clone(),
            option: "client_cert",
        };
        let err = certificates(None, Some(&client)).expect_err("no key");
        let text = format!("{err} {err:?}");
        assert!(text.contains("holds no private key"), "{text}");
        assert!(text.contains(&key.display().to_string()), "{text}");
        assert!(!text.contains("SENTINEL-KEY"), "{text}");
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn with_the_rustls_feature_a_provider_is_installed_when_none_is() {
        ensure_crypto_provider().expect("installed");
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        // And again, now that one is installed.
        ensure_crypto_provider().expect("still fine");
    }
}
