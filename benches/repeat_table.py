"""Reads tables written by benches/run.sh and prints each run's latency
and cold CPU ratios and their median over runs (benches/repeat.sh)."""
import re
import statistics
import sys

ROWS = {
    "hit": "cache-hit `get` latency",
    "cold": "cold `get` latency (fresh",
    "cold CPU": "cold `get` CPU time",
    "cold, system roots": "cold `get` latency, system trust store",
}


def relative(row, against):
    """The row's ratio of ours to `against` ("Go" or "floor"), as run.sh
    computed it from the unrounded medians."""
    cell = row.split("|")[5]
    return float(re.search(r"([\d.]+)× " + against, cell).group(1))


def ratios(path):
    with open(path) as f:
        lines = f.read().splitlines()
    out = {"rounds": re.search(r"n=(\d+)", next(l for l in lines if l.startswith("| " + ROWS["cold"]))).group(1)}
    for name, prefix in ROWS.items():
        row = next(l for l in lines if l.startswith("| " + prefix))
        floor = relative(row, "floor") if name == "hit" else None
        out[name] = (relative(row, "Go"), floor)
    return out


def main(paths):
    runs = [ratios(p) for p in paths]
    print("## Latency ratios over repeated runs\n")
    print("| run | hit / Go | hit / floor | cold CPU / Go | cold / Go | cold, system roots / Go |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(runs, 1):
        print(f"| {i} | {r['hit'][0]:.2f}× | {r['hit'][1]:.2f}× | {r['cold CPU'][0]:.2f}× | "
              f"{r['cold'][0]:.2f}× | {r['cold, system roots'][0]:.2f}× |")
    med = lambda k, j: statistics.median(r[k][j] for r in runs)  # noqa: E731
    print(f"| **median** | **{med('hit', 0):.2f}×** | **{med('hit', 1):.2f}×** | "
          f"**{med('cold CPU', 0):.2f}×** | **{med('cold', 0):.2f}×** | "
          f"**{med('cold, system roots', 0):.2f}×** |")
    rounds = "/".join(sorted({r["rounds"] for r in runs}))
    print(f"\nEach run: `benches/run.sh`, {rounds} interleaved rounds per latency; "
          f"each ratio as the run computed it from its medians. n = {len(runs)} runs.")


if __name__ == "__main__":
    main(sys.argv[1:])
