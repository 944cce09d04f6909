#!/usr/bin/env bash
# Sanitizer job: builds the library, the tests, the examples and the posenc command line with GCC's
# AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs the whole ctest suite there.
# Any report aborts the test that triggered it (-fno-sanitize-recover=all). See docs/reliability.md.
# Usage: scripts/sanitize.sh [ctest arguments, e.g. -R Cli]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g1"
# -O1 keeps the build and the run short on small CI machines; benchmarks are not tests, so they
# are left out. POSENC_NATIVE=OFF: a sanitizer build has no use for -march=native code paths.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_CXX_FLAGS_SANITIZE="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DPOSENC_BUILD_BENCHMARKS=OFF -DPOSENC_BUILD_EXAMPLES=OFF -DPOSENC_BUILD_PYTHON=OFF -DPOSENC_NATIVE=OFF \
  -DPOSENC_INSTALL=OFF >/dev/null
# The machine is shared: compile under the same lock as the other builds.
flock /tmp/posenc-build.lock cmake --build build-asan -j "$(nproc)"

# detect_leaks=1: LeakSanitizer runs at exit of every test and CLI process. OpenBLAS's and
# libgomp's thread pools keep their buffers until exit by design; the two suppressions below
# name exactly those libraries (tests/sanitize/lsan.supp), nothing of ours.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# OpenMP and OpenBLAS threads: two per test keeps the run bounded on a 2-core machine.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
(cd build-asan && ctest --output-on-failure -j "$(nproc)" "$@")
