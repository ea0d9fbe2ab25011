#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need (redis-server from
# Debian's packages) when it is missing, then: format, lints, docs, examples, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing redis-server (Debian package) for the fleet tests"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
echo "== examples (built, then run against the embedded sandbox)"
cargo build --workspace --all-features --examples --quiet
cargo run --quiet --all-features --example ilab_experiment
cargo run --quiet --all-features --example ac_cluster
cargo run --quiet --all-features --example bo_session -- 2   # 2-second lifetimes
echo "== cargo test"
cargo test --workspace --all-features
