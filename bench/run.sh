#!/usr/bin/env bash
# Build the benchmarks and run the side-by-side comparison with PyTorch (Debian's python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
POSENC_BENCH_DEPS=1 scripts/install-deps.sh
scripts/build.sh
/usr/bin/python3 bench/compare.py "$@"
