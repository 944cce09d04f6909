"""A small ViT block in PyTorch whose attention is posenc's core with 2D axial RoPE (EVA layout).

    PYTHONPATH=build/python /usr/bin/python3 examples/python/vit_rope2d.py
"""
import torch

import posenc
import posenc.torch as ptorch


class RopeViTBlock(torch.nn.Module):
    def __init__(self, dim=64, heads=4, grid=(8, 8)):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.norm1, self.norm2 = torch.nn.LayerNorm(dim), torch.nn.LayerNorm(dim)
        self.qkv, self.proj = torch.nn.Linear(dim, 3 * dim), torch.nn.Linear(dim, dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, 4 * dim), torch.nn.GELU(), torch.nn.Linear(4 * dim, dim))
        # The rotation of q and k over the patch grid, built once by the catalogue.
        self.rope = posenc.encode("rope_2d", head_dim=self.head_dim, height=grid[0], width=grid[1], layout="eva")

    def forward(self, x):  # x [B, N, dim], N = H * W patches
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = ptorch.attention(q.contiguous(), k.contiguous(), v.contiguous(), self.rope)  # differentiable in q, k, v
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


if __name__ == "__main__":
    torch.manual_seed(0)
    block = RopeViTBlock()
    opt = torch.optim.AdamW(block.parameters(), lr=1e-3)
    x, target = torch.randn(2, 64, 64), torch.randn(2, 64, 64)
    for step in range(5):
        loss = torch.nn.functional.mse_loss(block(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}: loss {loss.item():.4f}")
