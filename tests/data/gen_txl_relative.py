#!/usr/bin/env python3
"""Reference output of Transformer-XL's relative attention with memory.

Uses RelPartialLearnableMultiHeadAttn and PositionalEmbedding from
kimiyoung/transformer-xl pytorch/mem_transformer.py (put that directory on
PYTHONPATH), in eval mode, with M = 3 memory tokens and Q = 5 current tokens,
the reference's positional sequence klen-1 .. 0 and causal mask
triu(ones(Q, M+Q), 1+M). The attention vector (the input of o_net) is captured
with a forward hook and written with the projected q, k, v and the parameters,
as .npy under tests/data/txl_relative/, for tests/test_relative.cpp.

    PYTHONPATH=<transformer-xl>/pytorch python3 tests/data/gen_txl_relative.py tests/data/txl_relative
"""
import sys

import numpy as np
import torch
from mem_transformer import PositionalEmbedding, RelPartialLearnableMultiHeadAttn

N_HEAD, D_HEAD, D_MODEL, MEM, QLEN = 2, 4, 6, 3, 5


def main(out):
    torch.manual_seed(1122)
    att = RelPartialLearnableMultiHeadAttn(N_HEAD, D_MODEL, D_HEAD, 0.0, dropatt=0.0).eval()
    r_w_bias = torch.randn(N_HEAD, D_HEAD)  # u
    r_r_bias = torch.randn(N_HEAD, D_HEAD)  # v
    w = torch.randn(QLEN, 1, D_MODEL)
    mems = torch.randn(MEM, 1, D_MODEL)
    klen = MEM + QLEN
    pos_seq = torch.arange(klen - 1, -1, -1.0)
    r = PositionalEmbedding(D_MODEL)(pos_seq)[:, 0, :]  # [klen, d_model]
    mask = torch.triu(torch.ones(QLEN, klen), diagonal=1 + MEM).bool()[:, :, None]
    captured = {}

    def keep_input(module, inputs, output):  # returns None: the output is left unchanged
        captured["vec"] = inputs[0].detach().clone()

    att.o_net.register_forward_hook(keep_input)
    with torch.no_grad():
        att(w, r, r_w_bias, r_r_bias, attn_mask=mask, mems=mems)
        heads = att.qkv_net(torch.cat([mems, w], 0))
        q, k, v = torch.chunk(heads, 3, dim=-1)
        q = q[-QLEN:]
    split = lambda t: t[:, 0, :].view(t.size(0), N_HEAD, D_HEAD).permute(1, 0, 2)[None].numpy().astype(np.float32)
    np.save(f"{out}/q.npy", split(q))
    np.save(f"{out}/k.npy", split(k))
    np.save(f"{out}/v.npy", split(v))
    np.save(f"{out}/w_r.npy", att.r_net.weight.detach().numpy().astype(np.float32))
    np.save(f"{out}/u.npy", r_w_bias.numpy().astype(np.float32))
    np.save(f"{out}/v_bias.npy", r_r_bias.numpy().astype(np.float32))
    np.save(f"{out}/attn_vec.npy", captured["vec"][:, 0, :].numpy().astype(np.float32))  # [QLEN, heads*d_head]


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/txl_relative")
