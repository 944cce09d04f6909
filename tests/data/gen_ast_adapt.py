#!/usr/bin/env python3
"""Reference table adaptations following AST's ASTModel.__init__
(YuanGongND/ast src/models/ast_models.py): the patch rows of a pretrained table
are reshaped to [1, D, old_f, old_t]; the time axis is centre-cropped
[old_t//2 - t//2, + t) when t <= old_t (DeiT path) or t < old_t (AudioSet
path), else F.interpolate(size=(old_f, t), mode='bilinear'); then the
frequency axis the same way; the 2 prefix rows are re-prepended.

Writes tests/data/ast_adapt/{deit_in,audioset_in}.npy and one output per case;
read by tests/test_spectrogram.cpp.

    python3 tests/data/gen_ast_adapt.py tests/data/ast_adapt
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

D = 5


def adapt(table, old_f, old_t, f_dim, t_dim):
    x = table[:, 2:, :].reshape(1, old_f * old_t, D).transpose(1, 2).reshape(1, D, old_f, old_t)
    if t_dim <= old_t:
        s = int(old_t / 2) - int(t_dim / 2)
        x = x[:, :, :, s:s + t_dim]
    else:
        x = F.interpolate(x, size=(old_f, t_dim), mode="bilinear")
    if f_dim <= old_f:
        s = int(old_f / 2) - int(f_dim / 2)
        x = x[:, :, s:s + f_dim, :]
    else:
        x = F.interpolate(x, size=(f_dim, t_dim), mode="bilinear")
    x = x.reshape(1, D, f_dim * t_dim).transpose(1, 2)
    return torch.cat([table[:, :2, :], x], dim=1)[0]


def main(out):
    torch.manual_seed(7)
    deit = torch.randn(1, 2 + 24 * 24, D, dtype=torch.float32)
    audioset = torch.randn(1, 2 + 12 * 101, D, dtype=torch.float32)
    np.save(f"{out}/deit_in.npy", deit[0].numpy())
    np.save(f"{out}/audioset_in.npy", audioset[0].numpy())
    cases = {"deit_12x101": (deit, 24, 24, 12, 101), "deit_30x7": (deit, 24, 24, 30, 7),
             "audioset_12x50": (audioset, 12, 101, 12, 50), "audioset_12x150": (audioset, 12, 101, 12, 150)}
    for name, (t, of, ot, f, tt) in cases.items():
        np.save(f"{out}/{name}.npy", adapt(t, of, ot, f, tt).numpy())


if __name__ == "__main__":
    main(sys.argv[1])
