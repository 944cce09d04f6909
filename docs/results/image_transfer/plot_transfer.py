#!/usr/bin/env python3
"""Accuracy against grid side for each encoding of the bright_left transfer study (mean ± sd over
seeds, from `posenc compare`'s runs.csv): writes transfer.png next to this script.

Usage: /usr/bin/python3 docs/results/image_transfer/plot_transfer.py runs/bright_left/runs.csv
(matplotlib; the grid side of a column accuracy_N is sqrt(N)).
"""
import csv
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    tokens = sorted(int(k.split("_")[1]) for k in rows[0] if k.startswith("accuracy_"))
    sides = [round(math.sqrt(n)) for n in tokens]
    order = list(dict.fromkeys(r["encoding"] for r in rows))
    fig, ax = plt.subplots(figsize=(8.5, 4.2), dpi=100)
    styles = ["-", "--", "-.", ":"]
    for i, enc in enumerate(order):
        mean, sd = [], []
        for n in tokens:
            v = [float(r[f"accuracy_{n}"]) for r in rows if r["encoding"] == enc and r[f"accuracy_{n}"] not in ("", "nan")]
            mean.append(statistics.mean(v))
            sd.append(statistics.stdev(v) if len(v) > 1 else 0.0)
        ax.errorbar(sides, mean, yerr=sd, label=enc, marker="o", ms=4, capsize=3, linestyle=styles[i % 4])
    ax.axhline(0.5, color="black", lw=0.6, ls=":")  # chance
    ax.set_xticks(sides)
    ax.set_xlabel("grid side G (G x G patches)")
    ax.set_ylabel("accuracy (mean ± sd, %d seeds)" % len({r["seed"] for r in rows}))
    ax.set_ylim(0.4, 1.02)
    ax.set_title("bright_left: trained at %dx%d, evaluated at larger grids" % (sides[0], sides[0]))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "transfer.png"))


if __name__ == "__main__":
    main()
