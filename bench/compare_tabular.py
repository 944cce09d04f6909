#!/usr/bin/env python3
"""Side-by-side benchmark of Tab-PET (Spearman) end to end on a 100,000 x 64 numeric CSV: posenc
(build/bench/posenc_bench_tabular) against the reference pipeline in the same run.

The reference is the official code (kentridgeai/Tab-PET, tabpet/ft-transformer_with_tabpet) when
--tabpet points at that folder: pandas.read_csv, dag_construction.preprocess_data, StandardScaler,
run_spearman_correlation_analysis (scipy.stats.spearmanr), llpe_generation's automatic k,
eigenvectors and normalisation. Without --tabpet it runs the same library calls written out here
(pandas, scikit-learn, SciPy, NumPy). Full table on both sides (no 5000-row subsample).

Both sides are timed `--repeats` times (posenc: Google Benchmark repetitions of TP1, each the mean
of its iterations; the reference: single calls after a warm-up); the table gives medians, the lines
under it the spread [min, max], posenc's stages (TP2 reading, TP3 the rest) and the same run's
sgemm / memcpy yardsticks (bench/timing.py).

  python3 bench/compare_tabular.py [--tabpet DIR] [--bench build/bench/posenc_bench_tabular] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from sklearn.preprocessing import StandardScaler

from timing import yardsticks


def reference(folder):
    if folder:
        for name in ("igraph", "lingam"):
            stub = types.ModuleType(name)
            stub.DirectLiNGAM = object
            sys.modules[name] = stub
        sys.path.insert(0, folder)
        import dag_construction as dc
        import llpe_generation as lg

        def run(path):
            df = pd.read_csv(path)
            Xp, _, _ = dc.preprocess_data(df, verbose=False)
            Xs = StandardScaler().fit_transform(Xp)
            W, _ = dc.run_spearman_correlation_analysis(Xs, verbose=False)
            A = np.maximum(np.abs(W), np.abs(W).T)
            kf, kl = lg.automatic_k_selection(A)
            _, vecs, _, _ = lg.compute_laplacian_eigenvectors(A, kf, kl)
            return lg.apply_simple_pe_normalization(vecs)
        return run, "official Tab-PET code"

    def run(path):
        df = pd.read_csv(path).dropna()
        Xs = StandardScaler().fit_transform(df)
        W = stats.spearmanr(Xs, axis=0).correlation
        np.fill_diagonal(W, 0)
        A = np.maximum(np.abs(W), np.abs(W).T)
        d = A.sum(1)
        d[d == 0] = 1
        isq = 1 / np.sqrt(d)
        L = np.eye(len(d)) - isq[:, None] * A * isq[None, :]
        vals, vecs = np.linalg.eigh(L)
        low = vals[1:][vals[1:] <= 0.75]
        k = max(2, min(len(low), 10))
        pe = np.concatenate([vecs[:, 1:k + 1], vecs[:, -k:]], axis=1)
        return (pe - pe.mean(0)) / pe.std(0, ddof=1)
    return run, "pandas + scikit-learn + SciPy pipeline"


def spread(v):
    return f"{statistics.median(v):.0f} [{min(v):.0f}, {max(v):.0f}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tabpet", default="")
    ap.add_argument("--bench", default="build/bench/posenc_bench_tabular")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    run, what = reference(args.tabpet)
    rng = np.random.default_rng(0)
    n, f = 100_000, 64
    base = rng.normal(size=(n, 8))
    X = np.concatenate([base[:, np.arange(32) % 8] + 0.5 * rng.normal(size=(n, 32)), rng.normal(size=(n, 32))], 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.csv")
        pd.DataFrame(X, columns=[f"x{i}" for i in range(f)]).to_csv(path, index=False)
        run(path)  # warm-up
        ref = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            run(path)
            ref.append((time.perf_counter() - t0) * 1e3)
        env = dict(os.environ, POSENC_BENCH_TABLE=path)
        raw = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_min_time=1",
                              f"--benchmark_repetitions={args.repeats}"],
                             check=True, capture_output=True, text=True, env=env).stdout
    runs = {}
    for b in json.loads(raw)["benchmarks"]:
        if b.get("run_type") == "iteration":
            name, thr = b["run_name"].split("/")[0], int(b["run_name"].split("/")[1])
            runs.setdefault((name.split("_")[0], thr), []).append(b["real_time"])
    ours = {thr: runs[("TP1", thr)] for thr in (1, 2)}
    ref_ms = statistics.median(ref)
    print(f"Tab-PET (Spearman) end to end, the same 100,000 x 64 CSV on both sides, "
          f"reference: {what}; SciPy {scipy.__version__}, pandas {pd.__version__}")
    print(f"{'threads':>8}{'posenc ms':>11}{'reference ms':>14}{'ref/posenc':>12}{'target':>8}")
    for thr in (1, 2):
        ratio = ref_ms / statistics.median(ours[thr])
        print(f"{thr:>8}{statistics.median(ours[thr]):>11.0f}{ref_ms:>14.0f}{ratio:>11.1f}x{10:>7}x "
              f"{'met' if ratio >= 10 else 'MISSED'}")
    print(f"medians [min, max] of {args.repeats}: reference {spread(ref)} ms")
    for thr in (1, 2):
        g, mem = yardsticks(thr, 1024, 1024, 1024, 5)
        print(f"  {thr} thread(s): posenc end to end {spread(ours[thr])} ms (200 ms goal on 1 thread), reading "
              f"{spread(runs[('TP2', thr)])} ms, the rest {spread(runs[('TP3', thr)])} ms; "
              f"sgemm {g:.0f} GFLOP/s, memcpy {mem:.1f} GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
