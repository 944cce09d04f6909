#!/usr/bin/env bash
# Configures and builds posenc (Release) into build/. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
# CPUs for the parallel steps. Not plain `nproc`: GNU nproc obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT,
# which the test runs set (and a user may have set), so it would report 1 or 2 whatever the machine.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$cores"
