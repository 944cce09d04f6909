#!/usr/bin/env python3
"""Reference Tab-PET encodings from the official code (kentridgeai/Tab-PET @6daab75,
tabpet/ft-transformer_with_tabpet/{dag_construction,llpe_generation}.py), run on committed CSVs.

The official modules are imported as they are; their unused imports (igraph, lingam: only for the
causal methods) are replaced by empty stand-ins. Pass the folder that holds the two modules plus
config.py and utils.py from that commit.

Tables (written here, read by posenc in the tests):
  wine.csv   the UCI wine recognition data (sklearn load_wine, 178 x 13, numeric; target left out)
  mixed.csv  a seeded synthetic mixed table (240 rows): 3 numeric columns (one with missing cells),
             a 14-level category (missing cells, top 9 + Other), a 3-level category, a boolean

For each table T and method M in (spearman, pearson, chowliu): T_M_W.npy (the graph W),
T_M_eig.npy (all eigenvalues of L), T_M_k.npy, T_M_pe.npy (the normalised PE [F, 2k]),
T_M_cols.npy (per original column, one-hot rows averaged); T_names.txt (feature names).

    python3 tests/data/gen_tabpet.py tests/data/tabular /path/to/Tab-PET/tabpet/ft-transformer_with_tabpet
"""
import os
import sys
import types

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler


def official(folder):
    for name in ("igraph", "lingam"):
        stub = types.ModuleType(name)
        stub.DirectLiNGAM = object
        sys.modules[name] = stub
    sys.path.insert(0, folder)
    import dag_construction as dc
    import llpe_generation as lg
    return dc, lg


def mixed_table(path):
    rng = np.random.default_rng(11)
    n = 240
    base = rng.normal(size=n)
    a = base + 0.3 * rng.normal(size=n)
    b = -0.5 * base + rng.normal(size=n)
    c = np.round(rng.exponential(size=n), 3)
    b_txt = [f"{x:.6f}" for x in b]
    for i in rng.choice(n, 12, replace=False):
        b_txt[i] = ""                                     # missing numeric -> row dropped
    # 14 levels with distinct frequencies (so the top 9 are unambiguous), some cells missing
    weights = np.arange(14, 0, -1, dtype=float)
    city = [f"city{int(k):02d}" for k in rng.choice(14, n, p=weights / weights.sum())]
    for i in rng.choice(n, 9, replace=False):
        city[i] = "NA"
    size = np.where(a > 0.5, "large", np.where(a > -0.5, "medium", "small"))
    flag = np.where(base + 0.5 * rng.normal(size=n) > 0, "True", "False")
    with open(path, "w") as f:
        f.write("a,b,city,c,size,flag\n")
        for i in range(n):
            f.write(f"{a[i]:.6f},{b_txt[i]},{city[i]},{c[i]},{size[i]},{flag[i]}\n")


def run(dc, lg, df, method):
    Xp, num, cat = dc.preprocess_data(df, verbose=False)
    Xs = StandardScaler().fit_transform(Xp)
    fn = {"spearman": dc.run_spearman_correlation_analysis, "pearson": dc.run_pearson_correlation_analysis,
          "chowliu": dc.run_chowliu_analysis}[method]
    W, _ = fn(Xs, verbose=False)
    A = np.maximum(np.abs(W), np.abs(W).T)
    kf, kl = lg.automatic_k_selection(A)
    _, vecs, all_vals, _ = lg.compute_laplacian_eigenvectors(A, k_first=kf, k_last=kl)
    pe = lg.apply_simple_pe_normalization(vecs)
    names = list(Xp.columns)
    cols = []
    for col in df.columns:                                # aggregate_positional_encodings_average's rule
        if col in cat:
            rows = [i for i, nm in enumerate(names) if nm.startswith(col + "_")]
            cols.append(pe[rows].mean(0) if rows else np.zeros(pe.shape[1]))
        else:
            cols.append(pe[names.index(col)] if col in names else np.zeros(pe.shape[1]))
    return W, np.sort(all_vals), kf, pe, np.array(cols), names


def main(outdir, folder):
    dc, lg = official(folder)
    os.makedirs(outdir, exist_ok=True)
    wine = load_wine(as_frame=True).data
    wine.columns = [c.replace("/", "_") for c in wine.columns]
    wine.to_csv(os.path.join(outdir, "wine.csv"), index=False)
    mixed_table(os.path.join(outdir, "mixed.csv"))
    for table in ("wine", "mixed"):
        df = pd.read_csv(os.path.join(outdir, table + ".csv"))
        for method in ("spearman", "pearson", "chowliu"):
            W, vals, k, pe, cols, names = run(dc, lg, df, method)
            stem = os.path.join(outdir, f"{table}_{method}_")
            np.save(stem + "W.npy", np.ascontiguousarray(W))
            np.save(stem + "eig.npy", vals)
            np.save(stem + "k.npy", np.array([k], dtype=np.int64))
            np.save(stem + "pe.npy", np.ascontiguousarray(pe, dtype=np.float32))
            np.save(stem + "cols.npy", np.ascontiguousarray(cols, dtype=np.float32))
        with open(os.path.join(outdir, table + "_names.txt"), "w") as f:
            f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
