//! examples/agent.toml, which docs/agent.md runs against the sandbox, stays a valid
//! config with every platform in it and no secret written in it.

use std::path::Path;

use tokenkit_agent::Config;

#[test]
fn the_example_config_serves_every_platform_with_no_inline_secret() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/agent.toml");
    let config = Config::load(&path).expect("examples/agent.toml loads");
    let platforms: Vec<&str> = config.grants.values().map(|g| g.platform()).collect();
    assert!(
        platforms.contains(&"ac") && platforms.contains(&"bo"),
        "{platforms:?}"
    );
    assert_eq!(config.ilab.len(), 1);
    assert!(
        config.inline_secrets().is_empty(),
        "{:?}",
        config.inline_secrets()
    );
    assert!(config.unix_socket().is_some() && config.listen.tcp.is_some());
    for app in config.ilab.values() {
        assert!(
            app.base_url.starts_with("http://127.0.0.1:"),
            "{}",
            app.base_url
        );
    }
}
