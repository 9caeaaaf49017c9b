#!/usr/bin/env bash
# Installs the system tools the end-to-end suite (tests/e2e/run.sh) needs, on
# Debian/Ubuntu. Idempotent: does nothing when everything is present, runs
# `apt-get update` at most once otherwise. moto is not installed here: it comes
# from scripts/test.sh (target/test-venv) or MOTO_SERVER.
set -euo pipefail

# command  Debian package
TOOLS=(
    "skopeo skopeo"
    "podman podman"
    "docker-registry docker-registry"
    "htpasswd apache2-utils"
    "openssl openssl"
    "unshare util-linux"
    "ip iproute2"
    "curl curl"
    "timeout coreutils"
    "python3 python3"
)

missing=()
for entry in "${TOOLS[@]}"; do
    read -r cmd pkg <<<"$entry"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
# podman pulls (rootful, vfs) also need an OCI runtime and conmon at start-up;
# Debian's podman depends on them, but check in case of --no-install-recommends
# surprises on derived distributions.
if command -v podman >/dev/null 2>&1; then
    command -v crun >/dev/null 2>&1 || command -v runc >/dev/null 2>&1 || missing+=(crun)
    command -v conmon >/dev/null 2>&1 || [ -x /usr/libexec/podman/conmon ] || missing+=(conmon)
fi

# The docker CLI: any `docker` on PATH will do (docker-ce-cli, docker.io, a
# static binary in /usr/local/bin). Docker's own repository calls it
# docker-ce-cli, Debian trixie docker-cli; bookworm ships it only in docker.io
# (which also brings the daemon, never started by the suite).
has_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'; }
if ! command -v docker >/dev/null 2>&1; then
    docker_pkg=docker.io
    for p in docker-ce-cli docker-cli; do
        if has_candidate "$p"; then
            docker_pkg=$p
            break
        fi
    done
    missing+=("$docker_pkg")
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "tests/e2e/install-deps.sh: all tools present" >&2
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "tests/e2e/install-deps.sh: need root to install: ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi
echo "tests/e2e/install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
