#!/usr/bin/env bash
# Type-checks the crate (library, binary and tests: `cargo check --locked
# --all-targets`) for every platform the Go helper ships for besides this
# one, failing on any error or warning:
#
#   x86_64-pc-windows-gnu, aarch64-apple-darwin, x86_64-apple-darwin,
#   aarch64-unknown-linux-gnu, x86_64-unknown-linux-musl
#
# Usage: scripts/cross.sh [--test-windows] [--test-arm64] [TARGET...]   (default: all five)
#
# --test-windows also runs the unit tests (`cargo test --lib`) built for
# x86_64-pc-windows-gnu under wine 8 (apt: wine64, wine), through cargo's
# runner setting for the target, in a wine prefix of its own that is removed
# afterwards; then the black-box suites of tests/it that need neither Linux
# nor moto (listed below, with why the others do not run). Wine 8 lacks
# bcryptprimitives.dll, whose ProcessPrng Rust's std (1.78 and later)
# imports: the script builds a stand-in with mingw (ProcessPrng over
# advapi32's RtlGenRandom) into the prefix.
#
# --test-arm64 runs the unit tests built for aarch64-unknown-linux-gnu
# under qemu-aarch64 (apt: qemu-user), with arm64 glibc from
# libc6-dev-arm64-cross (-L /usr/aarch64-linux-gnu), through cargo's runner
# setting for the target.
#
# No rustup target is needed: Debian's rustc-web (1.96) builds std from its
# own sources (rust-web-src) with cargo's -Zbuild-std, which fetches std's
# dependencies from crates.io on first use. Each target gets its own target
# directory, target/cross/TRIPLE, so the host build is never invalidated.
# Installs with apt (as root) only the packages that are missing: the
# toolchain, and the C compilers ring's build script needs for each target
# (mingw, aarch64 gcc, musl-gcc, clang for Apple). Nothing is linked, so
# macOS needs no SDK, only a stand-in for one header ring includes. See
# README's "Development".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(
    x86_64-pc-windows-gnu
    aarch64-apple-darwin
    x86_64-apple-darwin
    aarch64-unknown-linux-gnu
    x86_64-unknown-linux-musl
)

die() {
    echo "scripts/cross.sh: $*" >&2
    exit 1
}

TEST_WINDOWS=0
if [ "${1:-}" = --test-windows ]; then
    TEST_WINDOWS=1
    shift
fi
TEST_ARM64=0
if [ "${1:-}" = --test-arm64 ]; then
    TEST_ARM64=1
    shift
fi
if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

# --- packages (apt), only those missing ------------------------------------
packages_for() { # the Debian packages a target's check needs
    case "$1" in
        x86_64-pc-windows-gnu) echo gcc-mingw-w64-x86-64 ;;
        aarch64-unknown-linux-gnu) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
        x86_64-unknown-linux-musl) echo musl-tools ;;
        *-apple-darwin) echo clang llvm ;;
        *) die "unknown target $1 (known: ${ALL_TARGETS[*]})" ;;
    esac
}

wanted=(rustc-web rust-web-src cargo-web libstd-rust-web-dev)
for t in "${TARGETS[@]}"; do
    # shellcheck disable=SC2207
    wanted+=($(packages_for "$t"))
done
[ "$TEST_WINDOWS" = 0 ] || wanted+=(gcc-mingw-w64-x86-64 wine64 wine)
[ "$TEST_ARM64" = 0 ] || wanted+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (apt-get install them, or run as root)"
    echo "scripts/cross.sh: installing ${missing[*]} (apt)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null; } \
        || die "apt-get install ${missing[*]} failed"
fi
[ -d /usr/lib/rustlib/src/rust/library ] \
    || die "/usr/lib/rustlib/src/rust/library missing: rust-web-src installs it"

# --- Debian's toolchain, for these commands only ------------------------------
# In front of rustup's proxies; RUSTC_BOOTSTRAP lets a stable toolchain take
# -Zbuild-std.
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER CARGO_BUILD_TARGET
CARGO=/usr/bin/cargo
# Any warning in this crate is an error (dependencies' lints are capped by
# cargo; RUSTFLAGS does not reach build scripts and proc macros, which are
# built for the host).
export RUSTFLAGS="-D warnings"

