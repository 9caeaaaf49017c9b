#!/usr/bin/env bash
# The benchmark: ours against the Go helper (amazon-ecr-credential-helper)
# and against the floor (benches/floor.c), in one run on this machine, inside
# a private network namespace (nothing leaves loopback), both helpers calling
# a TLS fake of the ECR API (benches/fake-ecr, a small Rust server built here
# with cargo). See benches/README.md.
#
# usage: benches/run.sh [options]
#   --quick        few iterations (CI): checks every step works, times asserted nowhere
#   --profile      also strace and callgrind the hit and miss paths (results/profile.md)
#   --opt-levels   also build opt-level 3, "s" and "z" (each in its own target dir,
#                  /tmp/ecr-login-bench-opt-*) and compare size and hit/miss latency
#   --build-time   also time one clean `cargo build --release --locked` in its own
#                  target dir (/tmp/ecr-login-bench-opt-3, emptied first), recorded
#                  in results/build-time.txt
#   --bin PATH     measure this binary instead of building target/release
#   --profile-bin PATH  with --profile: callgrind this build instead (the same code
#                  built with symbols, e.g. --config 'profile.release.strip=false')
#   --out FILE     write the table there instead of results/latest.md (quick.md with --quick)
#   --only LIST    measure only these figures, comma-separated: hit, rules, cold, cold-sys,
#                  conc-cold, conc-warm, throttle, nocreds, size (e.g. --quick --only throttle)
#   --keep         keep the work directory
# Environment: BENCH_RUNS, BENCH_CONC_RUNS, BENCH_NOCREDS_RUNS, BENCH_THROTTLE_RUNS override the counts;
# BENCH_TIMEOUT bounds the whole measurement (seconds, default 3600);
# BENCH_EXTRA_VARIANTS="NAME=BINARY ..." adds builds of your own to the --opt-levels table;
# BENCH_VARIANT_RUNS sets that table's rounds (default: BENCH_RUNS's).
#
# Installs nothing: a missing tool is an error that names its Debian package.
# Needs root (namespaces, binding a private /etc/hosts, port 443).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RESULTS="$HERE/results"
COMMAND="benches/run.sh $*"

QUICK=0 PROFILE=0 OPT_LEVELS=0 BUILD_TIME=0 KEEP=0 BIN="" PROFILE_BIN="" OUT_ARG="" ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --profile) PROFILE=1 ;;
        --opt-levels) OPT_LEVELS=1 ;;
        --build-time) BUILD_TIME=1 ;;
        --keep) KEEP=1 ;;
        --bin) BIN="$2"; shift ;;
        --profile-bin) PROFILE_BIN="$2"; shift ;;
        --out) OUT_ARG="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "benches/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "benches/run.sh: $*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------
GO_HELPER=/usr/bin/docker-credential-ecr-login
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("'$1' (Debian package: $2)"); }
need python3 python3
need openssl openssl
need gcc gcc
need strip binutils
need unshare util-linux
need mount mount
need ip iproute2
need timeout coreutils
need pgrep procps
need cargo "the Rust toolchain (rustup)"
[ -x "$GO_HELPER" ] && grep -qa 'aws-sdk-go' "$GO_HELPER" \
    || missing+=("the Go helper at $GO_HELPER (Debian package: amazon-ecr-credential-helper)")
if [ "$PROFILE" = 1 ]; then
    need strace strace
    need valgrind valgrind
