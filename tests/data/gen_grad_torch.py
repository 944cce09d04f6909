#!/usr/bin/env python3
"""Reference gradients of attention with positional encodings, from PyTorch autograd.

Each case is written from the published formula and the public implementation's
conventions, directly in PyTorch (no posenc code is involved):

  t5                 HF transformers T5Attention: bias values[bucket(j - i)] from
                     _relative_position_bucket (bidirectional, 8 buckets, max_distance 16),
                     added to unscaled logits q.k.
  llama_gqa_yarn     HF LlamaAttention with grouped-query heads (repeat_kv) and YaRN RoPE
                     (modeling_rope_utils _compute_yarn_parameters: inv_freq and attention_factor),
                     rotate_half layout, causal mask; the two batch rows sit at positions 0.. and 7...
  alibi_causal       fairseq / ofirpress ALiBi: geometric slopes, -m (i - j) added to the scaled
                     logits, causal mask, key padding on the second row.
  shaw               tensor2tensor dot_product_attention_relative: (q.k + q.aK[rho]) / sqrt(d),
                     out = sum p (v + aV[rho]), rho = clip(j - i, -K, K) + K, per-head tables.
  txl_memory         kimiyoung/transformer-xl RelPartialLearnableMultiHeadAttn with M = 3 memory
                     tokens: [(q + u).k + (q + v).W_R R_{i+M-j}] / sqrt(d_h), R_r = [sin rw | cos rw].
  da                 DA-Transformer: ReLU(q.k) R^_ij / sqrt(d), R^ = (1 + e^v)/(1 + e^(v - w|i-j|)).
  learned2d_bicubic  a learned ViT table [1 + 3*3, C] resampled to 4x5 as timm resample_abs_pos_embed
                     (F.interpolate bicubic, antialias, align_corners False; class row kept), added to
                     tokens x, then one-head attention with q = k = v = x + pe.
  continuous_mlp     P(p) = W2 GELU(W1 p / 10 + b1) + b2 (exact erf GELU) added to tokens x, then
                     causal one-head attention with q = k = v = x + P.

The loss is sum(d_out * out). Inputs are drawn in float32 (the values posenc
receives); every computation runs in float64 autograd. Each case writes
tests/data/grad/<case>/*.npy: inputs as float32 (positions as float64,
lengths as int64), the forward output out.npy and the gradients d*.npy as
float64, in posenc's layouts (tables head-major). Read by
tests/test_gradients_torch.cpp.

    python3 tests/data/gen_grad_torch.py tests/data/grad
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64


class Case:
    def __init__(self, root, name, seed):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.gen = torch.Generator().manual_seed(seed)

    def randn(self, *shape, scale=1.0):
        """float32 normal draws, returned as a float64 leaf (the exact float32 values)."""
        t = (torch.randn(*shape, generator=self.gen, dtype=torch.float32) * scale).to(torch.float32)
        return t.to(F64).requires_grad_()

    def uniform(self, *shape, bound=1.0):
        t = ((torch.rand(*shape, generator=self.gen, dtype=torch.float32) * 2 - 1) * bound).to(torch.float32)
        return t.to(F64).requires_grad_()

    def save(self, name, t, dtype=np.float32):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        np.save(os.path.join(self.dir, name + ".npy"), np.ascontiguousarray(a.astype(dtype)))

    def save_grad(self, name, t):
        self.save(name, t.grad, np.float64)

    def backward(self, out, d_out):
        """loss = sum(d_out * out); saves d_out (float32) and out (float64)."""
        self.save("d_out", d_out)
        self.save("out", out, np.float64)
        (out * d_out.detach()).sum().backward()


def attend(s, v, visible=None):
    """softmax over the last axis with hidden keys at -inf, then p @ v; returns (out, p)."""
    if visible is not None:
        s = s.masked_fill(~visible, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return p @ v, p


def causal(nq, nk):
    i = torch.arange(nq)[:, None]
    j = torch.arange(nk)[None, :]
    return j <= i + (nk - nq)


# ---------------------------------------------------------------------------- 1. T5

def t5_relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """HF transformers T5Attention._relative_position_bucket."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def case_t5(root):
    c = Case(root, "t5", 101)
    B, H, N, d, NB, MD = 2, 2, 9, 8, 8, 16
    q, k, v = c.randn(B, H, N, d, scale=0.5), c.randn(B, H, N, d, scale=0.5), c.randn(B, H, N, d)
    table = c.randn(H, NB)  # posenc layout [H, buckets] (HF nn.Embedding(buckets, H) transposed)
    ctx = torch.arange(N)[:, None]
    mem = torch.arange(N)[None, :]
    bucket = t5_relative_position_bucket(mem - ctx, True, NB, MD)  # [N, N]
    s = q @ k.transpose(-1, -2) + table[:, bucket][None]  # T5: no 1/sqrt(d)
    out, _ = attend(s, v)
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v), ("table", table)):
        c.save(n, t)
    c.save("bucket", bucket, np.int64)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("dtable", table)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 2. Llama GQA + YaRN

