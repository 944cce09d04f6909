#!/usr/bin/env python3
"""Reference image encodings following timm (layers/pos_embed_sincos.py build_fourier_pos_embed
and FourierEmbed's channel order; layers/pos_embed_rel.py resize_rel_pos_bias_table_simple),
evaluated with PyTorch in float32 as timm does.

Writes tests/data/timm_image/fourier_{pixel_log,pixel_linear,arange_ref_xy}.npy [H*W, F]
and relbias_{in,out}.npy ([H, rows]; a 3x2 window with 3 class-token rows -> 4x5);
read by tests/test_image.cpp.

    python3 tests/data/gen_timm_image.py tests/data/timm_image
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def bands_pixel(n, max_res, linear):
    if linear:
        b = torch.linspace(1.0, max_res / 2, n, dtype=torch.float32)
    else:
        b = 2 ** torch.linspace(0, math.log(max_res, 2) - 1, n, dtype=torch.float32)
    return b * torch.pi


def fourier(shape, bands, in_pixels, ref=None, offset=0.0, indexing="ij", include_grid=True):
    if indexing == "xy":
        shape = shape[::-1]
        ref = ref[::-1] if ref is not None else None
    if in_pixels:
        t = [torch.linspace(-1.0, 1.0, steps=s, dtype=torch.float32) for s in shape]
    else:
        t = [torch.arange(s, dtype=torch.int64).to(torch.float32) + offset for s in shape]
    if ref is not None:
        t = [x / f * r for x, f, r in zip(t, shape, ref)]
    grid = torch.stack(torch.meshgrid(t, indexing=indexing), dim=-1).unsqueeze(-1)
    pos = grid * bands
    parts = [grid, pos.sin(), pos.cos()] if include_grid else [pos.sin(), pos.cos()]
    emb = torch.cat(parts, dim=-1)            # [H, W, 2, 1 + 2n]
    emb = emb.transpose(-1, -2).flatten(2)    # FourierEmbed: axis fastest
    return emb.reshape(-1, emb.shape[-1])


def main(out):
    np.save(f"{out}/fourier_pixel_log.npy", fourier([3, 5], bands_pixel(4, 224.0, False), True).numpy())
    np.save(f"{out}/fourier_pixel_linear.npy", fourier([4, 2], bands_pixel(3, 32.0, True), True).numpy())
    inv = 1.0 / (100.0 ** (torch.arange(0, 4, 1, dtype=torch.float32) / 4))
    np.save(f"{out}/fourier_arange_ref_xy.npy",
            fourier([3, 4], inv, False, ref=[6, 8], offset=0.5, indexing="xy", include_grid=False).numpy())
    torch.manual_seed(5)
    heads, (wh, ww), (nh, nw) = 2, (3, 2), (4, 5)
    rows = (2 * wh - 1) * (2 * ww - 1)
    table = torch.randn(rows + 3, heads)  # timm layout [num_pos, heads]
    src = table[:rows].permute(1, 0).reshape(1, heads, 2 * wh - 1, 2 * ww - 1)
    dst = F.interpolate(src, size=(2 * nh - 1, 2 * nw - 1), mode="bicubic", align_corners=False)
    dst = dst.reshape(heads, -1).permute(1, 0)
    res = torch.cat([dst, table[rows:]], dim=0)
    np.save(f"{out}/relbias_in.npy", np.ascontiguousarray(table.T.numpy()))
    np.save(f"{out}/relbias_out.npy", np.ascontiguousarray(res.T.numpy()))


if __name__ == "__main__":
    main(sys.argv[1])
