//! `rediss://` against a real TLS-only `redis-server` with certificates generated at
//! test time: the fleet works over TLS; every way TLS can fail is a clear,
//! non-transient error found with one connection attempt; no password shows.

#[path = "support/flow.rs"]
mod flow;
mod support;
#[path = "support/tls.rs"]
mod tls;

use std::time::Duration;

use tokenkit_core::{Error, TokenStore};
use tokenkit_redis::{RedisStore, RedisStoreBuilder};

use tls::{ClientAuth, Forwarder, TlsServer, query_path, test_sized};

const PW: &str = "SENTINEL-PW-tls-5b7e";

/// Starts a TLS server, or returns from the test if there is none (outside CI).
macro_rules! tls_or_skip {
    ($auth:expr) => {
        match TlsServer::start($auth) {
            Some(server) => server,
            None => return,
        }
    };
}

/// `connect()`'s error through a [`Forwarder`] on `ip` (`make` gets its port),
/// checked to be a failure for good that shows no password, after exactly one
/// connection attempt (no retries of a hopeless handshake). `None` if `ip` cannot be
/// bound here.
async fn refused_once_via(
    server: &TlsServer,
    ip: &str,
    make: impl FnOnce(u16) -> RedisStoreBuilder,
) -> Option<String> {
    let forwarder = Forwarder::start(ip, server.server.port()).await?;
    let err = make(forwarder.port())
        // Long enough that a retried attempt would still be within it.
        .operation_timeout(Duration::from_secs(20))
        .connect()
        .await
        .expect_err("refused");
    assert_eq!(forwarder.accepted(), 1, "{err}");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(!text.contains(PW), "{text}");
    Some(text)
}

/// [`refused_once_via`] 127.0.0.1, and non-transient.
async fn refused_once(server: &TlsServer, make: impl FnOnce(u16) -> RedisStoreBuilder) -> String {
    let text = refused_once_via(server, "127.0.0.1", make)
        .await
        .expect("127.0.0.1");
    assert!(!text.contains("transient: true"), "{text}");
    text
}

/// A store builder for `rediss://127.0.0.1:PORT/` with test-sized timeouts.
fn tls_at(port: u16) -> RedisStoreBuilder {
    test_sized(RedisStore::builder(format!("rediss://127.0.0.1:{port}/")))
}

#[tokio::test]
async fn a_fleet_works_over_tls_with_the_ca_in_the_url_or_the_builder() {
    let server = tls_or_skip!(ClientAuth::No);
    let from_url = test_sized(RedisStore::builder(server.url_with_ca()))
        .connect()
        .await
        .expect("?ca= connects");
    let from_builder = server.store().await;
    flow::every_operation(&from_url, &from_builder, "tls").await;
}

#[tokio::test]
async fn the_server_refuses_a_plain_connection_at_once_and_says_to_use_rediss() {
    let server = tls_or_skip!(ClientAuth::No);
    let text = refused_once_via(&server, "127.0.0.1", |port| {
        test_sized(RedisStore::builder(format!(
            "redis://:{PW}@127.0.0.1:{port}/"
        )))
    })
    .await
    .expect("127.0.0.1");
    assert!(text.contains("use rediss://"), "{text}");
}