def yarn_parameters(dim, base, factor, original_max, beta_fast=32.0, beta_slow=1.0, truncate=True):
    """HF modeling_rope_utils._compute_yarn_parameters (inv_freq in float64 here)."""
    def get_mscale(scale, mscale=1):
        if scale <= 1:
            return 1.0
        return 0.1 * mscale * math.log(scale) + 1.0

    attention_factor = get_mscale(factor)

    def find_correction_dim(num_rotations):
        return (dim * math.log(original_max / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = find_correction_dim(beta_fast), find_correction_dim(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1).to(F64)
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=F64) / dim)
    inv_freq_extrapolation = 1.0 / pos_freqs
    inv_freq_interpolation = 1.0 / (factor * pos_freqs)
    extrapolation_factor = 1 - ramp
    inv_freq = inv_freq_interpolation * (1 - extrapolation_factor) + inv_freq_extrapolation * extrapolation_factor
    return inv_freq, attention_factor


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def case_llama_gqa_yarn(root):
    c = Case(root, "llama_gqa_yarn", 202)
    B, H, HK, N, d = 2, 4, 2, 7, 8
    q, k, v = c.randn(B, H, N, d), c.randn(B, HK, N, d), c.randn(B, HK, N, d)
    positions = torch.stack([torch.arange(N, dtype=F64), 7 + torch.arange(N, dtype=F64)])  # [B, N]
    inv_freq, af = yarn_parameters(d, 10000.0, 4.0, 16)
    angles = positions[:, None, :, None] * inv_freq  # [B, 1, N, d/2], posenc's angle layout
    ang_q = angles.clone().requires_grad_()
    ang_k = angles.clone().requires_grad_()
    mag = torch.tensor(af, dtype=F64, requires_grad=True)

    def rotate(x, ang):  # HF apply_rotary_pos_emb with emb = cat(freqs, freqs), cos/sin * attention_factor
        emb = torch.cat((ang, ang), dim=-1)
        cos, sin = emb.cos() * mag, emb.sin() * mag
        return x * cos + rotate_half(x) * sin

    qr = rotate(q, ang_q)
    kr = rotate(k, ang_k)
    kr = kr.repeat_interleave(H // HK, dim=1)  # repeat_kv: query head h uses key head h // (H / HK)
    vr = v.repeat_interleave(H // HK, dim=1)
    s = qr @ kr.transpose(-1, -2) / math.sqrt(d)
    out, _ = attend(s, vr, causal(N, N))
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v)):
        c.save(n, t)
    c.save("positions", positions[:, :, None], np.float64)
    c.save("inv_freq", inv_freq, np.float64)
    c.save("attention_factor", np.array([af]), np.float64)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("dquery_angles", ang_q), ("dkey_angles", ang_k)):
        c.save_grad(n, t)
    c.save("dmagnitude", mag.grad.reshape(1), np.float64)


# ---------------------------------------------------------------------------- 3. ALiBi

