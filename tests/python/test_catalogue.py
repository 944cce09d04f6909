"""posenc.encode / list / describe against the C++ catalogue, and the errors."""
import subprocess

import numpy as np
import pytest

import posenc

# One changed value per entry for the comparison with C++ (the defaults are compared for all).
CHANGED = {
    "sinusoidal": {"dim": 33, "exponent": "t2t"}, "learned": {"seed": 3, "tokens": 9}, "alibi": {"heads": 12, "causal": False},
    "t5": {"bidirectional": False, "num_buckets": 16}, "rope": {"rope_type": "yarn", "factor": 4.0,
                                                                "original_max_position_embeddings": 8},
    "xpos": {"scale_base": 64.0}, "shaw": {"clip": 4, "per_head": True}, "huang": {"method": 3},
    "sincos_2d": {"layout": "timm_interleaved", "height": 3}, "rope_2d": {"layout": "qwen2vl"},
    "relative_bias_2d": {"source_height": 7, "source_width": 9}, "sincos_3d": {"layout": "positional_encodings"},
    "mrope": {"segments": "text:2,video:2x4x4@1,text:3", "interleaved": True}, "spectrogram_rope": {"frames": 300},
    "sphere_features": {"variant": "theory"}, "geodesic_bias": {"num_buckets": 8}, "graphormer_spatial": {"spatial_pos_max": 3},
    "laplacian_pe": {"k": 4, "kind": "comb"}, "rwse": {"steps": 5}, "tabpet": {"graph": "pearson", "k": 2},
}


def cpp_arrays(tool, tmp_path, name, params):
    out = tmp_path / name
    args = [tool, name, str(out)] + [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items()]
    subprocess.run(args, check=True, capture_output=True)
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


@pytest.mark.parametrize("name", posenc.names())
def test_every_entry_equals_the_cpp_catalogue(name, dump_tool, tmp_path):
    for params in ({}, CHANGED.get(name)):
        if params is None:
            continue
        enc = posenc.encode(name, **params)
        expected = cpp_arrays(dump_tool, tmp_path / str(len(params)), name, params)
        assert set(enc.arrays) == set(expected), name
        for key, a in enc.arrays.items():
            assert a.dtype == expected[key].dtype, (name, key)
            np.testing.assert_array_equal(a, expected[key], err_msg=f"{name}/{key}")
        assert enc.tokens > 0


def test_list_and_describe():
    names = posenc.list()
    assert "rope" in names and "graphormer_spatial" in names and "tabpet" in names
    full = posenc.list(verbose=True)
    assert len(full) == len(names) and full[0]["fields"]
    rope = posenc.describe("rope")
    fields = {f["name"]: f for f in rope["fields"]}
    assert fields["beta_fast"]["default"] == 32.0 and fields["beta_fast"]["type"] == "real number"
    assert fields["rope_type"]["choices"][:2] == ["default", "linear"]
    assert fields["head_dim"]["struct_default"] == "0"  # required in RopeOptions; the catalogue gives 64
    assert "--beta_fast" in posenc.help("rope")


def test_parts_and_metadata():
    enc = posenc.encode("rope", head_dim=16, tokens=10, rope_type="yarn", factor=4.0, original_max_position_embeddings=4)
    assert enc.parts["rotation.key_angles"].shape == (1, 1, 10, 8)
    assert enc.metadata["attention_factor"] > 1.0 and enc.metadata["pair_layout"] == "halves"
    np.testing.assert_array_equal(enc.angles, enc.parts["rotation.key_angles"][0, 0])
    t5 = posenc.encode("t5", heads=4, tokens=6)
    assert t5.parts["biases.0.table"].shape == (4, 32) and t5.metadata["logit_scale"] == 1.0
    with pytest.raises(AttributeError, match="no array 'nope'"):
        t5.nope


def test_typed_values():
    a = posenc.encode("alibi", heads=np.int64(4), max_bias=np.float32(4.0), tokens=5)
    b = posenc.encode("alibi", heads="4", max_bias=4, tokens=5)  # strings parse, ints are reals
    np.testing.assert_array_equal(a.slopes, b.slopes)
    slopes = np.array([0.5, 0.25], dtype=np.float64)
    c = posenc.encode("alibi", slopes=slopes, heads=2, tokens=4)
    np.testing.assert_array_equal(c.slopes, slopes.astype(np.float32))
    table = np.ones((2, 32), dtype=np.float32)
    d = posenc.encode("t5", heads=2, table=table, tokens=4)
    np.testing.assert_array_equal(d.bias_table, table)
    e = posenc.encode("rope", beta_fast=16, **{"rope-type": "yarn", "factor": 2.0, "original_max_position_embeddings": 8})
    assert e.metadata["attention_factor"] > 1.0


def test_errors():
    with pytest.raises(ValueError, match="did you mean 'rope'"):
        posenc.encode("rop")
    with pytest.raises(ValueError, match="rope: unknown field 'beta_fsat'; did you mean 'beta_fast'"):
        posenc.encode("rope", beta_fsat=1.0)
    with pytest.raises(ValueError, match="rope: field 'head_dim' expects integer, got '3.5'"):
        posenc.encode("rope", head_dim=3.5)
    with pytest.raises(ValueError, match="expects one of default|linear"):
        posenc.encode("rope", rope_type="yarnn")
    with pytest.raises(ValueError, match="alibi: field 'causal' expects boolean"):
        posenc.encode("alibi", causal="maybe")
    with pytest.raises(ValueError, match="rope"):  # a library error, same message as in C++
        posenc.encode("rope", head_dim=7)
    with pytest.raises(TypeError, match="unsupported value"):
        posenc.encode("rope", head_dim=object())
