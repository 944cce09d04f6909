#!/usr/bin/env python3
"""Print a comparison script's output with the previous figures recorded in docs/performance.md.

    /usr/bin/python3 bench/compare.py | python3 bench/previous.py compare.py

docs/performance.md keeps the last recorded output of each comparison script in a fenced block
opened by a line "```text previous:<script>" (section "Last recorded runs"). Every line read from
stdin is echoed; when a recorded line has the same key (its words up to and including the first
whole number: the workload and the thread count, e.g. "W4_T5Bias 1"), the recorded line follows
it, marked "was", so that a regression shows next to the new figure. Lines without a whole
number (headers, notes) are echoed alone. A script with no recorded block gets one note.
"""
import os
import re
import sys

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "performance.md")


def key(line):
    """The words of a table row up to its first whole number (the thread count), or None for
    lines that are not table rows (no whole number; prose: a parenthesis opened before it and not
    closed in the same word, a closed one such as "(MAE)" being part of a workload's name, or a
    parenthesis or colon right after it, as in "1 thread(s): ...")."""
    words = line.split()
    for n, w in enumerate(words):
        if re.fullmatch(r"\d+", w):
            prose = any("(" in v and not v.endswith(")") for v in words[:n])
            prose = prose or (n + 1 < len(words) and ("(" in words[n + 1] or words[n + 1].endswith(":")))
            return None if prose else " ".join(words[: n + 1])
    return None


def recorded(script, path=DOCS):
    """Lines of the block "```text previous:<script>" and the date line above it, or ([], None)."""
    lines, inside, when = [], False, None
    with open(path, encoding="utf-8") as f:
        text = f.read().splitlines()
    for n, line in enumerate(text):
        if line.strip() == f"```text previous:{script}":
            inside = True
            when = next((t for t in reversed(text[:n]) if t.strip()), None)
            continue
        if inside:
            if line.startswith("```"):
                break
            lines.append(line)
    return lines, when


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: previous.py <script name, e.g. compare.py>")
    script = sys.argv[1]
    old, when = recorded(script)
    by_key = {}
    for line in old:
        k = key(line)
        if k is not None and k not in by_key:
            by_key[k] = line
    if not old:
        print(f"(no previous figures of {script} recorded in docs/performance.md)")
    elif when:
        print(f"(lines marked 'was': {when.strip()})")
    for line in sys.stdin:
        line = line.rstrip("\n")
        print(line, flush=True)
        k = key(line)
        if k is not None and k in by_key:
            print(f"  was {by_key[k]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
