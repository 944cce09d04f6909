#!/usr/bin/env python3
"""Side-by-side benchmark: posenc (build/bench/posenc_bench) and PyTorch in the same run.

Runs the foundation workloads with 1 and 2 threads, prints each time, the
PyTorch/posenc ratio and the yardsticks of the issue (W2 vs memory copy,
W3/W4 vs sgemm), then the 32k-token ALiBi memory run.

  python3 bench/compare.py [--bench build/bench/posenc_bench] [--memory build/bench/posenc_bench_memory]

PyTorch comparisons use the usual eager implementations: the tutorial
sinusoid, HF's rotate_half RoPE with cos/sin prepared once, and attention that
materialises the [H, N, N] bias (precomputed outside the timing, which favours
PyTorch) plus mask, softmax and the two matmuls.
"""
import argparse
import json
import math
import subprocess
import sys
import time

import torch

from timing import timed_spread as timed



def torch_workloads(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    # W1 sinusoid table 8192 x 1024 (PyTorch tutorial, float32)
    def w1():
        n, d = 8192, 1024
        pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
        pe = torch.zeros(n, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        return pe
    out["W1"] = timed(w1)
    # W2 RoPE on q and k [32, 4096, 128], HF rotate_half, cos/sin prepared once
    q = torch.randn(1, 32, 4096, 128)
    k = torch.randn(1, 32, 4096, 128)
    inv = 1.0 / (10000 ** (torch.arange(0, 128, 2, dtype=torch.float32) / 128))
    ang = torch.outer(torch.arange(4096, dtype=torch.float32), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rotate_half(x):
        x1, x2 = x[..., :64], x[..., 64:]
        return torch.cat((-x2, x1), dim=-1)

    out["W2"] = timed(lambda: (q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin))
    del q, k

    # W2T the cos/sin table of W2 from the positions (HF LlamaRotaryEmbedding: outer product, cat, cos, sin)
    def w2t():
        inv_freq = 1.0 / (10000 ** (torch.arange(0, 128, 2, dtype=torch.float32) / 128))
        freqs = torch.outer(torch.arange(4096, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()
    out["W2T"] = timed(w2t)
    # W3 ALiBi causal attention [8, 2048, 64], bias materialised beforehand
    h, n, d = 8, 2048, 64
    q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
    slopes = torch.tensor([2.0 ** (-(i + 1)) for i in range(h)])
    rel = torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)  # j - i
    bias = slopes.view(h, 1, 1) * rel.view(1, n, n).float()      # -m (i - j)
    bias = bias.masked_fill(rel.view(1, n, n) > 0, float("-inf"))

    def w3():
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d) + bias
        return torch.softmax(s, dim=-1) @ v
    out["W3"] = timed(w3)
    # W4 T5-bias attention [12, 1024, 64], bucketed bias materialised beforehand
    h, n = 12, 1024
    q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
    rel = torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)
    half = 16
    exact = half // 2
    m = rel.abs()
    large = exact + (torch.log(m.float() / exact) / math.log(128 / exact) * (half - exact)).to(torch.long)
    large = torch.minimum(large, torch.full_like(large, half - 1))
    buckets = (rel > 0).long() * half + torch.where(m < exact, m, large)
    table = torch.randn(32, h)
    t5bias = table[buckets].permute(2, 0, 1).contiguous()

    def w4():
        s = q @ k.transpose(-1, -2) + t5bias
        return torch.softmax(s, dim=-1) @ v
    out["W4"] = timed(w4)
    for name, (setup, _) in RELATIVE.items():
        fn = setup()
        out[name] = timed(fn, repeats=3)
        del fn
    return out


# Issue 3 workloads [12 heads, 2048 tokens, 64], materialising the relative terms as PyTorch code does.
def shaw_setup(h=12, n=2048, d=64, clip=16):
    q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
    ak, av = torch.randn(2 * clip + 1, d) * 0.02, torch.randn(2 * clip + 1, d) * 0.02
    rel = (torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)).clamp(-clip, clip) + clip

    def run():
        pk = ak[rel]                                   # [N, N, d], as HF BERT relative_key
        s = (q @ k.transpose(-1, -2) + torch.einsum("bhld,lrd->bhlr", q, pk)) / math.sqrt(d)
        p = torch.softmax(s, dim=-1)
        return p @ v + torch.einsum("bhlr,lrd->bhld", p, av[rel])
    return run


def txl_setup(h=12, n=2048, d=64, d_model=768):
    q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
    w_r = torch.randn(h * d, d_model) * 0.02
    u, vb = torch.randn(h, d) * 0.02, torch.randn(h, d) * 0.02
    inv = 1.0 / (10000 ** (torch.arange(0, d_model, 2, dtype=torch.float32) / d_model))
    r = torch.arange(n - 1, -1, -1, dtype=torch.float32)          # n-1 .. 0 as the reference
    pos_emb = torch.cat([torch.sin(torch.outer(r, inv)), torch.cos(torch.outer(r, inv))], dim=-1)
    idx = (torch.arange(n).view(n, 1) - torch.arange(n).view(1, n)).clamp(min=0)   # i - j
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)

    def run():
        r_k = (pos_emb @ w_r.t()).view(n, h, d).permute(1, 0, 2)  # [H, R, d], R index = n-1-r
        ac = (q + u.view(1, h, 1, d)) @ k.transpose(-1, -2)
        bd_all = (q + vb.view(1, h, 1, d)) @ r_k.transpose(-1, -2)  # [1, H, N, R]
        bd = torch.gather(bd_all, -1, (n - 1 - idx).view(1, 1, n, n).expand(1, h, n, n))
        s = ((ac + bd) / math.sqrt(d)).masked_fill(mask, float("-inf"))
        return torch.softmax(s, dim=-1) @ v
    return run


