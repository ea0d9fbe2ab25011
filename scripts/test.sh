#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need (redis-server,
# Chromium and its chromedriver with a CJK font, and libssl-dev with pkg-config for the
# `native-tls` feature, from Debian's packages) when it is missing, then: format, lints, TLS feature
# sets, docs, examples, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-cli (package redis-tools, a dependency of redis-server) creates the test clusters.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "== installing redis-server and redis-cli (Debian packages) for the fleet tests"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi

# The console's browser tests (crates/tokenkit-cli/tests/console_browser.rs) drive
# Debian's headless Chromium through its chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "== installing chromium and chromium-driver (Debian packages) for the console's browser tests"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# A CJK font, so the console's Chinese labels show in the screenshots the browser tests
# keep (Chromium brings none).
if [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    echo "== installing fonts-wqy-microhei (Debian package) for the console's screenshots"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi

# `--all-features` includes `native-tls`, which builds against OpenSSL.
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists openssl; then
    echo "== installing libssl-dev and pkg-config (Debian packages) for the native-tls feature"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== TLS backends (the facade built with each; docs/http.md)"
for tls in rustls rustls-no-provider native-tls; do
    cargo check --quiet -p tokenkit --no-default-features --features "ilab ac bo redis agent $tls"
done
# `rustls-no-provider` is for machines without a C toolchain: nothing may build C crypto.
no_provider_tree=$(cargo tree -p tokenkit --no-default-features \
    --features "ilab ac bo redis agent rustls-no-provider" -e normal,build --prefix none)
if grep -E '^(aws-lc-sys|openssl-sys) ' <<<"$no_provider_tree"; then
    echo "error: the rustls-no-provider build contains the crates above" >&2
    exit 1
fi
# Without an installed provider a client is a configuration error (not reqwest's panic).
cargo test --quiet -p tokenkit-core --no-default-features --features rustls-no-provider --test no_provider
cargo test --quiet -p tokenkit-redis --no-default-features --features rustls-no-provider --test no_provider
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
echo "== examples (built, then run against the embedded sandbox)"
cargo build --workspace --all-features --examples --quiet
cargo run --quiet --all-features --example ilab_experiment
cargo run --quiet --all-features --example ac_cluster
cargo run --quiet --all-features --example bo_session -- 2   # 2-second lifetimes
echo "== cargo test"
cargo test --workspace --all-features
