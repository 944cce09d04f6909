#!/usr/bin/env python3
"""Backward side by side: posenc (build/bench/posenc_bench W3B/W4B) and PyTorch eager autograd.

  python3 bench/compare_backward.py [--bench build/bench/posenc_bench] [--memory build/bench/posenc_bench_memory]
                                    [--repeats 3]

Workloads (the forward's W3 and W4):
  W3  ALiBi causal attention [8 heads, 2048 tokens, 64], gradients of q, k, v (and the slopes)
  W4  T5-bias attention [12 heads, 1024 tokens, 64], gradients of q, k, v (and the bucket table)
posenc: forward keeping the log-sum-exp, then attention_backward (the two timed separately by
Google Benchmark, medians over repetitions). PyTorch: the usual eager code with the bias
materialised as a [H, N, N] tensor built from the learnable slopes / table inside the graph,
loss = sum(out * dO), forward + backward timed together.

Printed, for 1 and 2 threads, each repeat of the whole table (the machine is shared and noisy):
the backward / forward ratio of posenc (target <= 2.5, FlashAttention-2's), posenc forward +
backward against PyTorch forward + backward (target >= 10x), and the same run's sgemm and
memcpy yardsticks. Then the peak resident memory of forward + backward for ALiBi causal at
32768 tokens, 8 heads, d 64 (target < 1.5 GB).
"""
import argparse
import json
import math
import statistics
import subprocess
import sys

import torch

from timing import timed


def torch_w3(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    h, n, d = 8, 2048, 64
    q, k, v = (torch.randn(1, h, n, d, requires_grad=True) for _ in range(3))
    d_out = torch.randn(1, h, n, d)
    slopes = torch.tensor([2.0 ** (-(i + 1)) for i in range(h)], requires_grad=True)
    rel = (torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)).float()  # j - i
    causal = rel > 0

    def step():
        bias = (slopes.view(h, 1, 1) * rel.view(1, n, n)).masked_fill(causal, float("-inf"))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d) + bias
        out = torch.softmax(s, dim=-1) @ v
        (out * d_out).sum().backward()
        for t in (q, k, v, slopes):
            t.grad = None
    return timed(step, repeats=3)


def torch_w4(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    h, n, d = 12, 1024, 64
    q, k, v = (torch.randn(1, h, n, d, requires_grad=True) for _ in range(3))
    d_out = torch.randn(1, h, n, d)
    rel = torch.arange(n).view(1, n) - torch.arange(n).view(n, 1)
    half, exact = 16, 8
    m = rel.abs()
    large = exact + (torch.log(m.float().clamp(min=1) / exact) / math.log(128 / exact) * (half - exact)).long()
    large = torch.minimum(large, torch.full_like(large, half - 1))
    buckets = (rel > 0).long() * half + torch.where(m < exact, m, large)
    table = torch.randn(32, h, requires_grad=True)

    def step():
        bias = table[buckets].permute(2, 0, 1)
        out = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1) @ v
        (out * d_out).sum().backward()
        for t in (q, k, v, table):
            t.grad = None
    return timed(step, repeats=3)


def posenc_run(bench):
    raw = subprocess.run([bench, "--benchmark_format=json", "--benchmark_min_time=0.5",
                          "--benchmark_filter=W3B|W4B|Sgemm|Copy_W2Bytes"],
                         check=True, capture_output=True, text=True).stdout
    return {b["name"].replace("/real_time", ""): b for b in json.loads(raw)["benchmarks"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/posenc_bench")
    ap.add_argument("--memory", default="build/bench/posenc_bench_memory")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"posenc backward vs PyTorch {torch.__version__} eager autograd, same machine, same run")
    rows = {}
    for rep in range(args.repeats):
        ours = posenc_run(args.bench)
        for thr in (1, 2):
            theirs = {"W3": torch_w3(thr), "W4": torch_w4(thr)}
            gemm = ours[f"Sgemm/{thr}"]["GFLOPs"]
            copy = ours[f"Copy_W2Bytes/{thr}"]["bytes_per_second"] / 1e9
            for w, name in (("W3", "W3B_AlibiCausal"), ("W4", "W4B_T5Bias")):
                fwd = ours[f"{name}/{thr}/0"]["real_time"]
                bwd = ours[f"{name}/{thr}/1"]["real_time"]
                bwd_all = ours[f"{name}/{thr}/2"]["real_time"]
                rows.setdefault((w, thr), []).append((fwd, bwd, bwd_all, theirs[w], gemm, copy))
    print(f"{'workload':<10}{'thr':>4}{'fwd ms':>9}{'bwd ms':>9}{'bwd+tab':>9}{'bwd/fwd':>9}"
          f"{'posenc f+b':>12}{'torch f+b':>11}{'torch/posenc':>14}{'sgemm GF/s':>12}{'memcpy GB/s':>13}")
    for (w, thr), rs in sorted(rows.items(), key=lambda x: (x[0][1], x[0][0])):
        for fwd, bwd, bwd_all, torch_ms, gemm, copy in rs:
            ours_ms = fwd + bwd_all
            print(f"{w:<10}{thr:>4}{fwd:>9.1f}{bwd:>9.1f}{bwd_all:>9.1f}{bwd / fwd:>9.2f}"
                  f"{ours_ms:>12.1f}{torch_ms:>11.1f}{torch_ms / ours_ms:>13.1f}x{gemm:>12.0f}{copy:>13.1f}")
        ratio = [r[1] / r[0] for r in rs]
        speed = [r[3] / (r[0] + r[2]) for r in rs]
        print(f"{'  median':<14}bwd/fwd {statistics.median(ratio):.2f} (spread {min(ratio):.2f}-{max(ratio):.2f});"
              f" torch/posenc {statistics.median(speed):.1f}x (spread {min(speed):.1f}-{max(speed):.1f})")
    print()
    mem = subprocess.run([args.memory, "alibi_backward"], check=True, capture_output=True, text=True).stdout.strip()
    print(mem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
