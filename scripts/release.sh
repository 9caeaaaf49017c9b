#!/usr/bin/env bash
# Builds the release binary for every target that links on this machine,
# checks it, and packs one archive per target plus SHA256SUMS:
#
#   x86_64-unknown-linux-gnu    the host's own build (target/release)
#   aarch64-unknown-linux-gnu   linked by aarch64-linux-gnu-gcc
#   x86_64-unknown-linux-musl   fully static (static-pie), see musl_link_dir
#   aarch64-unknown-linux-musl  the same for arm64 (musl-dev:arm64, multiarch)
#   x86_64-pc-windows-gnu       linked by mingw; a .zip
#
# Usage: scripts/release.sh [--test] [--out DIR] [TARGET...]   (default: all five)
#
# Output, in DIR (default target/dist), named as the Go helper's users
# expect a Rust tool's release to be:
#   docker-credential-ecr-login-VERSION-TARGET.tar.gz   (Windows: .zip)
# each holding one folder of that name with the binary, LICENSE and
# README.md; the Linux archives also hold `ecr-credential-provider`, a
# symbolic link to the binary, the name the kubelet runs it by (as the
# .deb's /usr/libexec/docker-credential-ecr-login/ecr-credential-provider).
# The archives are reproducible from the same binaries: sorted entries, owner
# 0, and every time SOURCE_DATE_EPOCH (default: HEAD's commit time).
#
# --test runs, against the very binaries it packs (each is built once):
# the host-built black-box suites (tests/it, through ECR_LOGIN_TEST_BINARY)
# for x86_64 musl directly and for both arm64 builds under qemu-aarch64
# (apt: qemu-user), and
# `--version` of each Linux binary. Windows is tested by scripts/cross.sh.
#
# The cross targets are built with Debian's rustc-web building std from its
# sources (-Zbuild-std), each in target/cross/TRIPLE, as scripts/cross.sh
# checks them; the host target with the caller's toolchain, so that it is
# the same build as `cargo build --release` in scripts/test.sh. Installs
# with apt (as root) only the packages that are missing. macOS: RELEASING.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(
    x86_64-unknown-linux-gnu
    aarch64-unknown-linux-gnu
    x86_64-unknown-linux-musl
    aarch64-unknown-linux-musl
    x86_64-pc-windows-gnu
)
NAME=docker-credential-ecr-login
HOST=x86_64-unknown-linux-gnu

die() {
    echo "scripts/release.sh: $*" >&2
    exit 1
}
say() { echo "scripts/release.sh: $*" >&2; }

TEST=0
OUT=target/dist
while [ $# -gt 0 ]; do
    case "$1" in
        --test) TEST=1; shift ;;
        --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi
[ "$(uname -s) $(uname -m)" = "Linux x86_64" ] \
    || die "this script runs on Linux x86_64 (macOS: see RELEASING.md)"

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$VERSION" ] || die "no version in Cargo.toml"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}"
[ -n "$SOURCE_DATE_EPOCH" ] || die "set SOURCE_DATE_EPOCH (not a git checkout)"
export SOURCE_DATE_EPOCH

# --- packages (apt), only those missing ------------------------------------
wanted=(file binutils python3)
for t in "${TARGETS[@]}"; do
    case "$t" in
        "$HOST") ;;
        aarch64-unknown-linux-gnu) wanted+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
        # musl's libc.a, start files and gcc specs; arm64's from Debian's
        # arm64 package (multiarch: the arm64 architecture is added to dpkg).
        x86_64-unknown-linux-musl) wanted+=(musl-dev) ;;
        aarch64-unknown-linux-musl) wanted+=(gcc-aarch64-linux-gnu musl-dev:arm64) ;;
        x86_64-pc-windows-gnu) wanted+=(gcc-mingw-w64-x86-64) ;;
        *) die "unknown target $t (known: ${ALL_TARGETS[*]})" ;;
    esac
    [ "$t" = "$HOST" ] || wanted+=(rustc-web rust-web-src cargo-web libstd-rust-web-dev)
