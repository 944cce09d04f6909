#!/usr/bin/env python3
"""Reference numbers for the FeatureTransformer (posenc/model.hpp, src/train/feature_model.cpp), from PyTorch.

Written for posenc's tests; every number below is computed by PyTorch (torch.nn.functional, autograd);
no posenc code is involved. The FeatureTransformer's own parts (the input layer, the class token, the
pooling, the head and the losses) are not reachable one by one from the public API, so each case is a
whole tiny FeatureTransformer, written out in PyTorch from the formulas of posenc/model.hpp:

  input (per_feature, FT-Transformer's FeatureTokenizer, Gorishniy et al. 2021)
        token n = x[b, n, 0] * weight[r_n] + bias[n]               numeric feature n (r_n: its numeric rank)
        token n = categories[o_n + x[b, n, 0]] + bias[n]           categorical feature n (K_n levels,
                                                                   o_n = sum of the K before n)
  input (linear)  x @ W^T + b                                      (nn.Linear(F, D))
  [class token]   prepended (pooling cls; the trunk then sees lengths + 1)
  one pre-LN block  x1 = x + Attn(LN1(x)),  y = x1 + fc2(GELU(fc1(LN2(x1))))  (dropout 0, no position
                  encoding; Attn: per-head softmax(q k^T / sqrt(D/H)) v with the keys past lengths[b]
                  masked, then W_o; padded query rows are computed too)
  final LayerNorm, then pooling: masked mean over lengths (mean), token 0 (cls) or every token (none)
  head            Linear(D, C)
  loss            F.mse_loss (reduction mean over every element, as posenc's mse and the trainer: no
                  padding mask) or F.cross_entropy (mean over targets != -100)

Sizes: D = 8, H = 2, FFN hidden 16 (ff_multiplier 2), 1 layer, B = 2, N = 5 tokens. Every parameter is
drawn in float32 (seeded torch.Generator, not the model's initialisation) and saved as
<case>/params/<name>.npy under posenc's parameter names (load_checkpoint_parameters reads them); the
forward and backward run in float64 autograd on those exact float32 values.

  mean_mse    per_feature, categorical = (0, 3, 0, 2, 0), pooling mean, lengths (5, 3), C = 2 regression
              targets [2, 2], F.mse_loss.
  cls_ce      per_feature, categorical = (2, 0, 0, 4, 0), pooling cls, lengths (5, 4), C = 3 classes,
              F.cross_entropy on labels [2].
  none_mse    per_feature, every feature numeric (categorical empty), pooling none, no padding,
              C = 2 targets per token [2, 5, 2], F.mse_loss.
  none_ce     linear input (F = 3), pooling none, lengths (5, 3), C = 3 classes per token [2, 5], the
              padded tokens' labels -100 (ignored), F.cross_entropy.

Each case directory holds features.npy (float32 [B, N, F]), lengths.npy (int64 [B]), targets.npy
(float32) or labels.npy (int64), params/*.npy (float32), and float64 out.npy (the model's outputs),
loss.npy [1], dout.npy (d loss / d outputs) and grads/<name>.npy (d loss / d every parameter).
Read by tests/test_feature_torch.cpp. Rerun (torch 1.13 at /usr/bin/python3) with

    /usr/bin/python3 tests/data/gen_feature_torch.py tests/data/train_feature
"""
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
D, H, HIDDEN, B, N = 8, 2, 16, 2, 5


def draw(gen, *shape, scale=1.0, shift=0.0):
    """float32 normal draws as a float64 leaf (the exact float32 values)."""
    t = torch.randn(*shape, generator=gen, dtype=torch.float32) * scale + shift
    return t.to(F64).requires_grad_()


def make_params(gen, input_kind, categorical, features, classes, cls):
    p = {}
    if input_kind == "per_feature":
        numeric = sum(1 for k in categorical if k == 0) if categorical else N
        if numeric:
            p["input.weight"] = draw(gen, numeric, D, scale=0.5)
        p["input.bias"] = draw(gen, N, D, scale=0.5)
        if categorical and sum(categorical):
            p["input.categories"] = draw(gen, sum(categorical), D, scale=0.5)
    else:
        p["input.weight"] = draw(gen, D, features, scale=0.5)
        p["input.bias"] = draw(gen, D, scale=0.2)
    if cls:
        p["cls_token"] = draw(gen, D, scale=0.5)
    blk = "blocks.0."
    for m in ("q", "k", "v", "o"):
        p[blk + "attn.w_" + m] = draw(gen, D, D, scale=0.4)
        p[blk + "attn.b_" + m] = draw(gen, D, scale=0.1)
    for ln in ("ln1", "ln2"):
        p[blk + ln + ".weight"] = draw(gen, D, scale=0.2, shift=1.0)
        p[blk + ln + ".bias"] = draw(gen, D, scale=0.1)
    p[blk + "ffn.fc1.weight"] = draw(gen, HIDDEN, D, scale=0.35)
    p[blk + "ffn.fc1.bias"] = draw(gen, HIDDEN, scale=0.1)
    p[blk + "ffn.fc2.weight"] = draw(gen, D, HIDDEN, scale=0.25)
    p[blk + "ffn.fc2.bias"] = draw(gen, D, scale=0.1)
    p["final_ln.weight"] = draw(gen, D, scale=0.2, shift=1.0)
    p["final_ln.bias"] = draw(gen, D, scale=0.1)
    p["head.weight"] = draw(gen, classes, D, scale=0.5)
    p["head.bias"] = draw(gen, classes, scale=0.2)
    return p


