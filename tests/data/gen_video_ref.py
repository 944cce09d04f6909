#!/usr/bin/env python3
"""Reference video tables, each produced the way the public implementation does it:

- timesformer.npy: HF TimesformerEmbeddings' position steps (space table resized with
  F.interpolate(mode='nearest') from its square grid, time table with 1D nearest, tokens
  reordered patch-major / frame-minor, class row = space[0]); space_in.npy, time_in.npy.
- vivit_zoom.npy: scipy.ndimage.zoom(order=1) of an image grid (scenic's ViViT 'resize'),
  vivit_grid_in.npy [h, w, D]; vivit_time.npy: 1D zoom of time_in.npy to 9 rows.
- sincos3d_scenic.npy: scenic get_fixed_sincos_position_embedding for (t, h, w, C) = (2, 3, 4, 12).
- sincos3d_pe.npy: `positional-encodings` PositionalEncoding3D steps for (2, 3, 4) and C = 10.
- time_{nearest,linear,cubic}.npy: F.interpolate of time_in.npy ([6, D] -> 10 rows), align_corners=False.

Read by tests/test_video.cpp.

    python3 tests/data/gen_video_ref.py tests/data/video_ref
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def timesformer(space, time, H, W, frames):
    D = space.shape[1]
    cls, other = space[:1], space[1:]
    n = int(round(other.shape[0] ** 0.5))
    grid = other.T.reshape(1, D, n, n)
    grid = F.interpolate(grid, size=(H, W), mode="nearest").reshape(D, H * W).T
    t = F.interpolate(time.T[None], size=frames, mode="nearest")[0].T
    rows = [cls[0]]
    for p in range(H * W):
        for f in range(frames):
            rows.append(grid[p] + t[f])
    return torch.stack(rows)


def scenic_3d(t, h, w, C, temperature=10000.0):
    q = C // 6
    omega = 1.0 / temperature ** (np.arange(q, dtype=np.float64) / q)
    z, y, x = np.mgrid[:t, :h, :w]
    z, y, x = (np.einsum("m,d->md", a.flatten(), omega) for a in (z, y, x))
    return np.concatenate([np.sin(z), np.cos(z), np.sin(x), np.cos(x), np.sin(y), np.cos(y)], axis=1)


def positional_encodings_3d(t, h, w, C):
    ch = int(np.ceil(C / 6) * 2)
    if ch % 2:
        ch += 1
    inv = 1.0 / (10000 ** (np.arange(0, ch, 2, dtype=np.float64) / ch))

    def emb(pos):
        a = np.einsum("i,j->ij", np.arange(pos, dtype=np.float64), inv)
        return np.stack([np.sin(a), np.cos(a)], axis=-1).reshape(pos, -1)

    out = np.zeros((t, h, w, 3 * ch))
    out[:, :, :, :ch] = emb(t)[:, None, None, :]
    out[:, :, :, ch:2 * ch] = emb(h)[None, :, None, :]
    out[:, :, :, 2 * ch:] = emb(w)[None, None, :, :]
    return out[..., :C].reshape(t * h * w, C)


def main(out):
    torch.manual_seed(11)
    space = torch.randn(1 + 4 * 4, 3)
    time = torch.randn(6, 3)
    np.save(f"{out}/space_in.npy", space.numpy())
    np.save(f"{out}/time_in.npy", time.numpy())
    np.save(f"{out}/timesformer.npy", timesformer(space.double(), time.double(), 3, 5, 4).numpy())
    grid = np.random.default_rng(3).standard_normal((4, 5, 2)).astype(np.float32)
    np.save(f"{out}/vivit_grid_in.npy", grid)
    np.save(f"{out}/vivit_zoom.npy", ndimage.zoom(grid.astype(np.float64), (7 / 4, 3 / 5, 1), order=1))
    np.save(f"{out}/vivit_time.npy", ndimage.zoom(time.double().numpy(), (9 / 6, 1), order=1))
    np.save(f"{out}/sincos3d_scenic.npy", scenic_3d(2, 3, 4, 12))
    np.save(f"{out}/sincos3d_pe.npy", positional_encodings_3d(2, 3, 4, 10))
    x = time.double().T[None]
    for mode in ("nearest", "linear", "cubic"):
        kw = {} if mode == "nearest" else {"align_corners": False}
        m = "bicubic" if mode == "cubic" else mode
        if m == "bicubic":  # 1D bicubic: a [1, D, 1, T] image resized along its width only
            y = F.interpolate(x[:, :, None, :], size=(1, 10), mode="bicubic", **kw)[:, :, 0, :]
        else:
            y = F.interpolate(x, size=10, mode=m, **kw)
        np.save(f"{out}/time_{mode}.npy", np.ascontiguousarray(y[0].T.numpy()))


if __name__ == "__main__":
    main(sys.argv[1])
