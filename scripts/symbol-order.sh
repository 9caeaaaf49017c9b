#!/usr/bin/env bash
# Rewrites link/symbol-order.txt, the functions a cache hit and a miss run,
# which build.rs has the linker lay out first (a miss then maps a third of
# the code it otherwise maps). Run it after a toolchain or dependency update,
# or when scripts/test.sh says the list is stale. Needs what benches/run.sh
# needs, and valgrind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAP="$PWD/target/release/link.map"
ECR_LOGIN_LINK_MAP="$MAP" cargo build --release --locked
benches/run.sh --bin target/release/docker-credential-ecr-login --link-map "$MAP" \
    --symbol-order link/symbol-order.txt