def da_setup(h=12, n=2048, d=64):
    q, k, v = (torch.randn(1, h, n, d) for _ in range(3))
    vv, ww = torch.rand(h) * 2 - 1, torch.rand(h) * 2 - 1
    dist = (torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)).abs().float()

    def run():
        rhat = (1 + torch.exp(vv)).view(h, 1, 1) / (1 + torch.exp(vv.view(h, 1, 1) - ww.view(h, 1, 1) * dist))
        s = torch.relu(q @ k.transpose(-1, -2)) * rhat / math.sqrt(d)
        return torch.softmax(s, dim=-1) @ v
    return run


RELATIVE = {"W5": (shaw_setup, "shaw"), "W6": (txl_setup, "transformer_xl"), "W7": (da_setup, "da_transformer")}


def one(name, threads):
    """Run one relative workload once in this process and print its peak RSS (VmHWM) for the memory column."""
    torch.set_num_threads(threads)
    fn = RELATIVE[name][0]()
    t0 = time.perf_counter()
    fn()
    ms = (time.perf_counter() - t0) * 1e3
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(f"{ms:.1f} {hwm / 1024:.1f}")


def row(name, thr, b, theirs):
    """One table row: posenc's median [min, max], PyTorch's median [min, max], the ratio of medians."""
    to_ms = {"ms": 1.0, "us": 1e-3, "ns": 1e-6}[b.get("time_unit", "ms")]
    ms, (tm, tlo, thi) = b["real_time"] * to_ms, theirs
    ours = f"{ms:.2f} [{b['lo'] * to_ms:.2f}, {b['hi'] * to_ms:.2f}]"
    return f"{name:<24}{thr:>4}{ours:>24}{f'{tm:.1f} [{tlo:.1f}, {thi:.1f}]':>26}{tm / ms:>13.1f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/posenc_bench")
    ap.add_argument("--memory", default="build/bench/posenc_bench_memory")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one, args.threads)
        return 0

    # Five repetitions of each benchmark: the median repetition is reported, with the spread.
    raw = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_min_time=0.3",
                          "--benchmark_repetitions=5", "--benchmark_filter=^(W[1-7]_|W2T_|Copy_|Write_|Sgemm)"],
                         check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(raw)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name, thr = b["name"].split("/")[0], int(b["name"].split("/")[1])
        runs.setdefault((name, thr), []).append(b)
    ours = {}
    for key, reps in runs.items():
        reps.sort(key=lambda b: b["real_time"])
        ours[key] = dict(reps[len(reps) // 2], lo=reps[0]["real_time"], hi=reps[-1]["real_time"])
    print(f"posenc (median of 5 repetitions) vs PyTorch {torch.__version__} (median of 7 runs, 3 for W5-W7),"
          " same machine, same run; [min, max]")
    print(f"{'workload':<24}{'thr':>4}{'posenc ms':>24}{'torch ms':>26}{'torch/posenc':>14}")
    names = {"W1": "W1_Sinusoid", "W2": "W2_RopeApply", "W3": "W3_AlibiCausal", "W4": "W4_T5Bias",
             "W5": "W5_Shaw", "W6": "W6_TransformerXL", "W7": "W7_DaTransformer"}
    for thr in (1, 2):
        t = torch_workloads(thr)
        for w, bname in names.items():
            print(row(bname, thr, ours[(bname, thr)], t[w]))
        print(row("W2_RopeApplyNewTensors", thr, ours[("W2_RopeApplyNewTensors", thr)], t["W2"]))
        print(row("W1_SinusoidInto", thr, ours[("W1_SinusoidInto", thr)], t["W1"]))
        print(row("W2T_RopeTable", thr, ours[("W2T_RopeTable", thr)], t["W2T"]))
        print(row("W2T_RopeTableInto", thr, ours[("W2T_RopeTableInto", thr)], t["W2T"]))
    print()
    print("yardsticks measured in the same run")
    for thr in (1, 2):
        into = ours[("W1_SinusoidInto", thr)]["bytes_per_second"]
        write = ours[("Write_W1Bytes", thr)]["bytes_per_second"]
        print(f"  threads {thr}: W1 into a reused buffer {into / 1e9:.1f} GB/s = {100 * into / write:.0f}% of"
              f" the write floor {write / 1e9:.1f} GB/s (the same bytes stored into the same buffer)")
        aligned = ours[("W1_SinusoidIntoAligned", thr)]["bytes_per_second"]
        print(f"  threads {thr}: W1 into a 64-byte aligned reused buffer {aligned / 1e9:.1f} GB/s ="
              f" {100 * aligned / write:.0f}% of the write floor")
        into = ours[("W2T_RopeTableInto", thr)]["bytes_per_second"]
        write = ours[("Write_W2TBytes", thr)]["bytes_per_second"]
        print(f"  threads {thr}: W2T into a reused table {into / 1e9:.1f} GB/s = {100 * into / write:.0f}% of"
              f" its write floor {write / 1e9:.1f} GB/s")
        rope = ours[("W2_RopeApply", thr)]["bytes_per_second"]
        copy = ours[("Copy_W2Bytes", thr)]["bytes_per_second"]
        gemm = ours[("Sgemm", thr)]["GFLOPs"]
        dnnl = ours[("SgemmOneDnn", thr)]["GFLOPs"]
        w3 = ours[("W3_AlibiCausal", thr)]["GFLOPs"]
        w4 = ours[("W4_T5Bias", thr)]["GFLOPs"]
        print(f"  threads {thr}: W2 {rope / 1e9:.1f} GB/s = {100 * rope / copy:.0f}% of memcpy {copy / 1e9:.1f} GB/s;"
              f" sgemm {gemm:.0f} GFLOP/s; W3 {w3:.0f} useful GFLOP/s ({gemm / w3:.2f}x below sgemm);"
              f" W4 {w4:.0f} ({gemm / w4:.2f}x below sgemm); oneDNN sgemm {dnnl:.0f} GFLOP/s:"
              f" W3 at {100 * w3 / dnnl:.0f}%, W4 at {100 * w4 / dnnl:.0f}% of it")
    print()
    mem = subprocess.run([args.memory], check=True, capture_output=True, text=True).stdout.strip()
    print(mem)
    print()
    print("peak resident memory of one call, [12, 2048, 64], separate processes (2 threads)")
    for name, (_, method) in RELATIVE.items():
        ours_line = subprocess.run([args.memory, method, "2048", "12", "64", "2"], check=True, capture_output=True,
                                   text=True).stdout.strip()
        theirs = subprocess.run([sys.executable, __file__, "--one", name, "--threads", "2"], check=True,
                                capture_output=True, text=True).stdout.split()
        print(f"  {method:<16} posenc: {ours_line.split('peak_rss=')[1].split(' ')[0]} MiB"
              f"   PyTorch (materialised): {theirs[1]} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