def alibi_slopes_fairseq(n):
    """fairseq / ofirpress get_slopes."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]

    if math.log2(n).is_integer():
        return power_of_2(n)
    p = 2 ** math.floor(math.log2(n))
    return power_of_2(p) + alibi_slopes_fairseq(2 * p)[0::2][: n - p]


def case_alibi_causal(root):
    c = Case(root, "alibi_causal", 303)
    B, H, N, d = 2, 4, 8, 8
    q, k, v = c.randn(B, H, N, d), c.randn(B, H, N, d), c.randn(B, H, N, d)
    slopes = torch.tensor(alibi_slopes_fairseq(H), dtype=torch.float32).to(F64).requires_grad_()
    key_lengths = torch.tensor([N, 6])
    i = torch.arange(N, dtype=F64)[:, None]
    j = torch.arange(N, dtype=F64)[None, :]
    bias = -slopes[:, None, None] * (i - j)  # [H, N, N], added to the scaled logits
    s = q @ k.transpose(-1, -2) / math.sqrt(d) + bias[None]
    visible = causal(N, N)[None, None] & (torch.arange(N)[None, None, None, :] < key_lengths[:, None, None, None])
    out, _ = attend(s, v, visible)
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v), ("slopes", slopes)):
        c.save(n, t)
    c.save("key_lengths", key_lengths, np.int64)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("dslopes", slopes)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 4. Shaw

def case_shaw(root):
    c = Case(root, "shaw", 404)
    B, H, N, d, K = 2, 2, 9, 8, 3
    q, k, v = c.randn(B, H, N, d), c.randn(B, H, N, d), c.randn(B, H, N, d)
    a_k, a_v = c.randn(H, 2 * K + 1, d, scale=0.5), c.randn(H, 2 * K + 1, d, scale=0.5)
    rng = torch.arange(N)
    rho = torch.clamp(rng[None, :] - rng[:, None], -K, K) + K  # [N, N]: clip(j - i, -K, K) + K
    ak = a_k[:, rho]  # [H, N, N, d]
    av = a_v[:, rho]
    s = (q @ k.transpose(-1, -2) + torch.einsum("bhid,hijd->bhij", q, ak)) / math.sqrt(d)
    p = torch.softmax(s, dim=-1)
    out = p @ v + torch.einsum("bhij,hijd->bhid", p, av)
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v), ("a_k", a_k), ("a_v", a_v)):
        c.save(n, t)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("da_k", a_k), ("da_v", a_v)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 5. Transformer-XL

def case_txl_memory(root):
    c = Case(root, "txl_memory", 505)
    B, H, DH, DM, M, Q = 2, 2, 8, 8, 3, 4
    KL = M + Q
    q, k, v = c.randn(B, H, Q, DH), c.randn(B, H, KL, DH), c.randn(B, H, KL, DH)
    w_r = c.randn(H * DH, DM, scale=0.5)  # r_net.weight [H * d_head, d_model]
    u, vb = c.randn(H, DH, scale=0.5), c.randn(H, DH, scale=0.5)  # r_w_bias, r_r_bias
    # PositionalEmbedding: inv_freq = 1 / 10000^(arange(0, d_model, 2) / d_model); [sin | cos]
    inv_freq = 1.0 / (10000 ** (torch.arange(0.0, DM, 2.0, dtype=F64) / DM))
    r = torch.arange(KL, dtype=F64)  # distances 0 .. klen - 1
    sinusoid = torch.outer(r, inv_freq)
    pos_emb = torch.cat([sinusoid.sin(), sinusoid.cos()], dim=-1)  # [KL, DM]
    r_head = (pos_emb @ w_r.T).view(KL, H, DH).permute(1, 0, 2)  # [H, rows, DH]: posenc's table layout
    r_head.retain_grad()
    i = torch.arange(Q)[:, None]
    j = torch.arange(KL)[None, :]
    dist = i + M - j  # the _rel_shift result: query i (absolute M + i) against key j
    visible = dist >= 0
    ac = (q + u[None, :, None, :]) @ k.transpose(-1, -2)
    bd = torch.einsum("bhid,hijd->bhij", q + vb[None, :, None, :], r_head[:, dist.clamp(min=0)])
    s = (ac + bd) / math.sqrt(DH)
    out, _ = attend(s, v, visible)
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v), ("w_r", w_r), ("u", u), ("v_bias", vb)):
        c.save(n, t)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("dw_r", w_r), ("du", u), ("dv_bias", vb),
                 ("drel_table", r_head)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 6. DA-Transformer

def case_da(root):
    c = Case(root, "da", 606)
    B, H, N, d = 2, 2, 8, 8
    q, k, v = c.randn(B, H, N, d), c.randn(B, H, N, d), c.randn(B, H, N, d)
    vp, wp = c.uniform(H), c.uniform(H)  # DA's learnable v_h, w_h
    dist = torch.arange(N, dtype=F64)
    rescale = (1 + vp.exp()[:, None]) / (1 + (vp[:, None] - wp[:, None] * dist[None, :]).exp())  # [H, N]
    rescale.retain_grad()
    rng = torch.arange(N)
    absd = (rng[:, None] - rng[None, :]).abs()
    s = torch.relu(q @ k.transpose(-1, -2)) * rescale[:, absd][None] / math.sqrt(d)
    out, _ = attend(s, v)
    d_out = c.randn(*out.shape)
    for n, t in (("q", q), ("k", k), ("v", v), ("v_param", vp), ("w_param", wp)):
        c.save(n, t)
    c.backward(out, d_out)
    for n, t in (("dq", q), ("dk", k), ("dv", v), ("dv_param", vp), ("dw_param", wp), ("drescale", rescale)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 7. learned 2D table, bicubic

def case_learned2d_bicubic(root):
    c = Case(root, "learned2d_bicubic", 707)
    B, C, GH, GW, NH, NW, P = 2, 8, 3, 3, 4, 5, 1
    table = c.randn(P + GH * GW, C, scale=0.5)
    x = c.randn(B, P + NH * NW, C, scale=0.5)
    # timm resample_abs_pos_embed: prefix rows kept, grid [1, C, H, W] interpolated, back to rows.
    grid = table[P:].reshape(1, GH, GW, C).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(NH, NW), mode="bicubic", antialias=True, align_corners=False)
    pe = torch.cat([table[:P], grid.permute(0, 2, 3, 1).reshape(NH * NW, C)], dim=0)[None]  # [1, N, C]
    pe.retain_grad()
    y = (x + pe)[:, None]  # one head, q = k = v = x + pe
    out, _ = attend(y @ y.transpose(-1, -2) / math.sqrt(C), y)
    d_out = c.randn(*out.shape)
    c.save("table", table)
    c.save("x", x)
    c.save("pe", pe, np.float64)
    c.backward(out, d_out)
    for n, t in (("dtable", table), ("dx", x), ("dpe", pe)):
        c.save_grad(n, t)


# ---------------------------------------------------------------------------- 8. continuous MLP

def case_continuous_mlp(root):
    c = Case(root, "continuous_mlp", 808)
    B, N, C, HID, LREF = 2, 7, 8, 16, 10.0
    positions = torch.tensor([0.0, 0.5, 1.75, 3.0, 4.5, 6.25, 9.0], dtype=F64)[None, :, None]  # [1, N, 1]
    w1, b1 = c.uniform(HID, 1, bound=1.0), c.uniform(HID, bound=1.0)  # nn.Linear(1, 16) default bounds
    w2, b2 = c.uniform(C, HID, bound=1 / math.sqrt(HID)), c.uniform(C, bound=1 / math.sqrt(HID))
    x = c.randn(B, N, C, scale=0.5)
    hidden = F.gelu((positions / LREF) @ w1.T + b1, approximate="none")
    enc = hidden @ w2.T + b2  # [1, N, C]
    enc.retain_grad()
    y = (x + enc)[:, None]
    out, _ = attend(y @ y.transpose(-1, -2) / math.sqrt(C), y, causal(N, N))
    d_out = c.randn(*out.shape)
    c.save("positions", positions, np.float64)
    for n, t in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("x", x)):
        c.save(n, t)
    c.save("encoding", enc, np.float64)
    c.backward(out, d_out)
    for n, t in (("dw1", w1), ("db1", b1), ("dw2", w2), ("db2", b2), ("dx", x), ("dencoding", enc)):
        c.save_grad(n, t)


def main(root):
    torch.use_deterministic_algorithms(True)
    for case in (case_t5, case_llama_gqa_yarn, case_alibi_causal, case_shaw, case_txl_memory, case_da,
                 case_learned2d_bicubic, case_continuous_mlp):
        case(root)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/grad")
