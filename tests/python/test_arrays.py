"""posenc.attention / apply_rotation / encode_into: NumPy dtypes and layouts, copies, agreement with NumPy."""
import threading

import numpy as np
import pytest

import posenc

rng = np.random.default_rng(0)


def qkv(b=1, h=2, n=6, d=8, dtype=np.float32):
    return tuple(rng.standard_normal((b, h, n, d)).astype(dtype) for _ in range(3))


def softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def test_alibi_attention_equals_numpy():
    q, k, v = qkv()
    enc = posenc.encode("alibi", heads=2, causal=False, tokens=6)
    out = posenc.attention(q, k, v, enc)
    bias = -enc.slopes[:, None, None] * enc.relation[None].astype(np.float64)
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), k) / np.sqrt(8) + bias
    np.testing.assert_allclose(out, softmax(s) @ v, atol=2e-6)
    ref = posenc.attention(q, k, v, enc, reference=True)
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_masks_and_options():
    q, k, v = qkv(b=2)
    causal = posenc.attention(q, k, v, None, causal=True)
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), k) / np.sqrt(8)
    s = np.where(np.tril(np.ones((6, 6), bool)), s, -np.inf)
    np.testing.assert_allclose(causal, softmax(s) @ v, atol=2e-6)
    lengths = posenc.attention(q, k, v, key_lengths=[3, 6], scale=0.5)
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), k) * 0.5
    s[0, :, :, 3:] = -np.inf
    np.testing.assert_allclose(lengths, softmax(s) @ v, atol=2e-6)
    seg = np.array([[0, 0, 0, 1, 1, 1]] * 2)
    out = posenc.attention(q, k, v, segments=seg, threads=1)
    assert np.isfinite(out).all()
    out2, lse = posenc.attention(q, k, v, segments=seg, threads=2, return_log_sum_exp=True)
    np.testing.assert_array_equal(out, out2)  # identical for any thread count
    assert lse.shape == (2, 2, 6)


def test_dtypes_and_layouts():
    q, k, v = qkv()
    base = posenc.attention(q, k, v)
    f64 = posenc.attention(*(x.astype(np.float64) for x in (q, k, v)))  # converted to float32
    np.testing.assert_array_equal(base, f64)
    fortran = posenc.attention(np.asfortranarray(q), k, v)  # any layout is accepted
    np.testing.assert_array_equal(base, fortran)
    strided = np.repeat(q, 2, axis=-1)[..., ::2]
    np.testing.assert_array_equal(posenc.attention(strided, k, v), base)
    with pytest.raises(TypeError, match="q: expected a floating-point array"):
        posenc.attention(q.astype(np.int32), k, v)
    with pytest.raises(TypeError, match="k: expected a NumPy float32 array, got list"):
        posenc.attention(q, k.tolist(), v)
    with pytest.raises(ValueError, match="attention"):  # shapes: the library's message
        posenc.attention(q, k[..., :4], v)


def test_outputs_own_their_memory_and_views_are_not_copied():
    q, k, v = qkv()
    out = posenc.attention(q, k, v)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable
    assert not np.shares_memory(out, q) and not np.shares_memory(out, v)
    assert type(out.base).__name__ == "PyCapsule"  # the library's buffer, handed over without a copy
    enc = posenc.encode("rope", head_dim=8, tokens=6)
    a, b = enc.arrays["angles"], enc.arrays["angles"]
    assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]  # views, not copies
    assert not a.flags.writeable
    del enc
    assert np.isfinite(a).all()  # the view keeps the encoding alive


def test_apply_rotation_equals_numpy():
    x = rng.standard_normal((2, 6, 8)).astype(np.float32)
    enc = posenc.encode("rope", head_dim=8, tokens=6)
    rot = posenc.apply_rotation(x, enc)
    ang = enc.angles  # [6, 4], halves layout
    c, s = np.cos(ang), np.sin(ang)
    a, b = x[..., :4].astype(np.float64), x[..., 4:].astype(np.float64)
    np.testing.assert_allclose(rot, np.concatenate([a * c - b * s, a * s + b * c], -1), atol=1e-6)
    with pytest.raises(ValueError, match="has no rotation"):
        posenc.apply_rotation(x, posenc.encode("alibi", tokens=6))
    with pytest.raises(ValueError, match="apply_rotation: parameter 'side' must be"):
        posenc.apply_rotation(x, enc, side="both")


