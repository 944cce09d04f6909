#!/usr/bin/env bash
# Sanitizer job: builds the library, the tests, the posenc command line and the libFuzzer programs
# with clang's AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs the whole
# ctest suite there. Any report aborts the test that triggered it (-fno-sanitize-recover=all).
# The same build serves the fuzz job (FUZZ_BUILD=build-asan scripts/fuzz.sh, as .ci/run does):
# one sanitizer build instead of two. See docs/reliability.md.
# Usage: scripts/sanitize.sh [ctest arguments, e.g. -R Cli]
set -euo pipefail
cd "$(dirname "$0")/.."
# CPUs for the parallel steps. Not plain `nproc`: GNU nproc obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT,
# which the test runs set (and a user may have set), so it would report 1 or 2 whatever the machine.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
POSENC_FUZZ_DEPS=1 scripts/install-deps.sh  # clang, its sanitizer and fuzzer runtimes, libomp
# clang, not GCC: with UBSan, GCC took 1.6x clang's CPU time per file here (31.8 s against 20.1 s for
# tests/test_graph.cpp at -O1), and clang also builds the fuzzers. fuzzer-no-link adds the coverage
# counters libFuzzer needs; the sanitizer runtimes carry their no-op default for the test programs.
# -O1 keeps the build and the run short on small CI machines; benchmarks, examples and the Python
# module are not sanitized. POSENC_NATIVE=OFF: a sanitizer build has no use for -march=native paths.
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g1"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_SANITIZE="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" -DPOSENC_FUZZ=ON \
  -DPOSENC_BUILD_BENCHMARKS=OFF -DPOSENC_BUILD_EXAMPLES=OFF -DPOSENC_BUILD_PYTHON=OFF -DPOSENC_NATIVE=OFF \
  -DPOSENC_INSTALL=OFF >/dev/null
# The machine is shared: compile under the same lock as the other builds (POSENC_BUILD_LOCK).
flock "${POSENC_BUILD_LOCK:-/tmp/posenc-build.lock}" cmake --build build-asan -j "$cores"

# detect_leaks=1: LeakSanitizer runs at exit of every test and CLI process. OpenBLAS's and the
# OpenMP runtime's thread pools keep their buffers until exit by design; the suppressions name
# exactly those libraries (tests/sanitize/lsan.supp), nothing of ours.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# OpenMP and OpenBLAS threads: two per test keeps the run bounded on a 2-core machine.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
# The seconds-long learning tests of each modality (GraphFit, TrainImageFit, SphereFieldFit,
# TabularTrainFit, the patterns fit) take 30-75 s each here: they train for hundreds of steps
# through the layers, modules and trainer that the gradient, oracle, FeatureFit and Trainer tests
# already run under the sanitizers, and they stay in the Release job (scripts/test.sh).
# So does Cli/EveryEntry (45 tests, 238 s of sanitized CPU here): it runs the command line twice
# per field of every catalogue entry to compare with the library; the same encoders run
# sanitized through the library in Catalogue.EveryFieldAcceptsAChangedValue, and the command
# line's own parsing and writing in the other 59 Cli tests.
# POSENC_SANITIZE_EXCLUDE= (empty) runs them too.
exclude="${POSENC_SANITIZE_EXCLUDE-GraphFit\.|TrainImageFit\.|SphereFieldFit\.|TabularTrainFit\.|^Trainer\.LearnedAbsoluteLearnsThePatternsTask\$|^Cli/EveryEntry\.}"
(cd build-asan && ctest --output-on-failure -j "$cores" ${exclude:+-E "$exclude"} "$@")
