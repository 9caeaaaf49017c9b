#!/usr/bin/env python3
"""Checks link/symbol-order.txt against a release build's link map
(ECR_LOGIN_LINK_MAP, see build.rs): the functions it lists must still be
this build's, or the linker silently keeps its own order and a cache miss
maps most of the code again. Their names carry hashes of the compiler, the
lock file and the profile, so a toolchain or dependency update makes the
list stale: scripts/symbol-order.sh writes it anew.

usage: scripts/check-symbol-order.py LIST LINK_MAP"""
import sys

# Some names change with any edit (LLVM numbers its local copies): a few
# missing are expected between regenerations.
MIN_FOUND = 0.9


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    listed = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
    symbols = set()
    with open(sys.argv[2], errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 5 and parts[3] == "1":
                symbols.add(parts[4])
    found = sum(1 for n in listed if n in symbols)
    share = found / len(listed) if listed else 0.0
    print(f"{sys.argv[1]}: {found} of {len(listed)} functions found in this build ({share:.0%})")
    if share < MIN_FOUND:
        sys.exit(f"{sys.argv[1]} is stale for this toolchain or lock file (under {MIN_FOUND:.0%} found): "
                 "run scripts/symbol-order.sh and commit the result")


if __name__ == "__main__":
    main()
