#!/usr/bin/env bash
# Runs the shell commands of README.md and docs/*.md against the built command line, so the docs
# and the tool cannot diverge. Fails on the first command that exits non-zero, naming the file,
# the line and the command.
#
# Convention (for doc writers):
#   - Fenced blocks tagged ```sh, ```bash or ```console are run; every other block is not.
#     In a ```console block only lines starting with "$ " are commands (the rest is output).
#   - A line ending in "\" continues on the next line; "# ..." comments are left to bash.
#   - Commands run from a fresh temporary directory that links the repository's top-level
#     entries (examples/, tests/, scripts/, build/, ...), so paths read like they do from the
#     repository root, and outputs (out/, runs/, r/, ...) land in the temporary directory.
#     `posenc` is build/tools/posenc (put first on PATH). The blocks of one file run in order in
#     one bash, so a later block sees an earlier block's files.
#   - Opt-out: the line `<!-- check-docs: skip -->` (any text may follow "skip", such as the
#     reason) right before a fence skips that block: installs (apt-get, scripts/test.sh),
#     builds, long studies. Use it sparingly: a skipped block is not checked at all.
#   - Hidden set-up: an HTML comment `<!-- check-docs: setup` ... `-->` holds commands that run
#     (unseen by readers) before the next block, e.g. to write the q.npy a command reads.
#   - A command's output goes to a file, shown (last 20 lines) only when it fails;
#     CHECK_DOCS_VERBOSE=1 lists every command with its time.
#   - Each command gets CHECK_DOCS_TIMEOUT seconds (default 60); keep the total well under a
#     minute: make examples small (--epochs 1, --tokens 64) or skip them.
# Usage: scripts/check-docs.sh [FILE.md ...]   (default: README.md docs/*.md)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
[[ -x build/tools/posenc ]] || { echo "check-docs: build/tools/posenc is missing (scripts/build.sh)" >&2; exit 1; }
files=("$@")
((${#files[@]})) || files=(README.md docs/*.md)
timeout_s="${CHECK_DOCS_TIMEOUT:-60}"
py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3  # Debian's (a version manager's shim costs a second a call)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
total=0
for f in "${files[@]}"; do
  dir="$work/$(basename "$f" .md)"
  mkdir -p "$dir"
  for entry in "$root"/*; do ln -s "$entry" "$dir/$(basename "$entry")"; done
  # One bash script per file: each command preceded by its location, run under a timeout.
  "$py" - "$f" "$timeout_s" >"$dir/.check-docs.sh" <<'EOF'
import shlex, sys
path, timeout = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().split("\n")
out = ["set -uo pipefail", "fail() { echo \"check-docs: $1: command failed (exit $2): $3\" >&2; tail -n 20 .out >&2; exit 1; }"]
def emit(line_no, cmd):
    where = f"{path}:{line_no}"
    # bash -c keeps a command's own `cd`/variables from leaking; the block's files stay.
    out.append(f"t0=${{EPOCHREALTIME/./}}; timeout {timeout} bash -c {shlex.quote(cmd)} >.out 2>&1 || fail {shlex.quote(where)} $? {shlex.quote(cmd)}")
    out.append(f"echo \"ok {where} $(( (${{EPOCHREALTIME/./}} - t0) / 1000 )) ms\" >&2")
i, skip, setup = 0, False, []
while i < len(lines):
    s = lines[i].strip()
    if s.startswith("<!-- check-docs: skip"):
        skip = True
    elif s.startswith("<!-- check-docs: setup"):
        i += 1
        while i < len(lines) and lines[i].strip() != "-->":
            if lines[i].strip(): setup.append((i + 1, lines[i]))
            i += 1
    elif s.startswith("```"):
        lang = s[3:].strip().split(" ")[0]
        body_start = i + 1
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        if lang in ("sh", "bash", "console") and not skip:
            for n, c in setup: emit(n, c)
            cmd, first = "", 0
            for n, l in body:
                if lang == "console":
                    if not (l.startswith("$ ") or cmd): continue
                    if not cmd: l = l[2:]
                if not cmd:
                    if not l.strip() or l.lstrip().startswith("#"): continue
                    first = n
                if l.rstrip().endswith("\\"):
                    cmd += l.rstrip()[:-1] + " "
                    continue
                cmd += l
                emit(first, cmd.strip())
                cmd = ""
        skip, setup = False, []
    i += 1
print("\n".join(out))
EOF
  n=$(grep -c '^t0=' "$dir/.check-docs.sh" || true)
  total=$((total + n))
  ((n)) || continue
  (cd "$dir" && PATH="$root/build/tools:$PATH" bash .check-docs.sh 2>"$dir/.log") || {
    grep -v '^ok ' "$dir/.log" >&2
    exit 1
  }
  [[ -z "${CHECK_DOCS_VERBOSE:-}" ]] || cat "$dir/.log"
done
echo "check-docs: $total commands from ${#files[@]} files ran in $((SECONDS - start)) s"