fi
if [ ${#missing[@]} -gt 0 ]; then
    printf 'benches/run.sh: missing %s\n' "${missing[@]}" >&2
    die "install the above, e.g. apt-get install amazon-ecr-credential-helper openssl python3 gcc binutils util-linux iproute2 procps$([ "$PROFILE" = 1 ] && echo " strace valgrind")"
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "python3 >= 3.9 needed"
[ "$(id -u)" -eq 0 ] || die "needs root: it creates network and mount namespaces and binds port 443"
unshare --net --mount true 2>/dev/null || die "cannot create namespaces here (unshare --net --mount failed)"

GO_VERSION="amazon-ecr-credential-helper $(dpkg-query -W -f '${Version}' amazon-ecr-credential-helper 2>/dev/null || echo '?')"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ecr-login-bench.XXXXXX")"
chmod 0755 "$WORK"
cleanup() { [ "$KEEP" = 1 ] && echo "benches/run.sh: work directory kept: $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT

load_note() {
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg), rustc processes running: $(pgrep -c -x rustc || true)"
}

# --- builds -------------------------------------------------------------------------
mkdir -p "$RESULTS"
cd "$ROOT"

# --build-time and --opt-levels build a snapshot of the sources, so that every
# build of one run sees the same code while others edit the tree.
SNAP=/tmp/ecr-login-bench-opt-src
opt_dir() { echo "/tmp/ecr-login-bench-opt-$1"; }
build_level() { # build_level LEVEL: in its own target dir, from the snapshot
    local value=$1
    case "$1" in 3) ;; *) value="\"$1\"" ;; esac
    (cd "$SNAP" && CARGO_TARGET_DIR="$(opt_dir "$1")" cargo build --release --locked \
        --config "profile.release.opt-level=$value")
}
if [ "$BUILD_TIME" = 1 ] || [ "$OPT_LEVELS" = 1 ]; then
    rm -rf "$SNAP" && mkdir -p "$SNAP"
    tar -cf - Cargo.toml Cargo.lock build.rs README.md src | tar -xf - -C "$SNAP"
    SNAP_NOTE="sources of $(git rev-parse --short=12 HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- Cargo.toml Cargo.lock build.rs src 2>/dev/null || echo ' + uncommitted changes') copied at $(date -u +%H:%M) UTC"
fi

if [ "$BUILD_TIME" = 1 ]; then
    dir="$(opt_dir 3)"
    rm -rf "$dir"
    echo "benches/run.sh: timing a clean release build in $dir" >&2
    before="$(load_note)"
    t0=$(date +%s.%N)
    build_level 3
    t1=$(date +%s.%N)
    secs=$(python3 -c "print(round($t1 - $t0))")
    printf '%d min %02d s (%s, %s, %s; at start: %s; at end: %s)\n' $((secs / 60)) $((secs % 60)) \
        "$(date -u +%Y-%m-%d)" "$(nproc) CPUs" "$SNAP_NOTE" "$before" "$(load_note)" > "$RESULTS/build-time.txt"
    cat "$RESULTS/build-time.txt" >&2
fi

if [ -z "$BIN" ]; then
    cargo build --release --locked
    BIN="$ROOT/target/release/docker-credential-ecr-login"
fi
[ -x "$BIN" ] || die "no binary at $BIN"

# The fake ECR API: its own crate, lock file and target dir.
FAKE_DIR="$HERE/fake-ecr"
CARGO_TARGET_DIR="$FAKE_DIR/target" cargo build --release --locked --manifest-path "$FAKE_DIR/Cargo.toml" \
    || die "building the fake ECR API (benches/fake-ecr) failed: see cargo's output above"
FAKE="$FAKE_DIR/target/release/fake-ecr"

gcc -O2 -o "$WORK/floor" "$HERE/floor.c"
gcc -O2 -static -o "$WORK/spawn" "$HERE/spawn.c" \
    || die "gcc -static failed: the launcher needs the static C library (Debian package: libc6-dev)"

VARIANTS=()
if [ "$OPT_LEVELS" = 1 ]; then
    for level in 3 s z; do
        case "$level" in 3) name="opt-level=3" ;; *) name="opt-level=\"$level\"" ;; esac
        echo "benches/run.sh: building $name in $(opt_dir $level)" >&2
        t0=$(date +%s.%N)
        build_level $level
        t1=$(date +%s.%N)
        echo "$name: $(python3 -c "print(round($t1 - $t0))") s this run ($(load_note))" >> "$WORK/opt-build-times.txt"
        VARIANTS+=("$name=$(opt_dir $level)/release/docker-credential-ecr-login")
    done
    echo "$SNAP_NOTE" > "$WORK/opt-snapshot.txt"
fi

