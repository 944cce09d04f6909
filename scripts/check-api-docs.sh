#!/usr/bin/env bash
# Build the API reference from the public headers with Doxygen (docs/Doxyfile) and fail when a
# public symbol is undocumented.
#
#   scripts/check-api-docs.sh [--out DIR] [--ignore FILE[,FILE...]] [--strict]
#
#   --out DIR     where the HTML and the warning log go (default build/docs; never the source tree)
#   --ignore F    leave warnings about these headers out of the verdict (basenames, comma-separated,
#                 repeatable): only for headers still being written, and say so where it is used
#   --strict      also fail on Doxygen's other warnings (broken links, unknown commands, bad markup)
#
# Exit status: 0 documented; 1 undocumented public symbols (or, with --strict, any warning);
# 2 usage error or Doxygen missing (Debian: apt-get install -y doxygen graphviz).
# It prints every undocumented symbol as file:line, grouped by header, and the time taken.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=build/docs
strict=0
ignore=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --ignore) IFS=, read -r -a more <<<"${2:?--ignore needs file names}"; ignore+=("${more[@]}"); shift 2 ;;
    --strict) strict=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "check-api-docs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v doxygen >/dev/null 2>&1; then
  echo "check-api-docs: doxygen not found (Debian: apt-get install -y doxygen graphviz)" >&2
  exit 2
fi

cd "$root"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
case "$out/" in "$root/include/"*|"$root/src/"*|"$root/docs/"*)
  echo "check-api-docs: refusing to write into the source tree ($out)" >&2; exit 2 ;;
esac
mkdir -p "$out"
log="$out/doxygen-warnings.log"
start=$(date +%s.%N)

# docs/Doxyfile with the output redirected; paths in it are relative to the repository root.
{ cat docs/Doxyfile
  printf 'OUTPUT_DIRECTORY = "%s"\nWARN_LOGFILE = "%s"\nQUIET = YES\n' "$out" "$log"
} | doxygen - >"$out/doxygen-stdout.log" 2>&1 || {
  echo "check-api-docs: doxygen failed:" >&2; cat "$out/doxygen-stdout.log" >&2; exit 2; }

# One warning per "file:line: warning: text" line (continuation lines belong to the one above).
ignored() {
  local f=${1##*/} i
  for i in "${ignore[@]+"${ignore[@]}"}"; do [[ "$f" == "${i##*/}" ]] && return 0; done
  return 1
}
undoc=() other=() skipped=0
while IFS= read -r line; do
  [[ "$line" =~ ^(.+):([0-9]+):\ warning:\ (.*)$ ]] || continue
  file=${BASH_REMATCH[1]#"$root/"} lineno=${BASH_REMATCH[2]} text=${BASH_REMATCH[3]}
  if ignored "$file"; then skipped=$((skipped + 1)); continue; fi
  if [[ "$text" == *"is not documented."* ]]; then undoc+=("$file:$lineno: ${text% is not documented.}")
  else other+=("$file:$lineno: $text"); fi
done < <(sort -u "$log")

elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
status=0
if [[ ${#undoc[@]} -gt 0 ]]; then
  echo "check-api-docs: ${#undoc[@]} undocumented public symbol(s):"
  printf '%s\n' "${undoc[@]}" | sort -t: -k1,1 -k2,2n | awk -F: '$1 != f { f = $1; print "  " f } { sub(/^[^:]*:/, ""); print "    " $0 }'
  status=1
fi
if [[ ${#other[@]} -gt 0 ]]; then
  echo "check-api-docs: ${#other[@]} other Doxygen warning(s)$([[ $strict == 1 ]] && echo '' || echo ' (not fatal without --strict)'):"
  printf '  %s\n' "${other[@]}" | sort -t: -k1,1 -k2,2n
  [[ $strict == 1 ]] && status=1
fi
[[ $skipped -gt 0 ]] && echo "check-api-docs: $skipped warning(s) in ignored headers (${ignore[*]}) not counted"
if [[ $status == 0 ]]; then
  echo "check-api-docs: OK, every public symbol is documented (${elapsed} s; HTML in ${out#"$root/"}/html/index.html)"
else
  echo "check-api-docs: FAILED (${elapsed} s; full log: ${log#"$root/"})"
fi
exit $status
