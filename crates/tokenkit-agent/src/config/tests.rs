use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("/etc/tokenkit")).map_err(|e| e.to_string())
}

const AC: &str = r#"
[grants.hpc]
platform = "ac"
base_url = "http://127.0.0.1:1"
user = "demo"
org_id = "demo-org"
password = { env = "TOKENKIT_AC_PASSWORD" }
cluster = "11112"
"#;

#[test]
fn a_whole_config_reads_as_written() {
    let text = format!(
        r#"
[listen]
unix = "agent.sock"
tcp = "127.0.0.1:7700"
bearer_file = "bearer"

[agent]
store = "file:/var/lib/tokenkit"
wait_ms = 2500

{AC}

[grants.session]
platform = "bo"
base_url = "http://127.0.0.1:1"
owner_id = "demo-owner"
des_key = {{ file = "/run/secrets/des" }}
refresh_token = {{ env = "TOKENKIT_BO_REFRESH_TOKEN" }}

[ilab.lab]
base_url = "http://127.0.0.1:1"
appid = "1681600222748241929"
secret = {{ env = "TOKENKIT_ILAB_SECRET" }}
dialect = "open-api-v2"
"#
    );
    let config = parse(&text).expect("parses");
    assert_eq!(
        config.unix_socket(),
        Some("/etc/tokenkit/agent.sock".into())
    );
    assert_eq!(
        config.listen.tcp,
        Some("127.0.0.1:7700".parse().expect("addr"))
    );
    assert_eq!(config.agent.wait(), Duration::from_millis(2500));
    assert_eq!(config.agent.drain_ms, 10_000);
    assert_eq!(config.grants["hpc"].platform(), "ac");
    assert_eq!(config.grants["session"].platform(), "bo");
    assert_eq!(config.ilab["lab"].dialect, grant::IlabDialect::OpenApiV2);
    assert!(config.inline_secrets().is_empty());
}

#[test]
fn nothing_to_listen_on_means_the_default_socket() {
    let config = parse(AC).expect("parses");
    let socket = config.unix_socket().expect("a socket");
    assert!(socket.ends_with(DEFAULT_SOCKET), "{}", socket.display());
    let tcp_only = parse(&format!("[listen]\ntcp = \"127.0.0.1:0\"\n{AC}")).expect("parses");
    assert_eq!(tcp_only.unix_socket(), None);
}

#[test]
fn a_non_loopback_address_is_refused_unless_allowed() {
    let error = parse(&format!("[listen]\ntcp = \"0.0.0.0:7700\"\n{AC}")).expect_err("refused");
    assert!(error.contains("not a loopback address"), "{error}");
    let allowed = format!("[listen]\ntcp = \"0.0.0.0:7700\"\nallow_non_loopback = true\n{AC}");
    assert!(parse(&allowed).is_ok());
    assert!(parse(&format!("[listen]\ntcp = \"[::1]:7700\"\n{AC}")).is_ok());
}

#[test]
fn typos_and_missing_settings_are_errors_that_say_where() {
    let typo = parse(&AC.replace("cluster =", "clustr =")).expect_err("unknown key");
    assert!(typo.contains("clustr"), "{typo}");
    let platform = parse(&AC.replace("\"ac\"", "\"xx\"")).expect_err("unknown platform");
    assert!(platform.contains("xx"), "{platform}");
    let no_password = parse(&AC.replace("password =", "# password =")).expect_err("no password");
    assert!(
        no_password.contains("grants.hpc") && no_password.contains("password"),
        "{no_password}"
    );
    let both = format!("{AC}access_key = \"ak\"\nsecret_key = {{ env = \"X\" }}\n");
    assert!(parse(&both).expect_err("both logins").contains("not both"));
    let bad_name = parse(&AC.replace("grants.hpc", "grants.\"a/b\"")).expect_err("bad name");
    assert!(bad_name.contains("a/b"), "{bad_name}");
    let top = parse("[listn]\nunix = \"x\"\n").expect_err("unknown table");
    assert!(top.contains("listn"), "{top}");
    assert!(parse("[agent]\nwait_ms = 0\n").is_err());
    assert!(parse("[agent]\nwait_ms = -1\n").is_err());
}

