#!/usr/bin/env bash
# Build the benchmarks and run the side-by-side comparisons in one go: PyTorch for the text
# workloads (compare.py), NumPy/SciPy for grids and the sphere (compare_grids.py), SciPy and
# networkx for graphs (compare_graphs.py), the backward against PyTorch autograd (compare_backward.py; one
# training epoch against PyTorch is bench/compare_train.py, run separately: it takes ~15 min), and the
# Tab-PET reference pipeline (compare_tabular.py;
# set TABPET=/path/to/Tab-PET/tabpet/ft-transformer_with_tabpet to time the official code itself).
# Under every table row it prints the row recorded in docs/performance.md (bench/previous.py).
set -euo pipefail
cd "$(dirname "$0")/.."
POSENC_BENCH_DEPS=1 scripts/install-deps.sh
scripts/build.sh -DPOSENC_BUILD_BENCHMARKS=ON
# Each script's rows are followed by the figures recorded in docs/performance.md ("was ...").
/usr/bin/python3 bench/compare.py "$@" | python3 bench/previous.py compare.py
echo
/usr/bin/python3 bench/compare_backward.py | python3 bench/previous.py compare_backward.py
echo
/usr/bin/python3 bench/compare_grids.py | python3 bench/previous.py compare_grids.py
echo
/usr/bin/python3 bench/compare_graphs.py | python3 bench/previous.py compare_graphs.py
echo
/usr/bin/python3 bench/compare_tabular.py ${TABPET:+--tabpet "$TABPET"} | python3 bench/previous.py compare_tabular.py
