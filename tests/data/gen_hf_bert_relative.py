#!/usr/bin/env python3
"""Reference outputs of HF transformers' BertSelfAttention with relative positions.

Runs BertSelfAttention (eval mode) with position_embedding_type relative_key
and relative_key_query on a small random input and writes, as .npy under
tests/data/hf_bert_relative/: the projected q, k, v [1, heads, tokens, head_dim],
the distance_embedding table [2L-1, head_dim] and the context outputs
[1, tokens, heads*head_dim]. tests/test_relative.cpp feeds q, k, v and the table
to posenc's Shaw (hf_relative_key) and Huang method 4 and compares.

    python3 tests/data/gen_hf_bert_relative.py tests/data/hf_bert_relative
"""
import sys

import numpy as np
import torch
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertSelfAttention

HIDDEN, HEADS, TOKENS, MAX_POS = 8, 2, 7, 8


def main(out):
    torch.manual_seed(20261122)
    hidden = torch.randn(1, TOKENS, HIDDEN)
    table = torch.randn(2 * MAX_POS - 1, HIDDEN // HEADS)
    weights = None
    for kind in ("relative_key", "relative_key_query"):
        cfg = BertConfig(hidden_size=HIDDEN, num_attention_heads=HEADS, max_position_embeddings=MAX_POS,
                         position_embedding_type=kind, attention_probs_dropout_prob=0.0)
        att = BertSelfAttention(cfg).eval()
        if weights is None:
            weights = {k: v.clone() for k, v in att.state_dict().items() if k != "distance_embedding.weight"}
        att.load_state_dict({**weights, "distance_embedding.weight": table})
        with torch.no_grad():
            ctx = att(hidden)[0]
            split = lambda t: t.view(1, TOKENS, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)
            q, k, v = split(att.query(hidden)), split(att.key(hidden)), split(att.value(hidden))
        np.save(f"{out}/out_{kind}.npy", ctx.numpy().astype(np.float32))
    np.save(f"{out}/q.npy", q.numpy().astype(np.float32))
    np.save(f"{out}/k.npy", k.numpy().astype(np.float32))
    np.save(f"{out}/v.npy", v.numpy().astype(np.float32))
    np.save(f"{out}/table.npy", table.numpy().astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/hf_bert_relative")