done
[ "$TEST" = 0 ] || wanted+=(qemu-user)
missing=()
for p in $(printf '%s\n' "${wanted[@]}" | sort -u); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (apt-get install them, or run as root)"
    say "installing ${missing[*]} (apt)"
    if printf '%s\n' "${missing[@]}" | grep -q ':arm64$' \
        && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
    fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null; } \
        || die "apt-get install ${missing[*]} failed"
fi

# --- musl: what rustc-web lacks to link a static executable ----------------
# rustc-web ships no self-contained musl objects and no libunwind.a. rustc
# looks for the start files on the -L paths first, so one directory gives it
# musl's (musl-dev of the target's architecture) and gcc's, and a
# libunwind.a: gcc 12's libgcc_eh.a plus _dl_find_object, which it calls
# and musl lacks (glibc 2.35 API), written over musl's dl_iterate_phdr.
gcc_for() { # gcc_for ARCH: the gcc that targets ARCH (x86_64, aarch64)
    case "$1" in
        x86_64) echo gcc ;;
        *) echo "$1-linux-gnu-gcc" ;;
    esac
}

musl_link_dir() { # musl_link_dir ARCH: the directory, made once
    local arch="$1" dir="target/cross/musl-link-$1" musl="/usr/lib/$1-linux-musl" cc f
    cc="$(gcc_for "$arch")"
    mkdir -p "$dir"
    for f in crt1.o rcrt1.o Scrt1.o crti.o crtn.o libc.a; do
        [ -f "$musl/$f" ] || die "$musl/$f missing (musl-dev for $arch)"
        ln -sf "$musl/$f" "$dir/$f"
    done
    for f in crtbegin.o crtbeginS.o crtbeginT.o crtend.o crtendS.o libgcc_eh.a; do
        local path
        path="$("$cc" -print-file-name="$f")"
        [ -f "$path" ] || die "$cc has no $f"
        ln -sf "$path" "$dir/$f"
    done
    cat >"$dir/dl_find_object.c.new" <<'EOF'
/* _dl_find_object (glibc 2.35) for musl, which libgcc 12's unwinder calls to
   find the object holding a PC and its .eh_frame_hdr (scripts/release.sh). */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>

struct dl_find_object { /* glibc's layout, the same on x86_64 and aarch64 */
    unsigned long long int dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    struct link_map *dlfo_link_map;
    void *dlfo_eh_frame;
    unsigned long long int __dlfo_reserved[7];
};

struct search {
    uintptr_t pc;
    struct dl_find_object *found;
};

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
    struct search *s = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    void *eh_frame = 0;
    int covers = 0;
    (void)size;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD) {
            uintptr_t end = start + p->p_memsz;
            if (s->pc >= start && s->pc < end) covers = 1;
            if (start < lo) lo = start;
            if (end > hi) hi = end;
        } else if (p->p_type == PT_GNU_EH_FRAME) {
            eh_frame = (void *)start;
        }
    }
    if (!covers) return 0;
    s->found->dlfo_flags = 0;
    s->found->dlfo_map_start = (void *)lo;
    s->found->dlfo_map_end = (void *)hi;
    s->found->dlfo_link_map = 0;
    s->found->dlfo_eh_frame = eh_frame;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct search s = { (uintptr_t)pc, result };
    return dl_iterate_phdr(visit, &s) ? 0 : -1;
}

/* libgcc_eh calls these through weak references, which do not pull them
   out of a static libc.a: unlinked, the first backtrace or unwind calls
   address 0. Strong references here link musl's. */
#include <pthread.h>
void *const ecr_login_unwinder_needs[] = {
    (void *)pthread_once, (void *)pthread_mutex_lock, (void *)pthread_mutex_unlock,
    (void *)pthread_key_create, (void *)pthread_getspecific, (void *)pthread_setspecific,
};
EOF
    if ! cmp -s "$dir/dl_find_object.c.new" "$dir/dl_find_object.c" || [ ! -f "$dir/libunwind.a" ]; then
        mv "$dir/dl_find_object.c.new" "$dir/dl_find_object.c"
        # As musl-gcc does: gcc with musl's specs (its headers and libc).
        "$cc" -specs "$musl/musl-gcc.specs" -O2 -fPIC -c -o "$dir/dl_find_object.o" \
            "$dir/dl_find_object.c" || die "cannot compile $dir/dl_find_object.c"
        rm -f "$dir/libunwind.a"
        cp "$("$cc" -print-file-name=libgcc_eh.a)" "$dir/libunwind.a"
        chmod u+w "$dir/libunwind.a"
        ar rs "$dir/libunwind.a" "$dir/dl_find_object.o" 2>/dev/null \
            || die "cannot add _dl_find_object to $dir/libunwind.a"
    else
        rm "$dir/dl_find_object.c.new"
    fi
    echo "$(pwd)/$dir"
}