def tokenize(p, x, categorical):
    """FT-Transformer's FeatureTokenizer: [B, N, 1] -> [B, N, D]."""
    tokens, numeric, offset = [], 0, 0
    for n in range(N):
        k = categorical[n] if categorical else 0
        if k > 0:
            idx = x[:, n, 0].long() + offset
            tokens.append(p["input.categories"][idx] + p["input.bias"][n])
            offset += k
        else:
            tokens.append(x[:, n, 0:1] * p["input.weight"][numeric] + p["input.bias"][n])
            numeric += 1
    return torch.stack(tokens, dim=1)


def attention(p, h, lengths):
    blk, dh = "blocks.0.attn.", D // H
    bsz, n = h.shape[0], h.shape[1]

    def proj(m):
        return F.linear(h, p[blk + "w_" + m], p[blk + "b_" + m]).reshape(bsz, n, H, dh).transpose(1, 2)

    q, k, v = proj("q"), proj("k"), proj("v")
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    keys = torch.arange(n)[None, :] < lengths[:, None]  # [B, N'] valid keys
    scores = scores.masked_fill(~keys[:, None, None, :], float("-inf"))
    o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(bsz, n, D)
    return F.linear(o, p[blk + "w_o"], p[blk + "b_o"])


def model(p, x, lengths, input_kind, categorical, pooling):
    h = tokenize(p, x, categorical) if input_kind == "per_feature" else F.linear(x, p["input.weight"], p["input.bias"])
    if pooling == "cls":
        h = torch.cat([p["cls_token"].expand(h.shape[0], 1, D), h], dim=1)
        lengths = lengths + 1
    blk = "blocks.0."

    def ln(t, name):
        return F.layer_norm(t, (D,), p[name + ".weight"], p[name + ".bias"], eps=1e-5)

    h = h + attention(p, ln(h, blk + "ln1"), lengths)
    h = h + F.linear(F.gelu(F.linear(ln(h, blk + "ln2"), p[blk + "ffn.fc1.weight"], p[blk + "ffn.fc1.bias"])),
                     p[blk + "ffn.fc2.weight"], p[blk + "ffn.fc2.bias"])
    h = ln(h, "final_ln")
    if pooling == "cls":
        h = h[:, 0]
    elif pooling == "mean":
        mask = (torch.arange(h.shape[1])[None, :] < lengths[:, None]).to(F64)
        h = (h * mask[:, :, None]).sum(1) / lengths[:, None].to(F64)
    return F.linear(h, p["head.weight"], p["head.bias"])


def features_for(gen, input_kind, categorical, features):
    if input_kind == "linear":
        return torch.randn(B, N, features, generator=gen, dtype=torch.float32)
    x = torch.randn(B, N, 1, generator=gen, dtype=torch.float32)
    for n, k in enumerate(categorical or []):
        if k > 0:  # sample b takes level (k - 1 - b) mod k: the last and a middle row of each table
            x[:, n, 0] = torch.tensor([float((k - 1 - b) % k) for b in range(B)])
    return x


def case(root, name, seed, input_kind, categorical, pooling, lengths, classes, loss_kind, features=1):
    gen = torch.Generator().manual_seed(seed)
    p = make_params(gen, input_kind, categorical, features, classes, pooling == "cls")
    x32 = features_for(gen, input_kind, categorical, features)
    lengths = torch.tensor(lengths, dtype=torch.int64)
    out = model(p, x32.to(F64), lengths, input_kind, categorical, pooling)
    out.retain_grad()
    arrays = {"features": x32.numpy(), "lengths": lengths.numpy()}
    if loss_kind == "mse":
        targets = torch.randn(*out.shape, generator=gen, dtype=torch.float32)
        loss = F.mse_loss(out, targets.to(F64))
        arrays["targets"] = targets.numpy()
    else:
        labels = torch.randint(0, classes, out.shape[:-1], generator=gen)
        if pooling == "none":  # padded tokens are ignored
            labels[torch.arange(N)[None, :] >= lengths[:, None]] = -100
        loss = F.cross_entropy(out.reshape(-1, classes), labels.reshape(-1), ignore_index=-100)
        arrays["labels"] = labels.numpy()
    loss.backward()
    arrays.update(out=out.detach().numpy(), loss=np.array([loss.item()]), dout=out.grad.numpy())
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("params", "grads"):
        os.makedirs(os.path.join(d, sub))
    for key, a in arrays.items():
        np.save(os.path.join(d, key + ".npy"), np.ascontiguousarray(a))
    for key, t in p.items():
        np.save(os.path.join(d, "params", key + ".npy"), t.detach().to(torch.float32).numpy())
        np.save(os.path.join(d, "grads", key + ".npy"), t.grad.numpy())


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "train_feature")
    case(root, "mean_mse", 21, "per_feature", [0, 3, 0, 2, 0], "mean", [5, 3], 2, "mse")
    case(root, "cls_ce", 22, "per_feature", [2, 0, 0, 4, 0], "cls", [5, 4], 3, "ce")
    case(root, "none_mse", 23, "per_feature", [], "none", [5, 5], 2, "mse")
    case(root, "none_ce", 24, "linear", [], "none", [5, 3], 3, "ce", features=3)


if __name__ == "__main__":
    main()
