#!/usr/bin/env bash
# The main job: install dependencies, build, and write every encoding's tables and pictures.
# Usage: scripts/demo.sh [OUT_DIR]   (default: out/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/tools/posenc demo "${1:-out}"
