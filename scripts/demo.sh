#!/usr/bin/env bash
# The main job: install dependencies, build, and write every encoding's tables and pictures.
# Usage: scripts/demo.sh [OUT_DIR]   (default: out/)
# posenc refuses a non-empty output directory without --force; a directory that holds an earlier
# demo's output is replaced as a whole, anything else is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
dir="${1:-out}"
force=()
if [[ -f "$dir/sinusoidal/encoding.json" ]]; then force=(--force); fi
build/tools/posenc demo "$dir" "${force[@]}"