# ring includes <TargetConditionals.h> on Apple targets, a header of Apple's
# SDK: a stand-in for macOS.
apple_include=target/cross/apple-include
mkdir -p "$apple_include"
cat >"$apple_include/TargetConditionals.h.new" <<'EOF'
/* A stand-in for Apple's header (scripts/cross.sh): macOS, nothing else. */
#ifndef TARGET_CONDITIONALS_STAND_IN
#define TARGET_CONDITIONALS_STAND_IN
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_VISION 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_EMBEDDED 0
#endif
EOF
# Rewritten only when it changed: cc's output would be rebuilt otherwise.
if cmp -s "$apple_include/TargetConditionals.h.new" "$apple_include/TargetConditionals.h"; then
    rm "$apple_include/TargetConditionals.h.new"
else
    mv "$apple_include/TargetConditionals.h.new" "$apple_include/TargetConditionals.h"
fi
apple_include="$(pwd)/$apple_include"
llvm_ar="$(command -v llvm-ar-14 || command -v llvm-ar || true)"

check() { # check TARGET: cargo check for it, in its own target dir
    local t="$1" env=() var
    var="$(echo "$t" | tr '-' '_')"
    case "$t" in
        aarch64-unknown-linux-gnu)
            env+=("CC_$var=aarch64-linux-gnu-gcc") ;;
        x86_64-unknown-linux-musl)
            env+=("CC_$var=musl-gcc") ;;
        *-apple-darwin)
            local cflags="-nostdlibinc -DRING_CORE_NOSTDLIBINC -I$apple_include"
            [ "$t" = x86_64-apple-darwin ] && cflags+=" -ffreestanding"
            [ -n "$llvm_ar" ] || die "llvm-ar not found (apt-get install llvm)"
            env+=("CC_$var=clang" "AR_$var=$llvm_ar" "CFLAGS_$var=$cflags") ;;
    esac
    echo "scripts/cross.sh: cargo check --target $t" >&2
    local start=$SECONDS
    env "${env[@]}" nice -n 10 "$CARGO" check --locked --all-targets --quiet \
        -Zbuild-std=std,panic_abort --target "$t" --target-dir "target/cross/$t" \
        || { echo "scripts/cross.sh: $t: FAILED after $((SECONDS - start)) s" >&2; return 1; }
    echo "scripts/cross.sh: $t: ok ($((SECONDS - start)) s)" >&2
}

failed=()
for t in "${TARGETS[@]}"; do
    check "$t" || failed+=("$t")
