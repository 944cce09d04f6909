#!/usr/bin/env python3
"""Reference numbers for the training component (posenc/model.hpp, posenc/optim.hpp), from PyTorch.

Every number is computed by PyTorch itself (torch.nn modules, autograd, torch.optim); no posenc
code is involved. Inputs are drawn in float32 (the values posenc receives) and, for the layers,
the forward and backward run in float64 autograd on those exact values.

  layernorm     nn.LayerNorm(6) (eps 1e-5) with random weight and bias on x [2, 3, 6]:
                y, dx, dweight, dbias for the loss sum(dy * y).
  ffn_gelu      nn.Linear(4, 16) -> nn.GELU() (exact erf) -> nn.Linear(16, 4) on x [2, 3, 4].
  ffn_relu      the same with nn.ReLU().
  pool_ce       masked mean pooling of x [3, 4, 5] over lengths (4, 2, 1), then
                F.cross_entropy(pooled @ W^T + b, targets) with W [3, 5]: loss, dlogits, dx;
                and F.cross_entropy over logits [6, 4] with one target = -100 (ignored).
  adamw         torch.optim.AdamW(lr 0.01, betas (0.9, 0.999), eps 1e-8, weight_decay 0.05)
                on two float32 parameters [3, 4] and [5], fixed random gradients for 6 steps,
                learning rate from LambdaLR with HF get_cosine_schedule_with_warmup
                (warm-up 2, total 6); parameters after every step, and the lrs used.
  clip          torch.nn.utils.clip_grad_norm_(max_norm 1.0) on two gradients: norm and clipped.

Writes tests/data/train/<case>/*.npy (float64 for the layer cases, float32 for the optimiser),
read by tests/test_model.cpp and tests/test_optim.cpp.

    /usr/bin/python3 tests/data/gen_train_torch.py tests/data/train
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64


def save(root, case, **arrays):
    d = os.path.join(root, case)
    os.makedirs(d, exist_ok=True)
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().numpy()
        np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(a))


def f32(gen, *shape, scale=1.0):
    """float32 normal draws as a float64 leaf (the exact float32 values)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).to(F64).requires_grad_()


def layernorm(root):
    g = torch.Generator().manual_seed(1)
    x, w, b, dy = f32(g, 2, 3, 6), f32(g, 6), f32(g, 6), f32(g, 2, 3, 6)
    ln = torch.nn.LayerNorm(6, eps=1e-5).to(F64)
    with torch.no_grad():
        ln.weight.copy_(w)
        ln.bias.copy_(b)
    y = ln(x)
    (y * dy).sum().backward()
    save(root, "layernorm", x=x.float(), weight=w.float(), bias=b.float(), dy=dy.float(), y=y, dx=x.grad,
         dweight=ln.weight.grad, dbias=ln.bias.grad)


def ffn(root, name, act):
    g = torch.Generator().manual_seed(2)
    x, dy = f32(g, 2, 3, 4), f32(g, 2, 3, 4)
    fc1, fc2 = torch.nn.Linear(4, 16).to(F64), torch.nn.Linear(16, 4).to(F64)
    params = {}
    with torch.no_grad():
        for lin, tag in ((fc1, "1"), (fc2, "2")):
            lin.weight.copy_(lin.weight.float().to(F64))
            lin.bias.copy_(lin.bias.float().to(F64))
            params["w" + tag] = lin.weight.detach().clone().float()
            params["b" + tag] = lin.bias.detach().clone().float()
    y = fc2(act(fc1(x)))
    (y * dy).sum().backward()
    save(root, name, x=x.float(), dy=dy.float(), y=y, dx=x.grad, dw1=fc1.weight.grad, db1=fc1.bias.grad,
         dw2=fc2.weight.grad, db2=fc2.bias.grad, **params)


def pool_ce(root):
    g = torch.Generator().manual_seed(3)
    x = f32(g, 3, 4, 5)
    lengths = torch.tensor([4, 2, 1])
    w, b = f32(g, 3, 5), f32(g, 3)
    targets = torch.tensor([2, 0, 1])
    mask = (torch.arange(4)[None, :] < lengths[:, None]).to(F64)
    pooled = (x * mask[:, :, None]).sum(1) / lengths[:, None].to(F64)
    pooled.retain_grad()
    logits = pooled @ w.T + b
    logits.retain_grad()
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    save(root, "pool_ce", x=x.float(), lengths=lengths.to(torch.int64), w=w.float(), b=b.float(),
         targets=targets.to(torch.int64), pooled=pooled, logits=logits, loss=loss.reshape(1), dlogits=logits.grad,
         dpooled=pooled.grad, dx=x.grad)
    z = f32(g, 6, 4, scale=2.0)
    t = torch.tensor([3, 0, -100, 1, 2, 2])
    loss2 = F.cross_entropy(z, t)
    loss2.backward()
    save(root, "ce_ignore", logits=z.float(), targets=t.to(torch.int64), loss=loss2.reshape(1), dlogits=z.grad)


def cosine_with_warmup(step, warmup, total):
    """HF transformers get_cosine_schedule_with_warmup's lr_lambda (num_cycles 0.5)."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def adamw(root):
    g = torch.Generator().manual_seed(4)
    p1 = torch.randn(3, 4, generator=g).requires_grad_()
    p2 = torch.randn(5, generator=g).requires_grad_()
    init1, init2 = p1.detach().clone(), p2.detach().clone()
    steps, warmup, total = 6, 2, 6
    opt = torch.optim.AdamW([p1, p2], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_with_warmup(s, warmup, total))
    g1, g2, after1, after2, lrs = [], [], [], [], []
    for _ in range(steps):
        d1 = torch.randn(3, 4, generator=g)
        d2 = torch.randn(5, generator=g) * 0.1
        p1.grad, p2.grad = d1.clone(), d2.clone()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        g1.append(d1)
        g2.append(d2)
        after1.append(p1.detach().clone())
        after2.append(p2.detach().clone())
    save(root, "adamw", init1=init1, init2=init2, grads1=torch.stack(g1), grads2=torch.stack(g2),
         after1=torch.stack(after1), after2=torch.stack(after2), lrs=np.array(lrs, dtype=np.float64))


def clip(root):
    g = torch.Generator().manual_seed(5)
    a = torch.randn(4, 3, generator=g).requires_grad_()
    b = torch.randn(7, generator=g).requires_grad_()
    a.grad, b.grad = torch.randn(4, 3, generator=g), torch.randn(7, generator=g)
    ga, gb = a.grad.clone(), b.grad.clone()
    norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    save(root, "clip", grad_a=ga, grad_b=gb, clipped_a=a.grad, clipped_b=b.grad,
         norm=np.array([float(norm)], dtype=np.float64))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "train")
    torch.manual_seed(0)
    layernorm(root)
    ffn(root, "ffn_gelu", torch.nn.GELU())
    ffn(root, "ffn_relu", torch.nn.ReLU())
    pool_ce(root)
    adamw(root)
    clip(root)


if __name__ == "__main__":
    main()