def test_rotary_table_equals_numpy_and_fills_caller_buffers():
    enc = posenc.encode("rope", head_dim=16, tokens=12, rope_type="yarn", factor=4.0,
                        original_max_position_embeddings=8)
    mag = enc.metadata["magnitude"]
    assert mag > 1.0  # YaRN's attention factor 0.1 ln(4) + 1
    cos, sin = posenc.rotary_table(enc)
    assert cos.shape == sin.shape == (1, 1, 12, 8) and cos.dtype == np.float32
    np.testing.assert_allclose(cos[0, 0], (mag * np.cos(enc.angles)).astype(np.float32), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sin[0, 0], (mag * np.sin(enc.angles)).astype(np.float32), rtol=1e-6, atol=1e-7)
    # The bits apply_rotation uses: rotating by hand with the table gives its result.
    x = rng.standard_normal((12, 16)).astype(np.float32)
    a, b = x[:, :8], x[:, 8:]
    np.testing.assert_allclose(posenc.apply_rotation(x, enc),
                               np.concatenate([a * cos[0, 0] - b * sin[0, 0], a * sin[0, 0] + b * cos[0, 0]], -1),
                               rtol=1e-5, atol=1e-6)
    # Into caller buffers (stale contents, any shape of the same size): the same bits, returned.
    c_out, s_out = np.full(96, np.nan, np.float32), np.full((12, 8), -7.0, np.float32)
    got = posenc.rotary_table(enc, out=(c_out, s_out))
    assert got[0] is c_out and got[1] is s_out
    np.testing.assert_array_equal(c_out.reshape(cos.shape), cos)
    np.testing.assert_array_equal(s_out.reshape(sin.shape), sin)
    # XPos scales queries and keys oppositely: |q pair| |k pair| is the magnitude squared.
    xp = posenc.encode("xpos", head_dim=8, tokens=10)
    cq, sq = posenc.rotary_table(xp, "query")
    ck, sk = posenc.rotary_table(xp, side="key")
    assert not np.array_equal(cq, ck)
    np.testing.assert_allclose(np.hypot(cq, sq) * np.hypot(ck, sk), xp.metadata["magnitude"] ** 2, rtol=1e-5)