# --- a quiet machine before measuring -------------------------------------------------------
# The builds above leave a gigabyte of dirty pages whose writeback runs for a
# while after them: flushed and waited out, so the first figures measured
# (the hit and the cold get) do not pay for it. Then up to a minute for the
# CPUs to be idle (95% over a second): anything else running is noted.
cpu_idle_share() { # the CPUs' idle share over one second, in percent
    local a b
    read -r -a a < /proc/stat; sleep 1; read -r -a b < /proc/stat
    local busy=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) i
    for i in 1 2 3 6 7 8; do busy=$(( busy + b[i] - a[i] )); done
    echo $(( 100 * idle / (idle + busy + 1) ))
}
settle() {
    sync
    local i share
    for i in $(seq 60); do
        share=$(cpu_idle_share)
        [ "$share" -ge 95 ] && return 0
    done
    echo "benches/run.sh: warning: the CPUs are only ${share}% idle; figures will be noisy" >&2
}
[ "$QUICK" = 1 ] || settle

# --- the measurement, inside the namespace -------------------------------------------------
if [ "$QUICK" = 1 ]; then
    RUNS=${BENCH_RUNS:-3} CONC=${BENCH_CONC_RUNS:-2} NOCREDS=${BENCH_NOCREDS_RUNS:-1} THROTTLE=${BENCH_THROTTLE_RUNS:-1} WARMUP=1
    OUT="$RESULTS/quick.md" PROFILE_OUT="$RESULTS/profile-quick.md"
else
    RUNS=${BENCH_RUNS:-40} CONC=${BENCH_CONC_RUNS:-30} NOCREDS=${BENCH_NOCREDS_RUNS:-30} THROTTLE=${BENCH_THROTTLE_RUNS:-3} WARMUP=3
    OUT="$RESULTS/latest.md" PROFILE_OUT="$RESULTS/profile.md"
    rustc_now=$(pgrep -c -x rustc || true)
    [ "${rustc_now:-0}" -eq 0 ] || echo "benches/run.sh: warning: $rustc_now rustc processes are running; figures will be noisy" >&2
fi
[ -n "$OUT_ARG" ] && OUT="$(cd "$(dirname "$OUT_ARG")" && pwd)/$(basename "$OUT_ARG")"
args=(inner --work "$WORK/ns" --ours "$BIN" --go "$GO_HELPER" --go-version "$GO_VERSION"
      --floor "$WORK/floor" --spawn "$WORK/spawn" --fake "$FAKE" --runs "$RUNS" --conc-runs "$CONC" --nocreds-runs "$NOCREDS" --throttle-runs "$THROTTLE"
      --warmup "$WARMUP" --results-dir "$RESULTS" --out "$OUT" --command "$COMMAND")
[ -f "$RESULTS/build-time.txt" ] && args+=(--build-time-file "$RESULTS/build-time.txt")
[ -n "$ONLY" ] && args+=(--only "$ONLY")
if [ "$PROFILE" = 1 ]; then
    args+=(--profile --profile-out "$PROFILE_OUT")
    [ -n "$PROFILE_BIN" ] && args+=(--profile-bin "$PROFILE_BIN")
fi
for v in ${BENCH_EXTRA_VARIANTS:-}; do VARIANTS+=("$v"); done
[ ${#VARIANTS[@]} -gt 0 ] && args+=(--variants "${VARIANTS[@]}")
[ -n "${BENCH_VARIANT_RUNS:-}" ] && args+=(--variant-runs "$BENCH_VARIANT_RUNS")
[ -f "$WORK/opt-build-times.txt" ] && args+=(--opt-build-times "$WORK/opt-build-times.txt")
[ -f "$WORK/opt-snapshot.txt" ] && args+=(--opt-snapshot "$(cat "$WORK/opt-snapshot.txt")")

timeout -k 10 "${BENCH_TIMEOUT:-3600}" \
    unshare --net --mount --pid --fork --mount-proc \
    python3 "$HERE/bench.py" "${args[@]}"
echo "benches/run.sh: table written to ${OUT#"$ROOT/"}" >&2
