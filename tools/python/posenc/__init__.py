"""posenc: positional encodings for transformers, one encoding contract and one attention core.

    import posenc
    posenc.list()                                  # every method in the catalogue
    enc = posenc.encode("rope", head_dim=64, tokens=128, rope_type="yarn", factor=4.0)
    enc.arrays["angles"], enc.parts["rotation.key_angles"], enc.metadata["attention_factor"]
    out = posenc.attention(q, k, v, posenc.encode("alibi", heads=8, tokens=128), causal=True)

Arrays: float32 inputs are used as they are (a C-contiguous array is copied once into the
library's tensor, with one memcpy); float64 and float16 are converted to float32; integer,
boolean, complex and object arrays raise TypeError. Outputs are NumPy arrays that own their
memory (no copy on the way out, never a view of an input). Encoding arrays are read-only views
kept alive by the Encoding. Library errors raise ValueError with the library's message; the GIL
is released while posenc computes. `posenc.torch` (imported on first use) wraps the core as a
torch.autograd.Function.
"""
from __future__ import annotations

import importlib
import numbers

import numpy as _np

from . import _posenc

__all__ = ["list", "names", "describe", "help", "encode", "encode_into", "Encoding", "attention", "apply_rotation",
           "rotary_table", "graph_encodings", "shortest_path_hops_into", "tabpet"]

_builtin_list = list


def names():
    """Every catalogue entry's name, in display order."""
    return _posenc.names()


def list(verbose: bool = False):  # noqa: A001 - the documented name
    """Every catalogue entry: names, or (verbose) dicts with summary, parts, source, fields, tables."""
    return _posenc.entries() if verbose else _posenc.names()


def describe(name: str) -> dict:
    """One entry: its fields with type, default (read from the C++ option struct) and help."""
    return _posenc.describe(name)


def help(name: str) -> str:  # noqa: A001
    """The text `posenc encode NAME --help` prints."""
    return _posenc.help_text(name)


def _plain(value, what):
    """NumPy scalars and torch tensors as the values the C++ catalogue takes."""
    if value is None or isinstance(value, (bool, str, _np.ndarray)):
        return value
    if isinstance(value, _np.generic):
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    if isinstance(value, (_builtin_list, tuple)):
        items = [_plain(v, what) for v in value]
        return items
    raise TypeError(f"{what}: unsupported value of type {type(value).__name__}")


class Encoding:
    """A built catalogue entry: the Encoding's parts and the arrays `posenc encode` writes.

    arrays    dict name -> ndarray, named as the command line's files (angles, bias_table, ...)
    parts     dict path -> ndarray of every filled part ("rotation.key_angles", "biases.0.table", ...)
    metadata  dict of scalars (attention_factor, bias_rule, logit_scale, pairs, ...)
    tokens, query_tokens, name; attribute access reads arrays (enc.angles).
    """

    def __init__(self, built):
        self._built = built

    name = property(lambda self: self._built.name)
    entry = property(lambda self: self._built.entry)
    tokens = property(lambda self: self._built.tokens)
    query_tokens = property(lambda self: self._built.query_tokens)
    arrays = property(lambda self: self._built.arrays)
    parts = property(lambda self: self._built.parts)
    metadata = property(lambda self: self._built.metadata)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        arrays = self._built.arrays
        if key in arrays:
            return arrays[key]
        raise AttributeError(f"encoding '{self.entry}' has no array '{key}' (arrays: {', '.join(arrays)})")

    def __repr__(self):
        shapes = ", ".join(f"{k} {_builtin_list(v.shape)}" for k, v in self.arrays.items())
        return f"<posenc.Encoding {self.entry}: {shapes or 'fills nothing'}>"


def encode(name: str, **params) -> Encoding:
    """Build a catalogue entry: posenc.encode("t5", heads=12, bidirectional=False, tokens=512).

    Names follow the reference configs ('-' and '_' are the same); values are typed by the
    field (int, float, bool, str for choices, lists, NumPy arrays for tables and points).
    Unknown names raise ValueError with the closest suggestion."""
    typed = {k: _plain(v, f"{name}: field '{k}'") for k, v in params.items()}
    return Encoding(_posenc.encode(name, typed))