#[tokio::test]
async fn a_wrong_ca_is_a_clear_error_for_good() {
    let server = tls_or_skip!(ClientAuth::No);
    let text = refused_once(&server, |port| {
        tls_at(port)
            .ca_file(&server.pki.other_ca)
            .credentials("default", PW)
    })
    .await;
    assert!(
        text.contains(
            "redis connect: TLS: the server's certificate is not trusted by the configured CA"
        ),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
    // The same CA as PEM bytes, and in the URL.
    let pem = std::fs::read(&server.pki.other_ca).expect("read");
    let text = refused_once(&server, |port| tls_at(port).ca_pem(pem)).await;
    assert!(text.contains("UnknownIssuer"), "{text}");
    let text = refused_once(&server, |port| {
        let url = format!(
            "rediss://:{PW}@127.0.0.1:{port}/?ca={}",
            query_path(&server.pki.other_ca)
        );
        test_sized(RedisStore::builder(url))
    })
    .await;
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[tokio::test]
async fn without_a_ca_the_system_trust_store_does_not_trust_a_private_ca() {
    let server = tls_or_skip!(ClientAuth::No);
    let text = refused_once(&server, tls_at).await;
    assert!(
        text.contains("TLS: the server's certificate is not trusted"),
        "{text}"
    );
}

#[tokio::test]
async fn a_host_name_the_certificate_does_not_hold_is_refused() {
    let server = tls_or_skip!(ClientAuth::No);
    let url = format!("rediss://localhost:{}/", server.server.port());
    let store = test_sized(RedisStore::builder(url))
        .ca_file(&server.pki.ca)
        .connect()
        .await
        .expect("localhost is in the certificate");
    store.ping().await.expect("ping");
    // The certificate names 127.0.0.1 and localhost, not 127.0.0.2 (a loopback
    // address too on Linux: the forwarder listens there).
    let refused = refused_once_via(&server, "127.0.0.2", |port| {
        test_sized(RedisStore::builder(format!("rediss://127.0.0.2:{port}/")))
            .ca_file(&server.pki.ca)
    })
    .await;
    match refused {
        Some(text) => assert!(text.contains("not valid for the host name"), "{text}"),
        None => eprintln!("NOTICE: 127.0.0.2 cannot be bound here; name check not run"),
    }
}

#[tokio::test]
async fn a_server_that_wants_a_client_certificate_gets_one_or_a_clear_error() {
    let server = tls_or_skip!(ClientAuth::Required);
    // From the builder (TlsServer::store) and from the URL.
    let with_builder = server.store().await;
    let with_url = test_sized(RedisStore::builder(server.url_with_client_cert()))
        .connect()
        .await
        .expect("cert= and key= in the URL");
    flow::every_operation(&with_builder, &with_url, "mtls").await;

    let text = refused_once(&server, |port| {
        tls_at(port)
            .ca_file(&server.pki.ca)
            .credentials("default", PW)
    })
    .await;
    assert!(
        text.contains("TLS: the server requires a client certificate"),
        "{text}"
    );
    // A client certificate of another CA is refused by the server.
    let other = tls::Pki::generate();
    let text = refused_once(&server, |port| {
        tls_at(port)
            .ca_file(&server.pki.ca)
            .client_cert(&other.client_cert, &other.client_key)
    })
    .await;
    assert!(
        text.contains("TLS: the server") && text.contains("client certificate"),
        "{text}"
    );
}

#[tokio::test]
async fn a_lazily_built_store_reports_the_tls_failure_at_its_first_operation() {
    let server = tls_or_skip!(ClientAuth::No);
    let store = RedisStore::builder(server.url())
        .ca_file(&server.pki.other_ca)
        // The connection manager retries the handshake a few times before it gives up.
        .operation_timeout(Duration::from_secs(20))
        .build()
        .expect("built lazily");
    let err = store.load("k").await.expect_err("untrusted");
    assert!(!err.is_transient(), "{err}");
    assert!(
        err.to_string()
            .contains("redis load: TLS: the server's certificate is not trusted"),
        "{err}"
    );
}

#[tokio::test]
async fn certificate_files_that_cannot_be_used_are_config_errors_naming_path_and_option() {
    let server = tls_or_skip!(ClientAuth::No);
    let missing = server.pki.dir().join("missing-ca.pem");
    let url = format!("rediss://:{PW}@127.0.0.1:1/?ca={}", query_path(&missing));
    let err = RedisStore::builder(url).build().expect_err("missing CA");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        text.contains(&missing.display().to_string()) && text.contains("(ca=)"),
        "{text}"
    );
    assert!(!text.contains(PW), "{text}");

    // A key where the CA should be: PEM, but no certificate.
    let err = RedisStore::builder(server.url())
        .ca_file(&server.pki.client_key)
        .build()
        .expect_err("not a CA");
    let text = err.to_string();
    assert!(
        text.contains("holds no certificate") && text.contains("(ca_file)"),
        "{text}"
    );

    // A certificate where the key should be.
    let err = RedisStore::builder(server.url())
        .ca_file(&server.pki.ca)
        .client_cert(&server.pki.client_cert, &server.pki.client_cert)
        .build()
        .expect_err("no key");
    assert!(err.to_string().contains("holds no private key"), "{err}");
}

#[tokio::test]
async fn insecure_is_refused_this_store_always_verifies() {
    let server = tls_or_skip!(ClientAuth::No);
    let url = format!(
        "rediss://:{PW}@127.0.0.1:{}/#insecure",
        server.server.port()
    );
    let err = RedisStore::builder(url).build().expect_err("insecure");
    let text = format!("{err} {err:?}");
    assert!(text.contains("always verifies"), "{text}");
    assert!(!text.contains(PW), "{text}");
}

#[tokio::test]
async fn an_unreachable_tls_server_is_transient_and_shows_no_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }; // nothing listens there any more
    let err = test_sized(RedisStore::builder(format!(
        "rediss://user:{PW}@127.0.0.1:{port}/"
    )))
    .connect()
    .await
    .expect_err("unreachable");
    assert!(err.is_transient(), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PW), "{text}");
}

