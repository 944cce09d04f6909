#!/usr/bin/env python3
"""Summarise the Tab-PET study (run_study.sh OUT): alpha picked on validation, test reported.

Reads OUT/<dataset>/<config>/runs.csv written by `posenc compare`; its columns after `seconds` are
loss_N, accuracy_N of the validation split, then loss_N, accuracy_N of the test split (Task::lengths).
Prints a markdown table: per dataset and graph, the alpha with the best mean validation metric
(accuracy, ties by lower loss; regression: lower MSE), its test metric (mean ± sd over seeds), the
paired difference to `none` (same seeds, same initialisation apart from the encoding), and the alpha
the reference code would report (best mean TEST metric, its selection rule) for comparison.
"""
import csv, math, os, statistics, sys

def runs(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    out = []
    for r in rows[1:]:
        out.append(dict(seed=int(r[1]), val_acc=float(r[4]), val_loss=float(r[5]), seconds=float(r[6]),
                        test_loss=float(r[9]), test_acc=float(r[10])))
    return out

def ms(v):
    m = statistics.mean(v)
    s = statistics.stdev(v) if len(v) > 1 else 0.0
    return m, s

def main(root):
    lines = ["| dataset | metric (test) | none | graph | alpha (val) | Tab-PET | Δ vs none (paired) | alpha (test, reference rule) | Tab-PET at it |",
             "|---|---|---|---|---|---|---|---|---|"]
    total = 0.0
    for data in sorted(os.listdir(root)):
        d = os.path.join(root, data)
        if not os.path.isdir(d) or not os.path.exists(os.path.join(d, "none", "runs.csv")):
            continue
        base = runs(os.path.join(d, "none", "runs.csv"))
        regression = math.isnan(base[0]["val_acc"])
        metric = (lambda r: math.sqrt(r["test_loss"])) if regression else (lambda r: r["test_acc"])
        name = "RMSE (std. target), lower better" if regression else "accuracy, higher better"
        bm = ms([metric(r) for r in base])
        tried = {g: sorted(float(c[len(g) + 2:]) for c in os.listdir(d) if c.startswith(g + "_a")) for g in ("spearman", "pearson", "chow_liu")}
        print(f"{data}: alphas run per graph {tried}", file=sys.stderr)
        total += sum(r["seconds"] for r in base)
        for graph in ("spearman", "pearson", "chow_liu"):
            cands = {}
            for cfg in sorted(os.listdir(d)):
                if cfg.startswith(graph + "_a"):
                    rs = runs(os.path.join(d, cfg, "runs.csv"))
                    if rs:  # a configuration still running has fewer seeds (n below)
                        cands[float(cfg[len(graph) + 2:])] = rs
            if not cands:
                continue
            for rs in cands.values():
                total += sum(r["seconds"] for r in rs)
            def val_key(a):
                rs = cands[a]
                vl = statistics.mean(r["val_loss"] for r in rs)
                return (vl,) if regression else (-statistics.mean(r["val_acc"] for r in rs), vl)
            a_val = min(cands, key=val_key)
            sign = 1 if regression else -1
            a_test = min(cands, key=lambda a: sign * statistics.mean(metric(r) for r in cands[a]))
            tm = ms([metric(r) for r in cands[a_val]])
            by_seed = {r["seed"]: metric(r) for r in base}
            delta = ms([metric(r) - by_seed[r["seed"]] for r in cands[a_val] if r["seed"] in by_seed])
            tt = ms([metric(r) for r in cands[a_test]])
            lines.append(f"| {data} | {name} | {bm[0]:.4f} ± {bm[1]:.4f} | {graph} | {a_val:g} (n={len(cands[a_val])}) | {tm[0]:.4f} ± {tm[1]:.4f} | "
                         f"{delta[0]:+.4f} ± {delta[1]:.4f} | {a_test:g} | {tt[0]:.4f} ± {tt[1]:.4f} |")
    lines += ["", "Every configuration (mean ± sd over the seeds run; validation metric as used for the choice):", "",
              "| dataset | configuration | seeds | validation | test |", "|---|---|---|---|---|"]
    for data in sorted(os.listdir(root)):
        d = os.path.join(root, data)
        if not os.path.isdir(d):
            continue
        for cfg in ["none"] + sorted(c for c in os.listdir(d) if c != "none"):
            path = os.path.join(d, cfg, "runs.csv")
            rs = runs(path) if os.path.exists(path) else []
            if not rs:
                continue
            regression = math.isnan(rs[0]["val_acc"])
            val = ms([math.sqrt(r["val_loss"]) if regression else r["val_acc"] for r in rs])
            test = ms([math.sqrt(r["test_loss"]) if regression else r["test_acc"] for r in rs])
            unit = "RMSE" if regression else "accuracy"
            lines.append(f"| {data} | {cfg} | {len(rs)} | {unit} {val[0]:.4f} ± {val[1]:.4f} | {unit} {test[0]:.4f} ± {test[1]:.4f} |")
    lines.append("")
    lines.append(f"Training time of all runs (sum of fit seconds): {total:.0f} s.")
    print("\n".join(lines))

if __name__ == "__main__":
    main(sys.argv[1])
