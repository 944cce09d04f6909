#!/usr/bin/env python3
"""Reference resamplings from PyTorch's F.interpolate (the kernels timm's
resample_abs_pos_embed calls), align_corners=False, float64.

Writes tests/data/torch_resample/{up,down}_in.npy [H, W, C] and
{up,down}_<mode>.npy [new_H, new_W, C] for mode in bicubic_aa, bicubic,
bilinear_aa, bilinear, nearest; read by tests/test_image.cpp.

    python3 tests/data/gen_torch_resample.py tests/data/torch_resample
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

CASES = {"up": ((5, 7), (9, 4)), "down": ((8, 8), (3, 5))}
MODES = {"bicubic_aa": ("bicubic", True), "bicubic": ("bicubic", False), "bilinear_aa": ("bilinear", True),
         "bilinear": ("bilinear", False), "nearest": ("nearest", False)}


def main(out):
    torch.manual_seed(2026)
    for name, ((h, w), size) in CASES.items():
        grid = torch.randn(h, w, 3, dtype=torch.float64)
        np.save(f"{out}/{name}_in.npy", grid.numpy().astype(np.float32))
        x = grid.to(torch.float32).to(torch.float64).permute(2, 0, 1)[None]  # the float32 values, NCHW
        for mode, (kind, aa) in MODES.items():
            kw = {} if kind == "nearest" else {"align_corners": False, "antialias": aa}
            y = F.interpolate(x, size=size, mode=kind, **kw)[0].permute(1, 2, 0)
            np.save(f"{out}/{name}_{mode}.npy", y.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/torch_resample")