# rustc's aarch64-unknown-linux-musl target links a static executable that
# is not a PIE (its spec, unlike x86_64's, does not allow static-pie): the
# same spec, printed by rustc itself, with that one switch set, gives a
# static-pie like the x86_64 build (musl's rcrt1.o relocates it at start).
# Its file keeps the target's name, so paths and variables stay the same.
static_pie_spec() { # static_pie_spec TARGET: the spec file
    local spec="target/cross/specs/$1.json"
    mkdir -p "$(dirname "$spec")"
    RUSTC_BOOTSTRAP=1 /usr/bin/rustc -Z unstable-options --print target-spec-json --target "$1" \
        | python3 -c '
import json, sys
spec = json.load(sys.stdin)
spec.pop("is-builtin", None)
spec["static-position-independent-executables"] = True
json.dump(spec, sys.stdout, indent=2, sort_keys=True)' >"$spec.new" \
        || die "cannot write $spec"
    if cmp -s "$spec.new" "$spec"; then rm "$spec.new"; else mv "$spec.new" "$spec"; fi
    echo "$(pwd)/$spec"
}

# --- building ----------------------------------------------------------------
binary_of() { # binary_of TARGET: where its release binary is
    case "$1" in
        "$HOST") echo "target/release/$NAME" ;;
        *windows*) echo "target/cross/$1/$1/release/$NAME.exe" ;;
        *) echo "target/cross/$1/$1/release/$NAME" ;;
    esac
}

build() { # build TARGET: its release binary, once (cargo does nothing when it is current)
    local t="$1" env=() var start=$SECONDS target="$1" json=()
    if [ "$t" = "$HOST" ]; then
        say "cargo build --release (host)"
        cargo build --release --locked --quiet || die "cargo build --release failed"
        return
    fi
    var="$(echo "$t" | tr '[:lower:]-' '[:upper:]_')"
    case "$t" in
        aarch64-unknown-linux-gnu)
            env+=("CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc"
                "CARGO_TARGET_${var}_LINKER=aarch64-linux-gnu-gcc") ;;
        *-linux-musl)
            local arch="${t%%-*}" dir cc
            dir="$(musl_link_dir "$arch")"
            cc="$(gcc_for "$arch")"
            # ring's C with musl's headers and libc, as musl-gcc compiles it
            # (gcc with musl's specs); linked by the same gcc.
            env+=("CC_${t//-/_}=$cc"
                "CFLAGS_${t//-/_}=-specs /usr/lib/$arch-linux-musl/musl-gcc.specs"
                "CARGO_TARGET_${var}_LINKER=$cc"
                "CARGO_TARGET_${var}_RUSTFLAGS=-L native=$dir")
            # x86_64's own spec allows a static PIE; aarch64's does not.
            if [ "$arch" = aarch64 ]; then
                target="$(static_pie_spec "$t")"
                json=(-Zjson-target-spec)
            fi ;;
    esac
    say "cargo build --release --target $t"
    # Debian's toolchain in front of rustup's proxies, for this command only;
    # RUSTC_BOOTSTRAP lets a stable toolchain take -Zbuild-std. RUSTFLAGS
    # would override the target's own flags: unset.
    env -u RUSTUP_TOOLCHAIN -u RUSTC_WRAPPER -u CARGO_BUILD_TARGET -u RUSTFLAGS \
        PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        "${env[@]}" nice -n 10 /usr/bin/cargo build --release --locked --quiet "${json[@]}" \
        -Zbuild-std=std,panic_abort --target "$target" --target-dir "target/cross/$t" \
        || die "cargo build --release --target $t failed after $((SECONDS - start)) s"
    say "$t: built ($((SECONDS - start)) s)"
}

