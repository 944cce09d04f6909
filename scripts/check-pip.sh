#!/usr/bin/env bash
# Checks `pip install .` (pyproject.toml + setup.py) the quick way: on top of the already configured
# CMake build directory (POSENC_CMAKE_BUILD_DIR, default build/; only the posenc_python target is
# built there, seconds when it is up to date), offline (--no-build-isolation --no-index: Debian's
# setuptools and wheel), into a temporary --target directory; then imports posenc from there, outside
# the repository, and checks one encoding's shape. Leaves nothing behind but build-pip/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
build_dir=${POSENC_CMAKE_BUILD_DIR:-build}
cache="$build_dir/CMakeCache.txt"
if [[ ! -f "$cache" ]]; then
  echo "check-pip: $build_dir is not a configured CMake build directory (run scripts/build.sh first)" >&2
  exit 1
fi
if ! grep -q '^POSENC_BUILD_PYTHON:BOOL=ON$' "$cache"; then
  echo "check-pip: skipped: $build_dir has POSENC_BUILD_PYTHON=OFF (no pybind11; docs/python.md)"
  exit 0
fi
# The interpreter the build's extension is for (pip must run under it).
py=$(sed -n 's/^Python_EXECUTABLE:FILEPATH=//p' "$cache")
py=${py:-/usr/bin/python3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log="$tmp/pip.log"
# --no-deps: with --target pip ignores the installed packages, so it would look for numpy in the
# (absent) index; Debian's python3-numpy provides it at run time.
if ! POSENC_CMAKE_BUILD_DIR="$build_dir" "$py" -m pip install --no-build-isolation --no-index --no-deps \
    --no-cache-dir --disable-pip-version-check --root-user-action=ignore --quiet \
    --target "$tmp/site" . >"$log" 2>&1; then
  cat "$log" >&2
  echo "check-pip: pip install failed" >&2
  exit 1
fi
(cd "$tmp" && PYTHONPATH="$tmp/site" "$py" - "$tmp/site" <<'EOF'
import sys
import posenc
assert posenc.__file__.startswith(sys.argv[1]), posenc.__file__
enc = posenc.encode("rope", head_dim=64, tokens=128)
shape = enc.arrays["angles"].shape
assert shape == (128, 32), shape
assert "rope" in posenc.list()
EOF
)
# setuptools' defaults would be build/{lib,temp,bdist}.* and *.egg-info; setup.py sends them to build-pip/.
junk=$(compgen -G 'build/lib.*' || compgen -G 'build/temp.*' || compgen -G 'build/bdist.*' \
  || compgen -G '*.egg-info' || compgen -G 'tools/python/*.egg-info' || true)
if [[ -n "$junk" ]]; then echo "check-pip: pip left $junk in the source tree" >&2; exit 1; fi
echo "check-pip: pip install --no-build-isolation --no-index --target: import posenc OK, rope angles (128, 32) ($((SECONDS - start)) s)"