def encode_into(name: str, out, **params):
    """Write an entry's table into a caller's buffer and return it: the bits of
    encode(name, **params).arrays[describe(name)["into"]], every element overwritten, nothing
    allocated for the table (reuse one buffer across batches). `out`: a float32, C-contiguous,
    writeable ndarray of that array's size (TypeError / ValueError otherwise; a wrong size names
    both sizes). The entries that can: those whose describe(name)["into"] is not empty
    (sinusoidal, sincos_2d, detr_sine, fourier_features, sincos_3d, spectrogram_sincos,
    sphere_features, spherical_harmonics)."""
    typed = {k: _plain(v, f"{name}: field '{k}'") for k, v in params.items()}
    _posenc.encode_into(name, typed, out)
    return out


def _encoding_arg(encoding):
    if encoding is None:
        return None
    if isinstance(encoding, Encoding):
        return encoding._built
    if isinstance(encoding, str):
        raise TypeError("encoding: pass posenc.encode(name, ...) rather than a name")
    raise TypeError(f"encoding: expected a posenc.Encoding or None, got {type(encoding).__name__}")


def _segments(segments):
    if segments is None:
        return None, None
    if isinstance(segments, tuple):
        return segments
    return segments, segments


def attention(q, k, v, encoding=None, causal=False, key_lengths=None, segments=None, scale=None, threads=0,
              return_log_sum_exp=False, reference=False):
    """The shared attention core: out [B, H, Nq, dv] from q [B, H, Nq, d], k [B, Hk, Nk, d], v [B, Hk, Nk, dv].

    encoding: a posenc.Encoding (its score parts; input parts are the caller's); causal: bottom-right
    aligned mask; key_lengths [B]; segments: [B|1, N] document ids, or (query_ids, key_ids); scale:
    logit scale (default: the encoding's, else 1/sqrt(d)); threads: 0 = OpenMP default (results are
    identical for any value); reference: the plain-loop oracle instead of the streaming core."""
    qs, ks = _segments(segments)
    out, lse = _posenc.attention_forward(q, k, v, _encoding_arg(encoding), {}, bool(causal),
                                         None if key_lengths is None else _np.asarray(key_lengths),
                                         None if qs is None else _np.asarray(qs), None if ks is None else _np.asarray(ks),
                                         scale, int(threads), bool(reference))
    return (out, lse) if return_log_sum_exp else out


def apply_rotation(x, encoding, side="query"):
    """Rotate x [..., tokens, dim] by the encoding's rotation (RoPE family) for queries or keys."""
    return _posenc.apply_rotation(x, _encoding_arg(encoding), side)


def rotary_table(encoding, side="query", out=None):
    """cos and sin of the encoding's rotation (RoPE family) for queries or keys, already multiplied
    by the rotation's magnitude and XPos scale: a (cos, sin) pair of float32 arrays
    [batch, heads, tokens, pairs] (batch and heads 1 when shared), the bits apply_rotation uses.
    With out=(cos, sin), writes into those float32, C-contiguous, writeable arrays of that size
    instead (nothing allocated; a wrong size names the shape and both sizes) and returns them."""
    return _posenc.rotary_table(_encoding_arg(encoding), side, out)


def _networkx_graph(g):
    nodes = _builtin_list(g.nodes())
    index = {n: i for i, n in enumerate(nodes)}
    pairs = _builtin_list(g.edges(data=True))
    edges = _np.array([[index[a], index[b]] for a, b, _ in pairs], dtype=_np.int64).reshape(-1, 2)
    weighted = any("weight" in d for _, _, d in pairs)
    weights = _np.array([float(d.get("weight", 1.0)) for _, _, d in pairs]) if weighted else None
    return edges, nodes, bool(g.is_directed()), weights


def _graph_arguments(edges, nodes, directed):
    """(edges [E, 2], node count, node order, directed, weights or None) of an edge array or a
    networkx graph (its node order, 'weight' attributes and directedness)."""
    if hasattr(edges, "nodes") and hasattr(edges, "is_directed"):
        edges, order, directed, weights = _networkx_graph(edges)
        return edges, len(order), order, directed, weights
    edges = _np.asarray(edges)
    if edges.dtype.kind not in "iu":
        raise TypeError(f"edges: expected an integer [E, 2] array or a networkx graph, got dtype {edges.dtype}")
    edges = edges.reshape(-1, 2) if edges.size == 0 else edges
    count = int(nodes) if nodes is not None else (int(edges.max()) + 1 if edges.size else 0)
    return edges, count, _builtin_list(range(count)), directed, None