# The oldest glibc the glibc archives run on, as README.md and RELEASING.md
# state it (Debian 12, Ubuntu 22.04, RHEL 9, Amazon Linux 2023); older
# systems take the musl archive. Building on a newer glibc can raise what a
# binary needs without a word: verify refuses it.
GLIBC_FLOOR=2.34

glibc_needed() { # glibc_needed BIN: the newest glibc symbol version BIN needs
    readelf -W --version-info "$1" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/.*GLIBC_//' \
        | sort -uV | tail -n 1
}

check_glibc() { # check_glibc BIN: it needs no glibc newer than GLIBC_FLOOR
    local needed
    needed="$(glibc_needed "$1")"
    [ -n "$needed" ] || die "$1 names no glibc version: not a glibc binary?"
    [ "$(printf '%s\n%s\n' "$needed" "$GLIBC_FLOOR" | sort -V | tail -n 1)" = "$GLIBC_FLOOR" ] \
        || die "$1 needs glibc $needed, newer than the $GLIBC_FLOOR README.md promises: $(readelf -W --dyn-syms "$1" | grep -o "[^ ]*@GLIBC_$needed" | sort -u | head -n 5 | tr '\n' ' ')"
}

verify() { # verify TARGET: the binary is what the target promises
    local t="$1" bin
    bin="$(binary_of "$t")"
    [ -f "$bin" ] || die "$bin missing"
    case "$t" in
        x86_64-unknown-linux-gnu)
            readelf -h "$bin" | grep -q 'Machine:.*X86-64' || die "$bin is not x86_64"
            check_glibc "$bin" ;;
        aarch64-unknown-linux-gnu)
            readelf -h "$bin" | grep -q 'Machine:.*AArch64' || die "$bin is not AArch64"
            check_glibc "$bin" ;;
        *-linux-musl)
            readelf -h "$bin" | grep -q "Machine:.*$([[ "$t" = aarch64* ]] && echo AArch64 || echo X86-64)" \
                || die "$bin is not for ${t%%-*}"
            # Fully static: no interpreter and no shared library at all.
            ! readelf -lW "$bin" | grep -q 'INTERP' || die "$bin asks for an interpreter: not static"
            ! readelf -dW "$bin" | grep -q '(NEEDED)' \
                || die "$bin needs shared libraries: $(readelf -dW "$bin" | grep '(NEEDED)' | tr -s ' ')"
            # And a PIE, as every other build: its address is random.
            readelf -h "$bin" | grep -q 'Type:.*DYN' || die "$bin is not a PIE: $(file -b "$bin")"
            file -b "$bin" | grep -q 'static-pie linked' || die "$bin is not a static PIE: $(file -b "$bin")" ;;
        x86_64-pc-windows-gnu)
            file -b "$bin" | grep -q 'PE32+ executable.*x86-64' || die "$bin is not a Windows x86_64 executable: $(file -b "$bin")" ;;
    esac
    say "$t: $(file -b "$bin" | cut -d, -f1-2), $(stat -c %s "$bin") bytes$([[ "$t" = *linux-gnu ]] && echo ", glibc $(glibc_needed "$bin") or later")"
}

for t in "${TARGETS[@]}"; do
    build "$t"
    verify "$t"
done

# --- tests against the release binaries -----------------------------------------
# The black-box suites of the protocol, the cache, the bounds, configure,
# policy and the kubelet (moto's too: moto runs on the host), built for
# the host by the caller's toolchain (the same build as scripts/test.sh's
# `cargo test`), each run against a release binary: tests/it's harness runs
# ECR_LOGIN_TEST_BINARY instead of its own build.
SUITES=(cache:: faults:: cli:: shared_machine:: throttling:: bounded:: configure:: kubelet:: policy:: registries::)

