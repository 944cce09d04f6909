#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite (each test alone, then all in one
# process), then check that every public symbol of the headers is documented
# (scripts/check-api-docs.sh, Doxygen), then run the shell commands of README.md and docs/*.md
# (scripts/check-docs.sh), then build and run the find_package consumer example against an install
# prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
# CPUs for the parallel steps. Not plain `nproc`: GNU nproc obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT,
# which the test runs set (and a user may have set), so it would report 1 or 2 whatever the machine.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
scripts/install-deps.sh
scripts/build.sh -DPOSENC_BUILD_BENCHMARKS=OFF  # the benchmarks are not tests (bench/run.sh builds them)
(cd build && ctest --output-on-failure -j "$cores")
# ctest runs each test in its own process; once more all in one, in order, so that state one test
# leaves behind for the next (a thread's floating-point mode, a thread pool, a global) shows.
build/tests/posenc_tests --gtest_brief=1
scripts/check-api-docs.sh
scripts/check-docs.sh

prefix="$PWD/build/_install"
cmake --install build --prefix "$prefix" >/dev/null
cmake -S examples/consumer -B build/consumer -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/consumer -j "$cores" >/dev/null
build/consumer/posenc_consumer
scripts/check-pip.sh  # pip install . (pyproject.toml, setup.py) on top of build/, offline
