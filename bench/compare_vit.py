#!/usr/bin/env python3
"""One training epoch of the image study's small ViT (digits, learned_2d): posenc against PyTorch.

Configuration (both sides; `posenc train --task digits --encoding learned_2d` with the image
study's settings --d-model 64 --layers 2 --heads 4 --lr 3e-3, see docs/experiments-image.md):
1347 training and 450 validation images, each a 4x4 grid of 2x2 patches (16 tokens of F = 4
pixel values), 10 classes; a linear patch embedding Linear(4, 64), a learned 2D table [16, 64]
added to it, dropout 0.1, 2 pre-LN encoder layers (d_model 64, 4 heads, FFN 256, GELU, dropout
0.1), final LayerNorm, mean pooling over the 16 tokens, Linear(64, 10); cross-entropy, AdamW
(lr 3e-3, weight decay 0.01), warm-up (5 % of all steps) + cosine schedule, gradient clipping
at 1.0, batch 32 (43 steps, the last one of 3 images), then one pass over the validation set
(batches of 256 images, posenc's 4096 tokens). 102090 parameters on both sides.

Timed: each epoch (training steps and validation) of a 2-epoch run, as posenc reports it in
metrics.json ("seconds" of epochs 1 and 2; posenc's epoch also saves the best checkpoint, a few
hundred kB); PyTorch eager on the CPU with torch.set_num_threads(T), timed the same way (no
checkpoint). Epoch 1 is the cold one (first allocations, first-touch pages), epoch 2 the steady
state. PyTorch trains on random images of the same shapes (the time does not depend on the values).
Also the CPU seconds of one steady epoch, less sensitive than wall time to other processes on a
shared machine: posenc (CPU of a 4-epoch run - CPU of a 2-epoch run) / 2 from getrusage of the
child; PyTorch time.process_time() of its epoch 2.

Usage: /usr/bin/python3 bench/compare_vit.py [--posenc build/tools/posenc] [--threads 1,2]
       [--repeats 5] [--baseline OTHER_POSENC]
--baseline times a second posenc binary (e.g. one built before a change) in the same interleaved
loop and prints its line too.
Prints the same run's sgemm and memcpy yardsticks, then one line per (epoch, threads) with the
median, min and max over the repeats (posenc and PyTorch interleaved), the speed-up three ways
(ratio of the medians, of the minima, and the median of the per-repeat ratios, each repeat running
the two back to back), the raw values, and the wall time of the whole comparison.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import timing

TRAIN, VAL, TOKENS, FEATURES, D, HEADS, LAYERS, CLASSES, BATCH, EPOCHS = 1347, 450, 16, 4, 64, 4, 2, 10, 32, 2


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def posenc_run(binary, threads, epochs):
    """Wall seconds of each epoch (metrics.json) and the CPU seconds of the whole process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = [binary, "train", "--task", "digits", "--encoding", "learned_2d", "--epochs", str(epochs),
               "--d-model", str(D), "--layers", str(LAYERS), "--heads", str(HEADS), "--lr", "3e-3",
               "--threads", str(threads), "--out", out]
        cpu = children_cpu()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        cpu = children_cpu() - cpu
        with open(os.path.join(out, "metrics.json")) as f:
            m = json.load(f)
        assert m["parameters"] == 102090 and m["train_samples"] == TRAIN, (m["parameters"], m["train_samples"])
        return [h["seconds"] for h in m["history"]], cpu


def posenc_epochs(binary, threads):
    """Wall seconds of epochs 1 and 2 of a 2-epoch run, then the CPU seconds of one steady epoch:
    (CPU of a 4-epoch process - CPU of a 2-epoch process) / 2 (start-up, data and pictures cancel)."""
    wall, cpu2 = posenc_run(binary, threads, EPOCHS)
    _, cpu4 = posenc_run(binary, threads, 2 * EPOCHS)
    return wall + [(cpu4 - cpu2) / EPOCHS]


