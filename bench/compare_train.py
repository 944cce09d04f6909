#!/usr/bin/env python3
"""One training epoch of the learnable-encoding study's configuration: posenc against PyTorch.

Configuration (both sides): task `patterns` shapes (5000 training and 1000 validation sequences
of 32 tokens, vocabulary 20, 3 classes), learned absolute positions (a [32, 128] table added to
the embeddings), 3 pre-LN encoder layers (d_model 128, 8 heads, FFN 512, GELU, dropout 0.1),
final LayerNorm, mean pooling, Linear(128, 3); AdamW (lr 1e-3, weight decay 0.01), warm-up +
cosine schedule, gradient clipping at 1.0, batch 32 (157 steps), then one pass over the
validation set. Timed: the epoch (training steps and validation), as posenc reports it in
metrics.json ("seconds" of epoch 1); PyTorch eager on the CPU with torch.set_num_threads(T).
PyTorch trains on random tokens of the same shapes (the time does not depend on the values).

Usage: /usr/bin/python3 bench/compare_train.py [--posenc build/tools/posenc] [--threads 1,2]
       [--repeats 3] [--train-samples 5000]
Prints one line per (implementation, threads) with the median, min and max over the repeats,
the speed-up, and the wall time of the whole comparison.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import timing


def posenc_epoch(binary, threads, samples):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = [binary, "train", "--task", "patterns", "--encoding", "learned", "--epochs", "1", "--threads",
               str(threads), "--train-samples", str(samples), "--out", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        with open(os.path.join(out, "metrics.json")) as f:
            return json.load(f)["history"][0]["seconds"]


def torch_epoch(threads, samples, seed):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    n, vocab, d, heads, layers, classes, batch = 32, 20, 128, 8, 3, 3, 32

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, d)
            self.position = nn.Parameter(torch.randn(n, d) * 0.02)
            self.drop = nn.Dropout(0.1)
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, 0.1, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, classes)

        def forward(self, tokens):
            x = self.drop(self.embedding(tokens) + self.position[: tokens.shape[1]])
            return self.head(self.norm(self.encoder(x)).mean(dim=1))

    model = Model()
    x_train = torch.randint(0, vocab, (samples, n))
    y_train = torch.randint(0, classes, (samples,))
    x_val = torch.randint(0, vocab, (1000, n))
    y_val = torch.randint(0, classes, (1000,))
    steps = math.ceil(samples / batch)
    warmup = round(0.05 * steps)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * min(1, (s - warmup) / max(1, steps - warmup)))))
    t0 = time.perf_counter()
    model.train()
    order = torch.randperm(samples)
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        correct = 0
        for s in range(0, 1000, 128):
            correct += (model(x_val[s:s + 128]).argmax(1) == y_val[s:s + 128]).sum().item()
    return time.perf_counter() - t0


def yardsticks(threads):
    """sgemm [1024, 128] x [128, 512] (the size of the FFN products) and memcpy yardsticks of this run (timing.yardsticks)."""
    return timing.yardsticks(threads, 1024, 128, 512, 50)


def epoch_gflop(samples, val=1000, n=32, d=128, layers=3, ffn=512, classes=3):
    """Matrix-product work of one epoch: projections (4 d^2), FFN (2 d ffn) and attention
    (2 n d for scores and values) per token and layer, times 3 for training (forward, dX, dW),
    plus the validation forward."""
    per_token = layers * 2 * (4 * d * d + 2 * d * ffn + 2 * n * d) + 2 * d * classes / n
    return (3 * samples + val) * n * per_token / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posenc", default=os.path.join(os.path.dirname(__file__), "..", "build", "tools", "posenc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-samples", type=int, default=5000)
    a = ap.parse_args()
    start = time.perf_counter()
    rows = []
    work = epoch_gflop(a.train_samples)
    for t in [int(v) for v in a.threads.split(",")]:
        g, m = yardsticks(t)
        print(f"threads {t}: yardsticks sgemm {g:.1f} GFLOP/s, memcpy {m:.1f} GB/s; one epoch is {work:.0f} GFLOP "
              f"of matrix products = {work / g:.2f} s at that sgemm rate", flush=True)
        times = {"posenc": [], "pytorch": []}
        for r in range(a.repeats):  # interleaved, so that load changes hit both alike
            times["posenc"].append(posenc_epoch(a.posenc, t, a.train_samples))
            times["pytorch"].append(torch_epoch(t, a.train_samples, r))
        for name, v in times.items():
            rows.append((name, t, statistics.median(v), min(v), max(v)))
        p, q = statistics.median(times["posenc"]), statistics.median(times["pytorch"])
        print(f"threads {t}: posenc median {p:.2f} s [{min(times['posenc']):.2f}, {max(times['posenc']):.2f}], "
              f"pytorch median {q:.2f} s [{min(times['pytorch']):.2f}, {max(times['pytorch']):.2f}], "
              f"pytorch / posenc = {q / p:.2f}x", flush=True)
    print(f"whole comparison: {time.perf_counter() - start:.1f} s ({a.repeats} repeats, {a.train_samples} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