done
[ ${#failed[@]} -eq 0 ] || die "cargo check failed for: ${failed[*]}"
echo "scripts/cross.sh: ${TARGETS[*]}: no errors, no warnings" >&2

# --- the unit tests for Linux arm64, under qemu-user ----------------------------
# (The black-box suites run against the arm64 release binary in
# scripts/release.sh --test.)
if [ "$TEST_ARM64" = 1 ]; then
    echo "scripts/cross.sh: cargo test --lib --target aarch64-unknown-linux-gnu, under qemu-aarch64" >&2
    start=$SECONDS
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
        timeout -k 30 1800 nice -n 10 "$CARGO" test --locked --lib --quiet \
        -Zbuild-std=std,panic_abort --target aarch64-unknown-linux-gnu \
        --target-dir target/cross/aarch64-unknown-linux-gnu \
        || die "the unit tests failed under qemu-aarch64 after $((SECONDS - start)) s"
    echo "scripts/cross.sh: the unit tests pass under qemu-aarch64 ($((SECONDS - start)) s)" >&2
fi

# --- the unit tests for Windows, under wine ------------------------------------
[ "$TEST_WINDOWS" = 1 ] || exit 0
stand_in=target/cross/wine
mkdir -p "$stand_in"
cat >"$stand_in/bcryptprimitives.c.new" <<'EOF'
/* Wine 8 lacks bcryptprimitives.dll, whose ProcessPrng Rust's std (1.78 and
   later) imports: a stand-in over advapi32's RtlGenRandom (scripts/cross.sh). */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
EOF
printf 'LIBRARY bcryptprimitives\nEXPORTS\n    ProcessPrng\n' >"$stand_in/bcryptprimitives.def"
if ! cmp -s "$stand_in/bcryptprimitives.c.new" "$stand_in/bcryptprimitives.c" \
    || [ ! -f "$stand_in/bcryptprimitives.dll" ]; then
    mv "$stand_in/bcryptprimitives.c.new" "$stand_in/bcryptprimitives.c"
    x86_64-w64-mingw32-gcc -O2 -shared -o "$stand_in/bcryptprimitives.dll" \
        "$stand_in/bcryptprimitives.c" "$stand_in/bcryptprimitives.def" -ladvapi32 \
        || die "cannot build the bcryptprimitives.dll stand-in"
else
    rm "$stand_in/bcryptprimitives.c.new"
fi

# A private, quiet prefix, removed on the way out (its wineserver first).
wine_tmp="$(mktemp -d)"
export WINEPREFIX="$wine_tmp/prefix" WINEDEBUG=-all
cleanup() {
    wineserver -k 2>/dev/null || true
    rm -rf "$wine_tmp"
}
trap cleanup EXIT
wineboot -i >/dev/null 2>&1 || die "wineboot failed (WINEPREFIX=$WINEPREFIX)"
cp "$stand_in/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

echo "scripts/cross.sh: cargo test --lib --target x86_64-pc-windows-gnu, under wine" >&2
start=$SECONDS
# Bounded (the build included), as every run under an emulator here.
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine timeout -k 30 1800 nice -n 10 "$CARGO" test --locked --lib --quiet \
    -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu \
    --target-dir target/cross/x86_64-pc-windows-gnu \
    || die "the unit tests failed under wine after $((SECONDS - start)) s"
echo "scripts/cross.sh: the unit tests pass under wine ($((SECONDS - start)) s)" >&2

# --- the black-box tests for Windows, under wine ---------------------------------
# tests/it built for Windows (the `it` binary, and the helper's .exe it runs
# as a child under the same wine), in the same prefix: the suites that need
# neither Linux nor moto, selected here by name. Within them a test that
# cannot run on Windows says why in its cfg: ignored with the reason (listed
# in the output), or cfg(unix) with a comment (root, modes, FIFOs, signals).
windows_suites=(cache cli configure faults fuzz_corpus kubelet layout network packaging
    policy registries shared_machine support)
windows_not_run=(
    "moto, doctor: every test needs moto_server, a Linux program wine cannot start (ignored on Windows, with that reason)"
    "e2e, bounded, executable: cfg(unix) or Linux (namespaces and real clients; FIFOs and devices; ELF)"
    "load, throttling: 64 and 100 helpers at once, bounded in calls and seconds; a process takes about 0.3 s to start under wine, so the storm is spread out and they measure wine (seen: 21 to 57 calls where the bound is 10); the lock they load is tested in cache:: and the failure record in the unit tests"
)
filters=()
for s in "${windows_suites[@]}"; do filters+=("$s::"); done
echo "scripts/cross.sh: cargo test --test it --target x86_64-pc-windows-gnu, under wine: ${filters[*]}" >&2
for why in "${windows_not_run[@]}"; do
    echo "scripts/cross.sh:   not run under wine: $why" >&2
done
start=$SECONDS
# The test that kills 200 helpers at random points runs alone, after the
# others: killed at random beside the other suites' processes, wine 8's
# wineserver was seen to spin and leave those processes waiting forever.
# Each run is bounded, so that a wedged wine fails the step, never hangs CI.
alone=faults::sigkill_at_random_points_never_tears_the_entry
wine_it() { # wine_it SECONDS ARGS...: the Windows tests/it under wine, bounded
    local bound="$1"
    shift
    # MOTO_SERVER, a Linux path, means nothing to the Windows binary.
    env -u MOTO_SERVER AWS_EC2_METADATA_DISABLED=true CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
        timeout -k 30 "$bound" nice -n 10 "$CARGO" test --locked --test it \
        -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu \
        --target-dir target/cross/x86_64-pc-windows-gnu -- "$@"
}
wine_it 1800 "${filters[@]}" --skip "$alone" \
    || die "the black-box tests failed (or outlived their bound) under wine after $((SECONDS - start)) s"
wine_it 600 --exact "$alone" \
    || die "$alone failed (or outlived its bound) under wine after $((SECONDS - start)) s"
echo "scripts/cross.sh: the black-box tests pass under wine ($((SECONDS - start)) s)" >&2
