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
    "buildah buildah"
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

# The docker CLI and dockerd: Debian's own, docker.io (bookworm ships the CLI
# only there; dockerd comes with it, and containerd and runc with that),
# installed even when another `docker` is on PATH: the suite runs
# /usr/bin/docker and /usr/sbin/dockerd, because what a Debian user has is
# Debian's (20.10 on bookworm, whose CLI cannot read OCI manifests), not
# whatever newer binary sits in /usr/local/bin.
dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'ok installed' || missing+=(docker.io)

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
# --no-remove: never take anything away to make room (docker.io conflicts
# with Docker's own docker-ce and docker-ce-cli packages).
"${SUDO[@]}" apt-get install -y --no-install-recommends --no-remove "${missing[@]}" || {
    echo "tests/e2e/install-deps.sh: apt-get install ${missing[*]} failed (docker-ce or docker-ce-cli installed? Debian's docker.io conflicts with them)" >&2
    exit 1
}
