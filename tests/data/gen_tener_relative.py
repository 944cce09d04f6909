#!/usr/bin/env python3
"""Reference output of TENER's relative multi-head attention.

Uses RelativeMultiHeadAttn from fastnlp/TENER modules/relative_transformer.py
(put the TENER checkout on PYTHONPATH), eval mode, scale=False as in the
reference, a batch of 2 whose second row has 2 padding keys. Writes q, k, v
[2, heads, tokens, head_dim] (TENER's keys are the input itself), u (r_w_bias),
v (r_r_bias), the key mask and the output [2, tokens, d_model] as .npy under
tests/data/tener_relative/ for tests/test_relative.cpp.

    PYTHONPATH=<TENER checkout> python3 tests/data/gen_tener_relative.py tests/data/tener_relative
"""
import sys

import numpy as np
import torch
from modules.relative_transformer import RelativeMultiHeadAttn

D_MODEL, N_HEAD, TOKENS = 16, 2, 9


def main(out):
    torch.manual_seed(11222026)
    att = RelativeMultiHeadAttn(D_MODEL, N_HEAD, 0.0).eval()
    x = torch.randn(2, TOKENS, D_MODEL)
    mask = torch.ones(2, TOKENS, dtype=torch.long)
    mask[1, -2:] = 0
    with torch.no_grad():
        y = att(x, mask)
        q, v = torch.chunk(att.qv_linear(x), 2, dim=-1)
    heads = lambda t: t.view(2, TOKENS, N_HEAD, -1).transpose(1, 2).numpy().astype(np.float32)
    np.save(f"{out}/q.npy", heads(q))
    np.save(f"{out}/k.npy", heads(x))
    np.save(f"{out}/v.npy", heads(v))
    np.save(f"{out}/u.npy", att.r_w_bias.detach().numpy().astype(np.float32))
    np.save(f"{out}/v_bias.npy", att.r_r_bias.detach().numpy().astype(np.float32))
    np.save(f"{out}/mask.npy", mask.numpy().astype(np.int64))
    np.save(f"{out}/out.npy", y.numpy().astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/tener_relative")
