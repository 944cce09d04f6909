"""posenc.torch.attention: autograd through the core and through the encoding's parts.

Tolerances: posenc computes in float32. Against PyTorch's own attention with the bias materialised
(float32), outputs agree to 2e-5 and gradients to 5e-5 absolute. torch.autograd.gradcheck runs in
float64 through a float32 computation, so it uses eps = 1e-2 and atol = rtol = 2e-2 (finite
differences of float32 rounding: ~1e-7 / 1e-2 per element)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import posenc  # noqa: E402
import posenc.torch as ptorch  # noqa: E402

torch.manual_seed(0)


def qkv(h=2, n=5, d=4, dtype=torch.float32):
    return [torch.randn(1, h, n, d, dtype=dtype, requires_grad=True) for _ in range(3)]


def torch_attention(q, k, v, bias, scale):
    s = torch.einsum("bhid,bhjd->bhij", q, k) * scale + bias
    return torch.softmax(s, -1) @ v


def compare(mine, theirs, leaves, atol=5e-5):
    g = torch.randn_like(mine)
    da = torch.autograd.grad(mine, leaves, g)
    db = torch.autograd.grad(theirs, leaves, g)
    torch.testing.assert_close(mine, theirs, atol=2e-5, rtol=1e-5)
    for a, b in zip(da, db):
        torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)


def test_t5_table_as_parameter_matches_pytorch():
    enc = posenc.encode("t5", heads=2, tokens=5, num_buckets=8, max_distance=16)
    table = torch.nn.Parameter(torch.from_numpy(enc.arrays["bias_table"].copy()))
    q, k, v = qkv()
    out = ptorch.attention(q, k, v, enc, parts={"biases.0.table": table})
    rel = torch.from_numpy(enc.arrays["relation"].copy())
    ref = torch_attention(q, k, v, table[:, rel][None], 1.0)  # T5: logit scale 1
    compare(out, ref, [q, k, v, table])


def test_alibi_slopes_and_causal_mask_match_pytorch():
    enc = posenc.encode("alibi", heads=2, tokens=5, slopes=[0.5, 0.25])
    slopes = torch.nn.Parameter(torch.tensor([0.5, 0.25]))
    q, k, v = qkv()
    out = ptorch.attention(q, k, v, enc, causal=True, parts={"biases.0.slopes": slopes})
    rel = torch.from_numpy(enc.arrays["relation"].copy()).float()
    mask = torch.triu(torch.full((5, 5), float("-inf")), 1)
    ref = torch_attention(q, k, v, (-slopes[:, None, None] * rel + mask)[None], 0.5)
    compare(out, ref, [q, k, v, slopes])


def test_shaw_tables_match_pytorch():
    enc = posenc.encode("shaw", heads=2, head_dim=4, clip=2, tokens=5)
    ak = torch.nn.Parameter(torch.from_numpy(enc.arrays["key_table"].copy()))
    av = torch.nn.Parameter(torch.from_numpy(enc.arrays["value_table"].copy()))
    q, k, v = qkv()
    out = ptorch.attention(q, k, v, enc, parts={"content_position.0.table": ak, "value.0.table": av})
    rel = torch.from_numpy(enc.arrays["relation"].copy())
    s = (torch.einsum("bhid,bhjd->bhij", q, k) + torch.einsum("bhid,ijd->bhij", q, ak[0][rel])) / 2.0
    p = torch.softmax(s, -1)
    ref = p @ v + torch.einsum("bhij,ijd->bhid", p, av[0][rel])
    compare(out, ref, [q, k, v, ak, av])


def test_gradcheck_in_double():
    enc = posenc.encode("t5", heads=2, tokens=4, num_buckets=8, max_distance=16)
    table = torch.from_numpy(enc.arrays["bias_table"].astype(np.float64)).requires_grad_()
    q, k, v = qkv(n=4, dtype=torch.float64)
    f = lambda q, k, v, t: ptorch.attention(q, k, v, enc, parts={"biases.0.table": t})
    assert torch.autograd.gradcheck(f, (q, k, v, table), eps=1e-2, atol=2e-2, rtol=2e-2)


def test_errors():
    enc = posenc.encode("t5", heads=2, tokens=5)
    q, k, v = qkv()
    with pytest.raises(ValueError, match="did you mean 'biases.0.table'"):
        ptorch.attention(q, k, v, enc, parts={"biases.0.tabel": torch.zeros(2, 32)})
    with pytest.raises(ValueError, match="must have shape"):
        ptorch.attention(q, k, v, enc, parts={"biases.0.table": torch.zeros(2, 3)})
