#!/usr/bin/env bash
# Builds and runs the README's C++ example (the first ```cpp block under the heading "## C++ in")
# with GCC and clang, -Wall -Wextra -Werror, against an installed posenc (find_package), so the
# README and CI cannot diverge. Needs a built tree (scripts/test.sh); installs it into
# build/_install first. clang comes from POSENC_FUZZ_DEPS=1
# scripts/install-deps.sh (the fuzz job's packages: clang, libomp-dev).
# Usage: scripts/check-readme-example.sh [COMPILER ...]   (default: g++ clang++)
set -euo pipefail
cd "$(dirname "$0")/.."
compilers=("$@")
((${#compilers[@]})) || compilers=(g++ clang++)
[[ " ${compilers[*]} " == *clang++* ]] && POSENC_FUZZ_DEPS=1 scripts/install-deps.sh >/dev/null

prefix="$PWD/build/_install"
cmake --install build --prefix "$prefix" >/dev/null  # (re)install: the example sees the current headers

work="build/readme-example"
rm -rf "$work" && mkdir -p "$work/src"
awk '/^## C\+\+ in/ { h = 1 } h && /^```cpp/ { b = 1; next } b && /^```/ { exit } b { print }' README.md >"$work/src/main.cpp"
if [[ ! -s "$work/src/main.cpp" ]]; then
  echo "check-readme-example: README.md has no \`\`\`cpp block under '## C++ in'" >&2
  exit 1
fi
cat >"$work/src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(readme_example LANGUAGES CXX)
find_package(posenc 0.1 REQUIRED)
add_executable(readme_example main.cpp)
target_compile_options(readme_example PRIVATE -Wall -Wextra -Werror)
target_link_libraries(readme_example PRIVATE posenc::posenc)
EOF
for cxx in "${compilers[@]}"; do
  start=$SECONDS
  dir="$work/$cxx"
  if ! cmake -S "$work/src" -B "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >"$dir.log" 2>&1 ||
     ! flock /tmp/posenc-build.lock cmake --build "$dir" >>"$dir.log" 2>&1; then
    echo "check-readme-example: the README example (README.md, '## C++ in') fails to build with $cxx:" >&2
    grep -E "error|warning" "$dir.log" | head -20 >&2 || tail -20 "$dir.log" >&2
    exit 1
  fi
  "$dir/readme_example"
  echo "check-readme-example: $cxx: built with -Wall -Wextra -Werror and ran in $((SECONDS - start)) s"
done
