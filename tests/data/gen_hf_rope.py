#!/usr/bin/env python3
"""Reference inverse frequencies from HF transformers' RoPE initialisers.

Writes tests/data/hf_rope_inv_freq.txt, read by tests/test_rotary.cpp. Each
case is two lines: "case key=value ..." (the posenc options and the reference's
attention factor) and the inv_freq values. Generated with the compute functions
of transformers' src/transformers/modeling_rope_utils.py at commit
ef46806472a64b0013ed413781e3afed82bfa047 (v4.46 series) and PyTorch 1.13:

    python3 tests/data/gen_hf_rope.py > tests/data/hf_rope_inv_freq.txt

In that version YaRN and dynamic NTK take L0 from max_position_embeddings
(posenc: original_max_position_embeddings), and LongRoPE derives its factor
from max_position_embeddings / original_max_position_embeddings.
"""
from types import SimpleNamespace

from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS


def config(head_dim, base, rope_scaling, partial=1.0, max_pos=4096, original=None):
    c = SimpleNamespace(hidden_size=head_dim * 8, num_attention_heads=8, head_dim=head_dim, rope_theta=base,
                        partial_rotary_factor=partial, max_position_embeddings=max_pos, rope_scaling=rope_scaling)
    if original is not None:
        c.original_max_position_embeddings = original
    return c


def emit(name, rope_type, cfg, seq_len, fields):
    inv, af = ROPE_INIT_FUNCTIONS[rope_type](cfg, "cpu", seq_len)
    head = " ".join(f"{k}={v}" for k, v in fields.items())
    print(f"case name={name} rope_type={rope_type} {head} seq_len={seq_len or 0} attention_factor={float(af)!r}")
    print(" ".join(repr(float(x)) for x in inv))


def main():
    emit("llama2_default", "default", config(128, 10000.0, None), None,
         {"head_dim": 128, "rotary_dim": 128, "base": 10000.0, "factor": 1.0, "max": 0, "original": 0})
    emit("neox_partial", "default", config(64, 10000.0, None, partial=0.25), None,
         {"head_dim": 64, "rotary_dim": 16, "base": 10000.0, "factor": 1.0, "max": 0, "original": 0})
    emit("linear_4", "linear", config(64, 10000.0, {"factor": 4.0}), None,
         {"head_dim": 64, "rotary_dim": 64, "base": 10000.0, "factor": 4.0, "max": 0, "original": 0})
    for n in (1000, 2048, 5000, 16384):
        emit(f"dynamic_{n}", "dynamic", config(128, 10000.0, {"factor": 2.0}, max_pos=2048), n,
             {"head_dim": 128, "rotary_dim": 128, "base": 10000.0, "factor": 2.0, "max": 2048, "original": 2048})
    emit("yarn_128_4", "yarn", config(128, 10000.0, {"factor": 4.0}, max_pos=4096), None,
         {"head_dim": 128, "rotary_dim": 128, "base": 10000.0, "factor": 4.0, "max": 4096, "original": 4096})
    emit("yarn_qwen_partial", "yarn", config(128, 1000000.0, {"factor": 8.0, "beta_fast": 16.0, "beta_slow": 2.0},
                                              partial=0.5, max_pos=32768), None,
         {"head_dim": 128, "rotary_dim": 64, "base": 1000000.0, "factor": 8.0, "max": 32768, "original": 32768,
          "beta_fast": 16.0, "beta_slow": 2.0})
    short = [1.0 + 0.01 * k for k in range(48)]
    long = [1.0 + 0.25 * k for k in range(48)]
    for n in (4096, 4097):
        emit(f"longrope_phi3_{n}", "longrope",
             config(96, 10000.0, {"short_factor": short, "long_factor": long}, max_pos=131072, original=4096), n,
             {"head_dim": 96, "rotary_dim": 96, "base": 10000.0, "factor": 1.0, "max": 131072, "original": 4096,
              "short": ",".join(repr(x) for x in short), "long": ",".join(repr(x) for x in long)})
    emit("llama3_8b", "llama3",
         config(128, 500000.0, {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192}, max_pos=131072), None,
         {"head_dim": 128, "rotary_dim": 128, "base": 500000.0, "factor": 8.0, "max": 131072, "original": 8192,
          "low": 1.0, "high": 4.0})


if __name__ == "__main__":
    main()
