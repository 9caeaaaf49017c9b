#!/usr/bin/env bash
# Runs the benchmark's latency and cold CPU rows several times, spread over
# time, and reports each run's ratios and their median. On this machine the
# cold ratio moves from run to run by more than interleaving within one run can
# cancel (benches/results/findings.md, fifth session): the median over runs
# is the steadier figure for a target at its edge.
#
# usage: benches/repeat.sh [RUNS] [--bin PATH]
#   RUNS                    how many runs (default 7)
#   --bin PATH              the binary to measure (default: build target/release)
# Environment: BENCH_REPEAT_PAUSE (seconds between runs, default 30); the
# BENCH_* counts of run.sh (here 40 latency rounds, the concurrency and
# no-credentials phases cut to one round each: they are not reported).
# Writes benches/results/repeat.md; needs what benches/run.sh needs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUNS=7 BIN=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=(--bin "${2:?--bin needs a path}"); shift ;;
        -*) echo "usage: benches/repeat.sh [RUNS] [--bin PATH]" >&2; exit 2 ;;
        *[!0-9]* | "") echo "benches/repeat.sh: RUNS must be a whole number, not '$1'" >&2; exit 2 ;;
        *) RUNS=$1 ;;
    esac
    shift
done
[ "$RUNS" -ge 1 ] || { echo "benches/repeat.sh: RUNS must be at least 1" >&2; exit 2; }
OUT_DIR="$(mktemp -d /tmp/ecr-login-repeat.XXXXXX)"
trap 'rm -rf "$OUT_DIR"' EXIT
for i in $(seq "$RUNS"); do
    [ "$i" = 1 ] || sleep "${BENCH_REPEAT_PAUSE:-30}"
    echo "benches/repeat.sh: run $i of $RUNS" >&2
    BENCH_RUNS=${BENCH_RUNS:-40} BENCH_CONC_RUNS=1 BENCH_NOCREDS_RUNS=1 \
        "$HERE/run.sh" "${BIN[@]}" --out "$OUT_DIR/run-$i.md" >"$OUT_DIR/run-$i.log" 2>&1 \
        || { tail -20 "$OUT_DIR/run-$i.log" >&2; exit 1; }
    # Later runs reuse the build.
    [ ${#BIN[@]} -gt 0 ] || BIN=(--bin "$HERE/../target/release/docker-credential-ecr-login")
done
python3 "$HERE/repeat_table.py" "$OUT_DIR"/run-*.md | tee "$HERE/results/repeat.md"
