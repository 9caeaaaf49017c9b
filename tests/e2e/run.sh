#!/usr/bin/env bash
# End-to-end suite: skopeo, podman, buildah, the docker CLI and the docker
# daemon (docker pull, docker build) pull through
# docker-credential-ecr-login from two real registries of two ECR accounts,
# with the caller's credentials in a third account, inside a private network
# and mount namespace (nothing leaves loopback, nothing on the machine changes).
#
# usage: tests/e2e/run.sh [--keep]
#   E2E_HELPER    the helper binary (default: target/debug/docker-credential-ecr-login)
#   E2E_DOCKER    the docker CLI (default: /usr/bin/docker when it exists, then PATH)
#   E2E_DOCKERD   dockerd (default: /usr/sbin/dockerd when it exists, then PATH)
#   MOTO_SERVER   moto_server (default: target/test-venv/bin/moto_server, then PATH)
#   E2E_RESULTS   also copy the per-case results (TSV) to this file
#   E2E_KEEP=1    keep the work directory (always kept when a case fails)
#
# Needs root (namespaces, podman's storage). Missing tools are a failure, not
# a skip: tests/e2e/install-deps.sh installs them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
KEEP="${E2E_KEEP:-0}"
[ "${1:-}" = --keep ] && KEEP=1

fail() {
    echo "e2e: FAIL: $*" >&2
    exit 2
}

# --- tools: fail, naming the package, when one is missing -------------------
missing=()
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("'$1' (Debian package: $2)")
}
need skopeo skopeo
need podman podman
need docker-registry docker-registry
need buildah buildah
# The docker CLI under test is Debian's /usr/bin/docker (docker.io, which
# install-deps.sh installs), not the first `docker` on PATH: a newer CLI in
# /usr/local/bin would hide what Debian's users run (bookworm's 20.10 does not
# read OCI manifests).
if [ -z "${E2E_DOCKER:-}" ]; then
    if [ -x /usr/bin/docker ]; then E2E_DOCKER=/usr/bin/docker; else E2E_DOCKER=$(command -v docker || true); fi
fi
[ -n "$E2E_DOCKER" ] && [ -x "$E2E_DOCKER" ] || missing+=("'docker' (Debian package: docker.io)")
export E2E_DOCKER
# dockerd, likewise Debian's (docker.io puts it in /usr/sbin; it starts its
# own containerd, from the containerd package docker.io depends on).
if [ -z "${E2E_DOCKERD:-}" ]; then
    if [ -x /usr/sbin/dockerd ]; then E2E_DOCKERD=/usr/sbin/dockerd; else E2E_DOCKERD=$(command -v dockerd || true); fi
fi
[ -n "$E2E_DOCKERD" ] && [ -x "$E2E_DOCKERD" ] || missing+=("'dockerd' (Debian package: docker.io)")
export E2E_DOCKERD
need containerd containerd
need openssl openssl
need unshare util-linux
need ip iproute2
need curl curl
need timeout coreutils
need python3 python3
if ! command -v htpasswd >/dev/null 2>&1 && ! python3 -c 'import bcrypt' 2>/dev/null; then
    missing+=("'htpasswd' (Debian package: apache2-utils; or python3-bcrypt)")
fi
MOTO="${MOTO_SERVER:-}"
if [ -z "$MOTO" ]; then
    if [ -x "$ROOT/target/test-venv/bin/moto_server" ]; then
        MOTO="$ROOT/target/test-venv/bin/moto_server"
    else
        MOTO="$(command -v moto_server || true)"
    fi
fi
[ -n "$MOTO" ] && [ -x "$MOTO" ] \
    || missing+=("'moto_server' (PyPI moto[server]; scripts/test.sh installs it in target/test-venv and sets MOTO_SERVER)")
if [ ${#missing[@]} -gt 0 ]; then
    printf 'e2e: missing: %s\n' "${missing[@]}" >&2
    fail "install the tools above (tests/e2e/install-deps.sh does it on Debian)"
fi
[ "$(id -u)" -eq 0 ] || fail "needs root: it creates network and mount namespaces and rootful podman storage"

HELPER="${E2E_HELPER:-$ROOT/target/debug/docker-credential-ecr-login}"
[ -x "$HELPER" ] || fail "no helper binary at $HELPER (cargo build, or set E2E_HELPER)"
HELPER="$(cd "$(dirname "$HELPER")" && pwd)/$(basename "$HELPER")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ecr-login-e2e.XXXXXX")"
chmod 0755 "$WORK"
echo "e2e: work directory $WORK" >&2

rc=0
timeout -k 10 "${E2E_TIMEOUT:-900}" \
    unshare --net --mount --pid --fork --kill-child --mount-proc \
    bash "$HERE/suite.sh" "$WORK" "$HELPER" "$MOTO" || rc=$?
[ "$rc" -eq 124 ] && echo "e2e: FAIL: the suite did not finish in ${E2E_TIMEOUT:-900}s" >&2

if [ -n "${E2E_RESULTS:-}" ] && [ -f "$WORK/results.tsv" ]; then
    cp "$WORK/results.tsv" "$E2E_RESULTS"
fi
if [ "$rc" -eq 0 ] && [ "$KEEP" != 1 ]; then
    rm -rf "$WORK"
else
    echo "e2e: logs kept in $WORK/logs" >&2
fi
exit "$rc"
