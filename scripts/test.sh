#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite, then check that every public symbol of
# the headers is documented (scripts/check-api-docs.sh, Doxygen), then run the shell commands of
# README.md and docs/*.md (scripts/check-docs.sh), then build and run the find_package consumer
# example against an install prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DPOSENC_BUILD_BENCHMARKS=OFF  # the benchmarks are not tests (bench/run.sh builds them)
(cd build && ctest --output-on-failure -j "$(nproc)")
scripts/check-api-docs.sh
scripts/check-docs.sh

prefix="$PWD/build/_install"
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples/consumer -B build/consumer -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/consumer -j "$(nproc)" >/dev/null
build/consumer/posenc_consumer
scripts/check-pip.sh  # pip install . (pyproject.toml, setup.py) on top of build/, offline
