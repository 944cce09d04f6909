"""posenc.torch: the attention core as a torch.autograd.Function.

    enc = posenc.encode("t5", heads=8, tokens=64)
    table = torch.nn.Parameter(torch.from_numpy(enc.arrays["bias_table"].copy()))
    out = posenc.torch.attention(q, k, v, enc, parts={"biases.0.table": table})
    out.sum().backward()          # q.grad, k.grad, v.grad and table.grad

`parts` maps a part path of the encoding (see Encoding.parts: "biases.0.table", "biases.0.slopes",
"content_position.0.table", "value.0.table", "content_bias", "multipliers.0.table",
"rotation.query_angles", ...) to a tensor that replaces it; those tensors get gradients, so
learnable tables can be nn.Parameters. posenc computes in float32: inputs of other dtypes are cast
to float32 and gradients are cast back to each input's dtype and device.
"""
from __future__ import annotations

import numpy as np
import torch

from . import _encoding_arg, _posenc, _segments

__all__ = ["attention", "PosencAttention"]


def _np32(t):
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


def _np64(t):
    return t.detach().to("cpu", torch.float64).contiguous().numpy()


class PosencAttention(torch.autograd.Function):
    """forward(q, k, v, config, *part_tensors) -> out; config carries the encoding and the options."""

    @staticmethod
    def forward(ctx, q, k, v, config, *part_tensors):
        parts = {p: (_np64(t) if p.startswith("rotation.") else _np32(t)) for p, t in zip(config["paths"], part_tensors)}
        qn, kn, vn = _np32(q), _np32(k), _np32(v)
        out, lse = _posenc.attention_forward(qn, kn, vn, config["encoding"], parts, *config["options"])
        ctx.config, ctx.parts, ctx.saved = config, parts, (qn, kn, vn, out, lse)
        ctx.dtypes = [(t.dtype, t.device) for t in (q, k, v, *part_tensors)]
        return torch.from_numpy(out).to(device=q.device, dtype=q.dtype)

    @staticmethod
    def backward(ctx, d_out):
        qn, kn, vn, out, lse = ctx.saved
        wanted = [p for p, need in zip(ctx.config["paths"], ctx.needs_input_grad[4:]) if need]
        dq, dk, dv, grads = _posenc.attention_backward(qn, kn, vn, ctx.config["encoding"], ctx.parts,
                                                       *ctx.config["options"][:6], out, lse, _np32(d_out), wanted)
        result = [dq, dk, dv, None] + [grads.get(p) for p in ctx.config["paths"]]
        typed = []
        for i, g in enumerate(result):
            if g is None or i == 3:
                typed.append(None)
                continue
            dtype, device = ctx.dtypes[i if i < 3 else i - 1]
            typed.append(torch.from_numpy(np.ascontiguousarray(g)).to(device=device, dtype=dtype))
        return tuple(typed)


def attention(q, k, v, encoding=None, causal=False, parts=None, key_lengths=None, segments=None, scale=None, threads=0):
    """posenc.attention for torch tensors, differentiable in q, k, v and in the `parts` tensors."""
    parts = dict(parts or {})
    qs, ks = _segments(segments)
    to_np = lambda x: None if x is None else np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x)
    options = (bool(causal), to_np(key_lengths), to_np(qs), to_np(ks), scale, int(threads))
    config = {"encoding": _encoding_arg(encoding), "paths": list(parts), "options": options}
    return PosencAttention.apply(q, k, v, config, *parts.values())
