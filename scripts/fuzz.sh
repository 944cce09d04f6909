#!/usr/bin/env bash
# Fuzz job: installs clang (POSENC_FUZZ_DEPS=1 scripts/install-deps.sh), builds the libFuzzer
# programs of tests/fuzz with clang + AddressSanitizer + UBSan into build-fuzz/ and runs each one
# for FUZZ_SECONDS (default 30) from its committed seed corpus (tests/fuzz/corpus/<target>/).
# FUZZ_BUILD=build-asan reuses the sanitizer job's build (scripts/sanitize.sh configures it with
# POSENC_FUZZ=ON and the same flags), as .ci/run does; otherwise build-fuzz/ is configured here.
# A crash, sanitizer report, leak, timeout or out-of-memory input is copied into
# tests/fuzz/regressions/<target>/ (commit it: the ctest replay then keeps it fixed) and fails
# the job. Usage: FUZZ_SECONDS=600 scripts/fuzz.sh [target ...]   (targets: npy table edges graphml dot)
set -euo pipefail
cd "$(dirname "$0")/.."
# CPUs for the parallel steps. Not plain `nproc`: GNU nproc obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT,
# which the test runs set (and a user may have set), so it would report 1 or 2 whatever the machine.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
POSENC_FUZZ_DEPS=1 scripts/install-deps.sh
seconds="${FUZZ_SECONDS:-30}"
# A fixed seed (FUZZ_SEED, default 1) makes a CI run repeat the previous one's mutations, so a
# submission's fuzz step does not pass or fail by chance; vary it locally to explore further.
seed="${FUZZ_SEED:-1}"
targets=("$@")
((${#targets[@]})) || targets=(npy table edges graphml dot)

build="${FUZZ_BUILD:-build-fuzz}"
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g1"
if ! grep -qs '^POSENC_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_FUZZ="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DPOSENC_FUZZ=ON -DPOSENC_BUILD_TESTS=OFF \
    -DPOSENC_BUILD_TOOLS=OFF -DPOSENC_BUILD_EXAMPLES=OFF -DPOSENC_BUILD_BENCHMARKS=OFF -DPOSENC_BUILD_PYTHON=OFF -DPOSENC_NATIVE=OFF \
    -DPOSENC_INSTALL=OFF >/dev/null
fi
# The machine is shared: compile under the same lock as the other builds (POSENC_BUILD_LOCK).
flock "${POSENC_BUILD_LOCK:-/tmp/posenc-build.lock}" cmake --build "$build" -j "$cores" --target posenc_fuzzers

# Leaks are findings too (detect_leaks=1, libFuzzer's default under ASan); one OpenMP thread per
# process keeps libomp's pool out of the way and the runs comparable.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

run_one() {
  local t="$1" work="$build/work/$1" art="$build/artifacts/$1/"
  mkdir -p "$work" "$art"
  # -max_len 4096: the readers' interesting structure is in the first kilobytes; -rss_limit_mb and
  # -malloc_limit_mb turn an input that makes a reader allocate far past its own size into a finding.
  if "$build"/tests/fuzz/fuzz_"$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -artifact_prefix="$art" -print_final_stats=1 -seed="$seed" \
      >"$build/$t.log" 2>&1; then
    echo "fuzz $t: ok, $(grep -m1 'stat::number_of_executed_units' "$build/$t.log" | awk '{print $2}') executions" \
         "in ${seconds} s, $(grep -c '' <(ls "$work")) corpus files, $(grep -oE 'cov: [0-9]+' "$build/$t.log" | tail -1)"
  else
    mkdir -p "tests/fuzz/regressions/$t"
    cp "$art"* "tests/fuzz/regressions/$t/" 2>/dev/null || true
    echo "fuzz $t: FAILED (see $build/$t.log); the input is in tests/fuzz/regressions/$t/"
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$build/$t.log" || tail -5 "$build/$t.log"
    return 1
fi
}
export -f run_one
export seconds seed build
# One program per core at a time.
printf '%s\n' "${targets[@]}" | xargs -P "$cores" -I{} bash -c 'run_one {}'
