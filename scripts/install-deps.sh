#!/usr/bin/env bash
# Installs posenc's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when every package is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libxtensor-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev liblapack-dev
  libspectra-dev libeigen3-dev libboost-graph-dev
  libdnnl-dev  # oneDNN: the JIT sgemm under the layers and the attention core (src/gemm.cpp)
  libxsmm-dev  # libxsmm: JIT kernels for the small products of short attention tiles (src/gemm.cpp)
  libgtest-dev libcli11-dev libbenchmark-dev libstb-dev nlohmann-json3-dev
  libcairo2-dev  # the pictures: labelled PNG + SVG (tools/plot_render.cpp)
  doxygen  # the API reference and its check (scripts/check-api-docs.sh; docs/Doxyfile has HAVE_DOT = NO)
  # the Python module (pybind11) and its tests (pytest; the autograd tests use Debian's PyTorch)
  pybind11-dev python3-dev python3-numpy python3-pytest python3-torch
  # `pip install --no-build-isolation .` offline (pyproject.toml + setup.py; scripts/check-pip.sh)
  python3-pip python3-setuptools python3-wheel
)
# The benchmark comparison scripts (bench/run.sh) also want PyTorch, NumPy, SciPy, networkx, pandas, scikit-learn and graph-tool.
if [[ "${POSENC_BENCH_DEPS:-0}" == 1 ]]; then
  packages+=(python3-numpy python3-scipy python3-torch python3-networkx python3-pandas python3-sklearn python3-graph-tool)
fi
# The fuzz job (scripts/fuzz.sh) builds libFuzzer programs with clang (libclang-rt: the fuzzer and
# sanitizer runtimes; libomp: OpenMP for clang).
if [[ "${POSENC_FUZZ_DEPS:-0}" == 1 ]]; then
  packages+=(clang libclang-rt-dev libomp-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