def graph_encodings(edges, encodings=("spd", "degree", "pagerank", "lap:k=8:pad=1", "rwse:steps=16"), nodes=None,
                    directed=False, weights=None, threads=0) -> dict:
    """Node encodings of a graph, keyed as `posenc graph` names its files (spd, degree_total,
    pagerank, lap, lap_eigenvalues, rwse, ...), plus "nodes": the node order of the rows.

    edges: an [E, 2] integer array of node indices, or a networkx graph (its node order, edge
    weights under 'weight' and directedness are used; networkx is imported only by the caller).
    nodes: the node count (default: largest index + 1) or, for a networkx graph, ignored."""
    edges, count, order, directed, w = _graph_arguments(edges, nodes, directed)
    weights = w if weights is None else weights
    specs = [encodings] if isinstance(encodings, str) else _builtin_list(encodings)
    out = _posenc.graph_encodings(edges, count, bool(directed), None if weights is None else _np.asarray(weights, dtype=float),
                                  specs, int(threads))
    out["nodes"] = order
    return out


def shortest_path_hops_into(edges, out, nodes=None, directed=False, max_distance=-1, unreachable=-1, threads=0):
    """All-pairs hop counts written into a caller's buffer and returned: out[i, j] = the fewest edges
    on a path i -> j (edge direction followed when directed; weights ignored), 0 on the diagonal.

    out: an [N, N] (any shape of N * N elements) C-contiguous, writeable array of uint8, uint16,
    int32 or int64 (Graphormer: uint16 with unreachable=510, or uint8 with max_distance=20).
    max_distance >= 0 clips longer distances to it (uint16 / uint8 clip at 65534 / 254 without
    it); unreachable is the value for pairs with no path (-1: -1 for the signed types, 65535 / 255
    for the unsigned ones); an unreachable or max_distance the type cannot hold, or an `out` of
    another size, raises ValueError. edges: an [E, 2] integer array or a networkx graph
    (its node order), as for graph_encodings. Reusing `out` skips the allocation and first touch
    of a fresh N x N array."""
    edges, count, _, directed, _ = _graph_arguments(edges, nodes, directed)
    _posenc.shortest_path_hops_into(edges, count, bool(directed), out, int(max_distance), int(unreachable), int(threads))
    return out


def _column_cells(values):
    cells = []
    for x in values:
        if x is None or (isinstance(x, float) and x != x):
            cells.append("")
        elif isinstance(x, (bool, _np.bool_)):
            cells.append("true" if x else "false")
        elif isinstance(x, (numbers.Integral,)):
            cells.append(str(int(x)))
        elif isinstance(x, numbers.Real):
            cells.append(repr(float(x)))
        else:
            cells.append(str(x))
    return cells


def tabpet(table, graph="spearman", k="auto", alpha=1.0, drop=(), types=None, threshold=0.0, top_k=0, subsample=0,
           seed=42, prefix_tokens=0, names=None) -> dict:
    """Tab-PET of a table's columns: a dict with pe [columns, 2k] (alpha * clipped PE, one row
    per kept column), pe_features, graph (W), adjacency, eigenvalues, k, features (one-hot names),
    columns, warnings.

    table: a pandas DataFrame (pandas imported only by the caller) or a 2-D NumPy array (columns
    named by `names`, default "0" .. "C-1"). Types are inferred as from a CSV unless `types` maps
    column names to numeric / categorical / boolean."""
    if type(table).__module__.startswith("pandas"):
        col_names = [str(c) for c in table.columns]
        columns = [_column_cells(table[c].tolist()) for c in table.columns]
    else:
        arr = _np.asarray(table)
        if arr.ndim != 2:
            raise TypeError(f"table: expected a 2-D array or a pandas DataFrame, got {arr.ndim} dimensions")
        col_names = [str(n) for n in names] if names is not None else [str(i) for i in range(arr.shape[1])]
        columns = [_column_cells(arr[:, c].tolist()) for c in range(arr.shape[1])]
    kk = 0 if k in (None, "auto") else int(k)
    if kk == 0 and k not in (None, "auto"):
        raise ValueError("posenc.tabpet: 'k' must be 'auto' or an integer >= 1, got 0")
    return _posenc.tabpet(col_names, columns, graph, kk, float(alpha), [str(d) for d in drop], dict(types or {}),
                          float(threshold), int(top_k), int(subsample), int(seed), int(prefix_tokens))


def __getattr__(name):
    if name == "torch":  # posenc.torch imports PyTorch on first use only
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'posenc' has no attribute '{name}'")