/// Everything written through `tracing` while it is the thread's subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_in_any_error_debug_or_log_line_on_any_failure_path() {
    let server = tls_or_skip!(ClientAuth::No);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let port = server.server.port();
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let ca = query_path(&server.pki.ca);
    let other_ca = query_path(&server.pki.other_ca);
    let builders = [
        // Wrong password over TLS (no such user), in the URL and (below) as credentials.
        format!("rediss://nobody:{PW}@127.0.0.1:{port}/?ca={ca}"),
        // Wrong CA, refused plain connection, unreachable.
        format!("rediss://user:{PW}@127.0.0.1:{port}/?ca={other_ca}"),
        format!("redis://user:{PW}@127.0.0.1:{port}/"),
        format!("rediss://user:{PW}@127.0.0.1:{unreachable}/?ca={ca}"),
    ];
    // Short operation timeouts: the lazily built stores fail every operation, some after
    // the connection manager's retries, and only what they print matters here.
    let quick = |url: &str| {
        test_sized(RedisStore::builder(url))
            .operation_timeout(Duration::from_millis(400))
            .fallback(tokenkit_redis::Fallback::Local)
    };
    let mut texts = Vec::new();
    for url in builders {
        let builder = quick(&url);
        texts.push(format!("{builder:?}"));
        let err = builder.connect().await.expect_err("refused");
        texts.push(format!("{err} {err:?}"));
        // Lazily built, through every kind of operation (the fallback logs).
        let store = quick(&url).build().expect("built");
        texts.push(format!("{store:?}"));
        for result in [
            store.load("k").await.map(drop),
            store
                .compare_and_set("k", 0, &support::token("t", 60))
                .await
                .map(drop),
            store.try_lease("k", Duration::from_secs(5)).await.map(drop),
            store.pending("k").await.map(drop),
            store.subscribe("k").await.map(drop),
        ] {
            if let Err(e) = result {
                texts.push(format!("{e} {e:?}"));
            }
        }
    }
    // There is no such user (the default user takes any password here).
    let with_credentials = test_sized(RedisStore::builder(format!(
        "rediss://127.0.0.1:{port}/?ca={ca}"
    )))
    .credentials("nobody", PW);
    texts.push(format!("{with_credentials:?}"));
    let err = with_credentials
        .connect()
        .await
        .expect_err("wrong password");
    assert!(err.to_string().contains("authentication failed"), "{err}");
    texts.push(format!("{err} {err:?}"));

    let logged = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    assert!(
        logged.contains("in-process fallback"),
        "the fallback logged: {logged}"
    );
    texts.push(logged);
    for text in &texts {
        assert!(!text.contains(PW), "{text}");
    }
}
