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
import statistics
import subprocess
import sys
import time

import torch


def timed(fn, repeats=7):
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3


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
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/posenc_bench")
    ap.add_argument("--memory", default="build/bench/posenc_bench_memory")
    args = ap.parse_args()

    raw = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_min_time=0.5"],
                         check=True, capture_output=True, text=True).stdout
    ours = {}
    for b in json.loads(raw)["benchmarks"]:
        name, thr = b["name"].split("/")[0], int(b["name"].split("/")[1])
        ours[(name, thr)] = b
    print(f"posenc vs PyTorch {torch.__version__} (median of 7 runs), same machine, same run")
    print(f"{'workload':<28}{'thr':>4}{'posenc ms':>12}{'torch ms':>12}{'torch/posenc':>14}")
    names = {"W1": "W1_Sinusoid", "W2": "W2_RopeApply", "W3": "W3_AlibiCausal", "W4": "W4_T5Bias"}
    for thr in (1, 2):
        t = torch_workloads(thr)
        for w, bname in names.items():
            ms = ours[(bname, thr)]["real_time"]
            print(f"{bname:<28}{thr:>4}{ms:>12.2f}{t[w]:>12.2f}{t[w] / ms:>13.1f}x")
        alloc = ours[("W2_RopeApplyNewTensors", thr)]["real_time"]
        print(f"{'W2_RopeApplyNewTensors':<28}{thr:>4}{alloc:>12.2f}{t['W2']:>12.2f}{t['W2'] / alloc:>13.1f}x")
    print()
    print("yardsticks measured in the same run")
    for thr in (1, 2):
        rope = ours[("W2_RopeApply", thr)]["bytes_per_second"]
        copy = ours[("Copy_W2Bytes", thr)]["bytes_per_second"]
        gemm = ours[("Sgemm", thr)]["GFLOPs"]
        w3 = ours[("W3_AlibiCausal", thr)]["GFLOPs"]
        w4 = ours[("W4_T5Bias", thr)]["GFLOPs"]
        print(f"  threads {thr}: W2 {rope / 1e9:.1f} GB/s = {100 * rope / copy:.0f}% of memcpy {copy / 1e9:.1f} GB/s;"
              f" sgemm {gemm:.0f} GFLOP/s; W3 {w3:.0f} useful GFLOP/s ({gemm / w3:.2f}x below sgemm);"
              f" W4 {w4:.0f} ({gemm / w4:.2f}x below sgemm)")
    print()
    mem = subprocess.run([args.memory], check=True, capture_output=True, text=True).stdout.strip()
    print(mem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