def torch_epochs(threads, seed):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Linear(FEATURES, D)
            self.position = nn.Parameter(torch.randn(TOKENS, D) * 0.02)
            self.drop = nn.Dropout(0.1)
            layer = nn.TransformerEncoderLayer(D, HEADS, 4 * D, 0.1, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(D)
            self.head = nn.Linear(D, CLASSES)

        def forward(self, patches):
            x = self.drop(self.patch(patches) + self.position)
            return self.head(self.norm(self.encoder(x)).mean(dim=1))

    model = ViT()
    params = sum(p.numel() for p in model.parameters())
    assert params == 102090, params
    x_train = torch.rand(TRAIN, TOKENS, FEATURES)
    y_train = torch.randint(0, CLASSES, (TRAIN,))
    x_val = torch.rand(VAL, TOKENS, FEATURES)
    y_val = torch.randint(0, CLASSES, (VAL,))
    steps = math.ceil(TRAIN / BATCH)
    total = EPOCHS * steps
    warmup = round(0.05 * total)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * min(1, (s - warmup) / max(1, total - warmup)))))
    seconds, cpu = [], []
    for _ in range(EPOCHS):
        t0, c0 = time.perf_counter(), time.process_time()
        model.train()
        order = torch.randperm(TRAIN)
        for s in range(steps):
            idx = order[s * BATCH:(s + 1) * BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            correct = 0
            for s in range(0, VAL, 256):
                correct += (model(x_val[s:s + 256]).argmax(1) == y_val[s:s + 256]).sum().item()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return seconds + [cpu[-1]]


def yardsticks(threads):
    """sgemm [512, 64] x [64, 256] (the size of one batch's first FFN product) and memcpy yardsticks of this run (timing.yardsticks)."""
    return timing.yardsticks(threads, 512, 64, 256, 200)


def epoch_gflop(n=TOKENS, d=D, layers=LAYERS, ffn=4 * D):
    """Matrix-product work of one epoch: projections (4 d^2), FFN (2 d ffn) and attention
    (2 n d for scores and values) per token and layer, times 3 for training (forward, dX, dW),
    plus the validation forward."""
    per_token = layers * 2 * (4 * d * d + 2 * d * ffn + 2 * n * d) + 2 * FEATURES * d + 2 * d * CLASSES / n
    return (3 * TRAIN + VAL) * n * per_token / 1e9


def span(v):
    return f"{statistics.median(v):.3f} s [{min(v):.3f}, {max(v):.3f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posenc", default=os.path.join(os.path.dirname(__file__), "..", "build", "tools", "posenc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline", default="", help="a second posenc binary timed in the same loop")
    a = ap.parse_args()
    start = time.perf_counter()
    work = epoch_gflop()
    for t in [int(v) for v in a.threads.split(",")]:
        g, m = yardsticks(t)
        print(f"threads {t}: yardsticks sgemm {g:.1f} GFLOP/s, memcpy {m:.1f} GB/s; one epoch is {work:.1f} GFLOP "
              f"of matrix products = {work / g:.3f} s at that sgemm rate", flush=True)
        times = {"posenc": [], "pytorch": [], "baseline": []}
        for r in range(a.repeats):  # interleaved, so that load changes hit both alike
            times["posenc"].append(posenc_epochs(a.posenc, t))
            times["pytorch"].append(torch_epochs(t, r))
            if a.baseline:
                times["baseline"].append(posenc_epochs(a.baseline, t))
        for e in range(EPOCHS + 1):
            what = f"epoch {e + 1} wall" if e < EPOCHS else "steady epoch CPU"
            p = [v[e] for v in times["posenc"]]
            q = [v[e] for v in times["pytorch"]]
            pair = [y / x for x, y in zip(p, q)]  # the same repeat: the two ran back to back
            print(f"threads {t} {what}: posenc median {span(p)}, pytorch median {span(q)}, "
                  f"pytorch / posenc = {statistics.median(q) / statistics.median(p):.2f}x (medians), "
                  f"{min(q) / min(p):.2f}x (minima), per repeat median {statistics.median(pair):.2f}x "
                  f"[{min(pair):.2f}, {max(pair):.2f}]", flush=True)
            print(f"    raw posenc {' '.join(f'{v:.3f}' for v in p)} | pytorch {' '.join(f'{v:.3f}' for v in q)}")
            if a.baseline:
                o = [v[e] for v in times["baseline"]]
                print(f"threads {t} {what}: baseline median {span(o)}, pytorch / baseline = "
                      f"{statistics.median(q) / statistics.median(o):.2f}x, baseline / posenc = "
                      f"{statistics.median(o) / statistics.median(p):.2f}x", flush=True)
    print(f"whole comparison: {time.perf_counter() - start:.1f} s ({a.repeats} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
