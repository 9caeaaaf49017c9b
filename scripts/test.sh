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

# Each step's wall time, printed as it ends and again in a summary at exit
# (README's Development section quotes a clean-clone run of it).
STEPS=()
START=$SECONDS
step() { # step NAME COMMAND...: runs COMMAND, timing it
    local name="$1" t0=$SECONDS rc=0
    shift
    "$@" || rc=$?
    STEPS+=("$(printf '%5d s  %s%s' $((SECONDS - t0)) "$name" "$([ $rc -eq 0 ] || echo " (failed: exit $rc)")")")
    echo "scripts/test.sh: $name: $((SECONDS - t0)) s" >&2
    return $rc
}
summary() {
    local rc=$?
    echo "scripts/test.sh: step times (exit $rc, $((SECONDS - START)) s in all):" >&2
    [ ${#STEPS[@]} -eq 0 ] || printf '  %s\n' "${STEPS[@]}" >&2
}
trap summary EXIT

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
step "system tools (apt)" bash tests/e2e/install-deps.sh

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
step "cargo fmt" cargo fmt --check
step "cargo clippy" cargo clippy --all-targets --locked -- -D warnings
step "cargo test (unit, tests/it with e2e)" cargo test --locked --no-fail-fast
# The other platforms the Go helper ships for (Windows, macOS arm64 and
# x86_64, Linux arm64, musl): cargo check --all-targets, no warnings, with
# Debian's rustc-web building std (it apt-installs what is missing), and the
# unit tests for Windows under wine and for Linux arm64 under qemu-aarch64.
# About 17 minutes cold on 2 cores, seconds warm; target/cross/<target>.
step "scripts/cross.sh (5 checks, Windows and arm64 tests)" scripts/cross.sh --test-windows --test-arm64

# --- the release build, once, and the packages made from it ---------------------
step "release build" cargo build --release --locked
# A position-independent executable, as distributions' hardening asks.
readelf -h target/release/docker-credential-ecr-login | grep -q 'Type:.*DYN' \
    || die "target/release/docker-credential-ecr-login is not a PIE (readelf -h: Type is not DYN)"
step "package test" scripts/package.sh --install-deps --binary target/release/docker-credential-ecr-login test
# The release binaries of the other targets that link here (Linux arm64,
# static musl for x86_64 and arm64, Windows), each built once: the
# black-box suites run against the x86_64 musl one and, under qemu-aarch64,
# both arm64 ones; then the archives of all five and SHA256SUMS, in
# target/dist. Four cold release builds with std (about 32 minutes of CPU)
# and 5 minutes of suites; see README.
step "scripts/release.sh --test" scripts/release.sh --test

# --- the benchmark, quick: every step must work; no time is asserted ------------
# It measures ours against the Go helper (Debian's amazon-ecr-credential-helper,
# at /usr/bin) and the floor, in a private network namespace. It also runs
# pgrep (procps), which a minimal Debian lacks.
for pkg in amazon-ecr-credential-helper:/usr/bin/docker-credential-ecr-login gcc:gcc openssl:openssl procps:pgrep; do
    command -v "${pkg#*:}" >/dev/null 2>&1 || {
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkg%%:*}" >/dev/null \
            || die "apt-get install ${pkg%%:*} failed"
    }
done
step "quick benchmark" benches/run.sh --quick --bin target/release/docker-credential-ecr-login

# --- dependency audit ---------------------------------------------------------
# Licenses, bans and sources; then known vulnerabilities: the whole dependency
# tree against a snapshot of the RustSec advisory database, offline (its home
# is a git repository on GitHub, which CI cannot reach). CI has the snapshot in
# the shared/ folder beside the checkout; ADVISORY_DB overrides where it is.
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    echo "scripts/test.sh: installing cargo-deny $CARGO_DENY_VERSION (once per machine)" >&2
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" \
        || die "cargo install cargo-deny failed"
fi
# Offline, cargo-deny reads every platform's crates (windows-sys too), which
# a build on this one never downloads: fetch them first.
cargo fetch --locked
step "cargo deny (licenses, bans, sources)" cargo deny --offline check licenses bans sources

ADVISORY_DB="${ADVISORY_DB:-$(pwd)/../shared/advisory-db}"
[ -d "$ADVISORY_DB/crates" ] \
    || die "no RustSec advisory database at $ADVISORY_DB (its crates/ tree is missing): CI has a copy of shared/advisory-db beside the checkout; elsewhere clone https://github.com/rustsec/advisory-db there, or set ADVISORY_DB to a copy"
# cargo-deny opens the database of deny.toml's db-urls entry at
# <db-path>/advisory-db-<hash of that URL> (3157b0e258782691 for
# https://github.com/rustsec/advisory-db, cargo-deny 0.20.2), and takes its
# age from the time of .git/FETCH_HEAD: the snapshot's date, never now, so
# that deny.toml's maximum-db-staleness says when the snapshot is too old.
ADVISORY_DBS="$(pwd)/target/advisory-dbs"
ADVISORY_DB_DIR="$ADVISORY_DBS/advisory-db-3157b0e258782691"
rm -rf "$ADVISORY_DBS"
mkdir -p "$ADVISORY_DB_DIR/.git"
cp -R "$ADVISORY_DB/crates" "$ADVISORY_DB_DIR/crates"
chmod -R u+w "$ADVISORY_DB_DIR"
# Its date: the SNAPSHOT file's, else (a git clone) its last commit's.
SNAPSHOT_DATE="$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$ADVISORY_DB/SNAPSHOT" 2>/dev/null | head -n 1 || true)"
[ -n "$SNAPSHOT_DATE" ] || SNAPSHOT_DATE="$(git -C "$ADVISORY_DB" log -1 --format=%cI 2>/dev/null || true)"
[ -n "$SNAPSHOT_DATE" ] || die "$ADVISORY_DB has neither a SNAPSHOT file with its date nor git history"
touch -d "$SNAPSHOT_DATE" "$ADVISORY_DB_DIR/.git/FETCH_HEAD"
# deny.toml with db-path pointing there (the same settings otherwise).
sed "/^\[advisories\]\$/a db-path = \"$ADVISORY_DBS\"" deny.toml > "$ADVISORY_DBS/deny.toml"
grep -q '^db-path = ' "$ADVISORY_DBS/deny.toml" || die "no [advisories] table in deny.toml"
step "cargo deny advisories" cargo deny --offline --config "$ADVISORY_DBS/deny.toml" check advisories \
    || die "cargo deny check advisories failed (above; database: $ADVISORY_DB, $SNAPSHOT_DATE): update the crate, or add the advisory to deny.toml's ignore list with the reason. If cargo-deny could not open $ADVISORY_DB_DIR, it names its database directory differently: run it with -L debug to see where it looks"
