#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine (this is what CI
# runs, through .ci/run). Installs what the tests need that cargo does not:
# a pinned moto server in target/test-venv.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

MOTO_VERSION=5.2.1
VENV=target/test-venv

die() {
    echo "scripts/test.sh: $*" >&2
    exit 1
}

need() { # need COMMAND WHAT-TO-INSTALL
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install $2"
}

need cargo "the Rust toolchain (rustup)"
{ cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1 \
    || die "'cargo fmt' or 'cargo clippy' not found: rustup component add rustfmt clippy (a Debian toolchain: apt-get install rustfmt rust-clippy)"

# Python 3 with its venv module (for moto, below): Debian ships ensurepip, which
# venv needs, separately in python3-venv.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    [ "$(id -u)" = 0 ] || die "python3 or its venv module not found: install python3 python3-venv"
    echo "scripts/test.sh: installing python3 python3-venv (apt)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3 python3-venv >/dev/null; } || die "apt-get install python3 python3-venv failed"
fi

# --- system tools (apt) ------------------------------------------------------
# The end-to-end suite (tests/it/e2e.rs) needs real clients and a real registry:
# skopeo, podman, docker-registry, the docker CLI. It runs in a private network
# namespace, so it needs root; under this script (ECR_LOGIN_TEST_ALL=1) a
# missing tool is a failure, never a skip.
[ "$(id -u)" = 0 ] || die "the end-to-end suite needs root (network namespaces, bind mounts)"
bash tests/e2e/install-deps.sh

# --- moto (PyPI moto[server], pinned) ----------------------------------------
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
    || [ ! -x "$VENV/bin/moto_server" ]; then
    echo "scripts/test.sh: installing moto[server]==$MOTO_VERSION into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" \
        || die "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" \
        || die "pip install moto[server]==$MOTO_VERSION failed"
fi
MOTO_SERVER="$(pwd)/$VENV/bin/moto_server"
export MOTO_SERVER

# --- hermetic AWS environment -------------------------------------------------
# Tests never reach beyond loopback: no instance metadata service.
export AWS_EC2_METADATA_DISABLED=true
# Here a test whose root, moto or e2e tools are missing fails instead of skipping.
export ECR_LOGIN_TEST_ALL=1

# --- checks and tests ------------------------------------------------------------
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --no-fail-fast

# --- the release build, once, and the packages made from it ---------------------
cargo build --release --locked
# A position-independent executable, as distributions' hardening asks.
readelf -h target/release/docker-credential-ecr-login | grep -q 'Type:.*DYN' \
    || die "target/release/docker-credential-ecr-login is not a PIE (readelf -h: Type is not DYN)"
scripts/package.sh --install-deps --binary target/release/docker-credential-ecr-login test

# --- the benchmark, quick: every step must work; no time is asserted ------------
# It measures ours against the Go helper (Debian's amazon-ecr-credential-helper,
# at /usr/bin) and the floor, in a private network namespace.
for pkg in amazon-ecr-credential-helper:/usr/bin/docker-credential-ecr-login gcc:gcc openssl:openssl; do
    command -v "${pkg#*:}" >/dev/null 2>&1 || {
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkg%%:*}" >/dev/null \
            || die "apt-get install ${pkg%%:*} failed"
    }
done
benches/run.sh --quick --bin target/release/docker-credential-ecr-login

# --- dependency audit ---------------------------------------------------------
# Licenses, bans and sources. The advisory database lives on GitHub, which this
# project's machines cannot reach, so advisories are not checked (deny.toml).
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    echo "scripts/test.sh: installing cargo-deny $CARGO_DENY_VERSION (once per machine)" >&2
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" \
        || die "cargo install cargo-deny failed"
fi
# Offline, cargo-deny reads every platform's crates (windows-sys too), which
# a build on this one never downloads: fetch them first.
cargo fetch --locked
cargo deny --offline check licenses bans sources