def test_rotary_table_rejects_bad_arguments():
    enc = posenc.encode("rope", head_dim=8, tokens=6)
    with pytest.raises(ValueError, match="rotary_table: encoding 'alibi' has no rotation"):
        posenc.rotary_table(posenc.encode("alibi", tokens=6))
    with pytest.raises(ValueError, match="parameter 'side' must be 'query' or 'key', got 'both'"):
        posenc.rotary_table(enc, "both")
    with pytest.raises(ValueError, match=r"posenc.rotary_table: parameter 'out' .*\[1, 1, 6, 4\] = 24 elements each, got 24 and 23"):
        posenc.rotary_table(enc, out=(np.zeros(24, np.float32), np.zeros(23, np.float32)))
    with pytest.raises(TypeError, match=r"posenc.rotary_table: parameter 'out' must be a \(cos, sin\) pair .* got int"):
        posenc.rotary_table(enc, out=5)
    with pytest.raises(TypeError, match=r"parameter 'out' must be a \(cos, sin\) pair .* got ndarray"):
        posenc.rotary_table(enc, out=np.zeros((2, 24), np.float32))  # not split into its rows
    with pytest.raises(TypeError, match="float32"):
        posenc.rotary_table(enc, out=(np.zeros(24), np.zeros(24)))
    with pytest.raises(TypeError, match=r"\(cos, sin\) pair"):
        posenc.rotary_table(enc, out=(np.zeros(24, np.float32),))
    both = np.zeros(48, np.float32)
    with pytest.raises(ValueError, match="overlap"):
        posenc.rotary_table(enc, out=(both[:24], both[10:34]))
    ro = np.zeros(24, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        posenc.rotary_table(enc, out=(ro, np.zeros(24, np.float32)))


def test_attention_releases_the_gil():
    q, k, v = qkv(h=4, n=1024, d=64)
    ticks = []
    done = threading.Event()

    def work():
        for _ in range(3):
            posenc.attention(q, k, v, None, threads=1)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks.append(1)
        done.wait(0.001)
    t.join()
    assert len(ticks) > 3  # Python kept running while the core computed


def test_encode_into_writes_the_built_array_into_a_reused_buffer():
    into = {e["name"]: e["into"] for e in posenc.list(verbose=True) if e["into"]}
    assert set(into) == {"sinusoidal", "sincos_2d", "detr_sine", "fourier_features", "sincos_3d",
                         "spectrogram_sincos", "sphere_features", "spherical_harmonics"}
    cases = [("sinusoidal", dict(dim=33, tokens=40, offset=3.0, layout="blocked")),
             ("sincos_2d", dict(height=3, width=5, dim=16, prefix_tokens=1)),
             ("spherical_harmonics", dict(degree=6, nlat=4, nlon=6)),
             ("sphere_features", dict(variant="wrap", points=np.array([[10.0, 20.0], [-170.0, -45.0]])))]
    for name, params in cases:
        want = posenc.encode(name, **params).arrays[into[name]]
        out = np.full(want.shape, np.nan, dtype=np.float32)
        for _ in range(2):  # into stale values: every element is written
            assert posenc.encode_into(name, out, **params) is out
            np.testing.assert_array_equal(out, want)
            out.fill(-7.0)
        flat = np.empty(want.size, dtype=np.float32)  # any shape of the same size
        posenc.encode_into(name, flat, **params)
        np.testing.assert_array_equal(flat.reshape(want.shape), want)


def test_encode_into_takes_equivalent_dtypes():
    import pickle
    want = posenc.encode("sinusoidal", dim=8, tokens=4).arrays["input_add"]
    out = pickle.loads(pickle.dumps(np.zeros((4, 8), np.float32)))  # an equal dtype, another object
    np.testing.assert_array_equal(posenc.encode_into("sinusoidal", out, dim=8, tokens=4), want)


def test_encode_into_rejects_bad_buffers():
    params = dict(dim=8, tokens=4)
    unaligned = np.frombuffer(bytearray(32 * 4 + 1), dtype=np.float32, count=32, offset=1)
    with pytest.raises(ValueError, match="aligned"):
        posenc.encode_into("sinusoidal", unaligned, **params)
    with pytest.raises(ValueError, match="query_tokens"):  # what encode() rejects
        posenc.encode_into("sinusoidal", np.zeros((4, 8), np.float32), query_tokens=9, **params)
    with pytest.raises(TypeError, match="float32"):
        posenc.encode_into("sinusoidal", np.zeros((4, 8)), **params)
    with pytest.raises(TypeError, match="'out'"):
        posenc.encode_into("sinusoidal", [0.0] * 32, **params)
    with pytest.raises(ValueError, match="C-contiguous"):
        posenc.encode_into("sinusoidal", np.zeros((8, 8), np.float32)[::2], **params)
    ro = np.zeros((4, 8), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        posenc.encode_into("sinusoidal", ro, **params)
    with pytest.raises(ValueError, match=r"^posenc.encode_into\('sinusoidal'\): sinusoid_table_into: .*'out'.*32.*got 31"):
        posenc.encode_into("sinusoidal", np.zeros(31, np.float32), **params)
    with pytest.raises(ValueError, match=r"^posenc.encode_into\('rope'\): this encoding cannot write into a caller's buffer"):
        posenc.encode_into("rope", np.zeros(8, np.float32))