#[test]
fn inline_secrets_are_named_for_the_warning_but_never_shown() {
    let text = AC.replace(
        r#"{ env = "TOKENKIT_AC_PASSWORD" }"#,
        r#""sentinel-password""#,
    );
    let config = parse(&text).expect("inline works");
    assert_eq!(
        config.inline_secrets(),
        vec!["grants.hpc.password".to_owned()]
    );
    assert!(!format!("{config:?}").contains("sentinel-password"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let error = Config::load(Path::new("/nonexistent/agent.toml")).expect_err("missing");
    assert!(
        error.to_string().contains("/nonexistent/agent.toml"),
        "{error}"
    );
}

/// An `[http]` table with an inline proxy URL holding a password.
const HTTP_INLINE: &str = r#"
[http]
proxy = "http://alice:SENTINEL-PW-prop-proxy-8e2a@127.0.0.1:3128"
proxy_bypass = ["localhost"]
"#;

/// Whether `text` holds either half of the password of [`HTTP_INLINE`] (one byte
/// changed leaves at least one whole).
fn leaks_proxy_password(text: &str) -> bool {
    text.contains("SENTINEL-PW") || text.contains("prop-proxy-8e2a")
}

#[test]
fn the_inline_proxy_table_is_valid_as_written() {
    let config = parse(&format!("{HTTP_INLINE}{AC}")).expect("parses");
    let http = config.http().expect("a usable proxy");
    assert!(!leaks_proxy_password(&format!("{config:?} {http:?}")));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Arbitrary text never panics the parser: it parses or it is a config error.
        #[test]
        fn arbitrary_text_is_parsed_or_refused(text in "\\PC{0,300}") {
            match Config::parse(&text, Path::new(".")) {
                Ok(_) | Err(Error::Config(_)) => {}
                Err(other) => prop_assert!(false, "{other}"),
            }
        }

        /// A valid config with one byte changed parses or is refused, never panics, and
        /// the refusal never shows an inline secret.
        #[test]
        fn mutated_configs_are_parsed_or_refused(at in 0usize..400, byte in any::<u8>()) {
            let text = AC.replace(r#"{ env = "TOKENKIT_AC_PASSWORD" }"#, r#""sentinel-password""#);
            let mut bytes = text.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Err(error) = Config::parse(&text, Path::new(".")) {
                prop_assert!(matches!(error, Error::Config(_)));
                prop_assert!(!error.to_string().contains("sentinel-password"), "{error}");
            }
        }

        /// The same for an `[http]` table whose proxy URL holds a password: neither
        /// parsing nor reading the table (checking the URL as a client would) shows any
        /// part of the password a one-byte change may have left whole.
        #[test]
        fn mutated_proxy_settings_never_show_the_proxy_password(
            at in 0usize..400,
            byte in any::<u8>(),
        ) {
            let text = format!("{HTTP_INLINE}{AC}");
            let mut bytes = text.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            let error = match Config::parse(&text, Path::new(".")) {
                Ok(config) => match config.http() {
                    Ok(http) => {
                        let debug = format!("{config:?} {http:?}");
                        prop_assert!(!leaks_proxy_password(&debug), "{debug}");
                        return Ok(());
                    }
                    Err(error) => error,
                },
                Err(error) => error,
            };
            prop_assert!(matches!(error, Error::Config(_)));
            let shown = format!("{error} {error:?}");
            prop_assert!(!leaks_proxy_password(&shown), "{shown}");
        }
    }
}

#[test]
fn a_relative_file_store_is_taken_from_the_config_directory() {
    let relative = parse(&format!("[agent]\nstore = \"file:grants\"\n{AC}")).expect("parses");
    assert_eq!(relative.store_url(), "file:/etc/tokenkit/grants");
    let absolute = parse(&format!("[agent]\nstore = \"file:/var/lib/t\"\n{AC}")).expect("parses");
    assert_eq!(absolute.store_url(), "file:/var/lib/t");
    let redis = parse(&format!(
        "[agent]\nstore = \"redis://127.0.0.1:6379/0\"\n{AC}"
    ))
    .expect("parses");
    assert_eq!(redis.store_url(), "redis://127.0.0.1:6379/0");
    let tls = parse(&format!(
        "[agent]\nstore = \"rediss://h:6380/0?ca=certs/ca.pem&cert=/abs/c.pem&key=k.pem\"\n{AC}"
    ))
    .expect("parses");
    assert_eq!(
        tls.store_url(),
        "rediss://h:6380/0?ca=/etc/tokenkit/certs/ca.pem&cert=/abs/c.pem&key=/etc/tokenkit/k.pem"
    );
}

#[test]
fn the_store_key_comes_from_a_variable_or_a_private_file_never_the_config() {
    let dir = std::env::temp_dir().join(format!(
        "tokenkit-agent-store-key-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let material = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    let key_file = dir.join("store.key");
    std::fs::write(&key_file, format!("k2:{material}\n")).expect("write");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // A relative path is taken from the config file's directory.
    let text =
        format!("[agent]\nstore = \"file:grants\"\nstore_key = {{ file = \"store.key\" }}\n{AC}");
    let config = Config::parse(&text, &dir).expect("parses");
    let keyring = config.store_keyring().expect("read").expect("a keyring");
    assert_eq!(keyring.current().id(), "k2");
    assert!(!format!("{config:?}").contains(material));
    assert!(
        parse(AC)
            .expect("parses")
            .store_keyring()
            .expect("none")
            .is_none()
    );

    // Written in the config: refused, without repeating it.
    let inline = format!("[agent]\nstore_key = \"k1:{material}\"\n{AC}");
    let error = parse(&inline).expect_err("inline refused");
    assert!(
        error.contains("agent.store_key") && error.contains("env"),
        "{error}"
    );
    assert!(!error.contains(material), "{error}");

    // Errors name the source.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let error = config
        .store_keyring()
        .expect_err("open to others")
        .to_string();
    assert!(
        error.contains("agent.store_key") && error.contains("chmod 600"),
        "{error}"
    );
    let env = parse(&format!(
        "[agent]\nstore_key = {{ env = \"TOKENKIT_AGENT_TEST_UNSET_STORE_KEY\" }}\n{AC}"
    ))
    .expect("parses");
    let error = env.store_keyring().expect_err("unset").to_string();
    assert!(
        error.contains("TOKENKIT_AGENT_TEST_UNSET_STORE_KEY is not set"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
