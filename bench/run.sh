#!/usr/bin/env bash
# Build the benchmarks and run the side-by-side comparisons: PyTorch for the text workloads
# (bench/compare.py), NumPy and SciPy for the grid and sphere ones (bench/compare_grids.py).
set -euo pipefail
cd "$(dirname "$0")/.."
POSENC_BENCH_DEPS=1 scripts/install-deps.sh
scripts/build.sh
/usr/bin/python3 bench/compare.py "$@"
echo
/usr/bin/python3 bench/compare_grids.py