black_box() { # black_box TARGET COMMAND [TEST REASON]...: the suites against COMMAND
    local t="$1" command="$2" skip=() start=$SECONDS
    shift 2
    while [ $# -gt 0 ]; do
        say "$t: not run: $1: $2"
        skip+=(--skip "$1")
        shift 2
    done
    say "$t: the black-box suites ${SUITES[*]} against $command"
    ECR_LOGIN_TEST_BINARY="$(pwd)/$command" ECR_LOGIN_TEST_ALL=1 AWS_EC2_METADATA_DISABLED=true \
        cargo test --locked --quiet --test it -- "${SUITES[@]}" "${skip[@]}" \
        || die "$t: the black-box suites failed against $command after $((SECONDS - start)) s"
    say "$t: the black-box suites pass ($((SECONDS - start)) s)"
}

if [ "$TEST" = 1 ]; then
    for t in "${TARGETS[@]}"; do
        bin="$(binary_of "$t")"
        case "$t" in
            x86_64-unknown-linux-musl)
                "$bin" --version >/dev/null || die "$bin --version failed"
                black_box "$t" "$bin" ;;
            aarch64-unknown-linux-*)
                # qemu-user, through a wrapper, since the harness runs one file;
                # -0 passes the name it was called by (the kubelet's
                # ecr-credential-provider link) on as the binary's argv[0].
                # glibc's loader and libraries come from the cross sysroot;
                # the musl binary is static and needs none.
                wrapper="target/cross/$t/qemu/$NAME" # the binary's own name, for clap's usage
                sysroot=""
                [ "$t" = aarch64-unknown-linux-gnu ] && sysroot="-L /usr/aarch64-linux-gnu "
                mkdir -p "$(dirname "$wrapper")"
                # shellcheck disable=SC2016 # "$0" and "$@" are the wrapper's.
                printf '#!/bin/sh\n# scripts/release.sh: the arm64 release binary, under qemu-user.\nexec /usr/bin/qemu-aarch64 %s-0 "$0" %s "$@"\n' \
                    "$sysroot" "$(pwd)/$bin" >"$wrapper"
                chmod 0755 "$wrapper"
                "$wrapper" --version >/dev/null || die "$bin --version failed under qemu-aarch64"
                black_box "$t" "$wrapper" ;;
        esac
    done
fi

# --- archives -----------------------------------------------------------------------
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
archives=()
for t in "${TARGETS[@]}"; do
    base="$NAME-$VERSION-$t"
    dir="$stage/$base"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    bin="$(binary_of "$t")"
    install -m 0755 "$bin" "$dir/$(basename "$bin")"
    install -m 0644 LICENSE README.md "$dir/"
    if [[ "$t" = *windows* ]]; then
        archive="$base.zip"
        # zipfile, for one tool fewer: sorted, every entry at SOURCE_DATE_EPOCH.
        (cd "$stage" && python3 - "$OUT/$archive" "$base" <<'EOF'
import os, sys, time, zipfile
out, base = sys.argv[1], sys.argv[2]
when = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in sorted(os.listdir(base)):
        info = zipfile.ZipInfo(f"{base}/{name}", date_time=when)
        info.external_attr = (0o100755 if name.endswith(".exe") else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(base, name), "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
EOF
        ) || die "cannot write $archive"
    else
        archive="$base.tar.gz"
        ln -s "$NAME" "$dir/ecr-credential-provider"
        tar -C "$stage" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
            --numeric-owner --format=gnu -cf - "$base" | gzip -9n >"$OUT/$archive" \
            || die "cannot write $archive"
    fi
    archives+=("$archive")
    say "$OUT/$archive"
done
# SHA256SUMS over every archive in DIR, so that one run per target (or the
# macOS ones, added on a Mac: RELEASING.md) adds up to one list.
(
    cd "$OUT"
    shopt -s nullglob
    listed=("$NAME-$VERSION"-*.tar.gz "$NAME-$VERSION"-*.zip)
    # shellcheck disable=SC2207 # archive names have no spaces
    listed=($(printf '%s\n' "${listed[@]}" | LC_ALL=C sort))
    sha256sum -- "${listed[@]}" >SHA256SUMS && sha256sum --quiet -c SHA256SUMS
) || die "SHA256SUMS does not check"
say "$OUT/SHA256SUMS: ${#archives[@]} archives written, $(wc -l <"$OUT/SHA256SUMS") listed, sha256sum -c passes"
