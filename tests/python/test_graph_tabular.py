"""posenc.graph_encodings and shortest_path_hops_into (edge arrays and networkx graphs) and posenc.tabpet (arrays and DataFrames)."""
import numpy as np
import pytest

import posenc


def ring(n=10):
    return np.array([[i, (i + 1) % n] for i in range(n)] + [[0, n // 2]], dtype=np.int64)


def test_graph_encodings_from_edges():
    out = posenc.graph_encodings(ring(), ["spd", "degree:kind=in", "pagerank:alpha=0.9", "lap:k=4", "rwse:steps=5"])
    assert set(out) == {"spd", "degree_in", "pagerank", "lap", "lap_eigenvalues", "rwse", "nodes"}
    assert out["spd"].shape == (10, 10) and out["spd"].dtype == np.int64
    assert out["lap"].shape == (10, 4) and out["rwse"].shape == (10, 5)
    assert out["nodes"] == list(range(10))
    assert abs(out["pagerank"].sum() - 1.0) < 1e-9
    with pytest.raises(ValueError, match="did you mean 'pagerank'"):
        posenc.graph_encodings(ring(), ["pagrank"])
    with pytest.raises(TypeError, match="integer"):
        posenc.graph_encodings(ring().astype(float), ["spd"])


def test_graph_encodings_from_networkx_equal_the_edge_array():
    nx = pytest.importorskip("networkx")
    g = nx.Graph()
    names = [f"n{i}" for i in range(10)]
    g.add_nodes_from(names)
    g.add_edges_from((names[a], names[b]) for a, b in ring())
    a = posenc.graph_encodings(g, ["spd", "pagerank", "betweenness", "closeness", "lap:k=3"])
    b = posenc.graph_encodings(ring(), ["spd", "pagerank", "betweenness", "closeness", "lap:k=3"])
    assert a["nodes"] == names
    for key in ("spd", "pagerank", "betweenness", "closeness", "lap"):
        np.testing.assert_array_equal(a[key], b[key])
    pr = nx.pagerank(g, alpha=0.85, tol=1e-10)
    np.testing.assert_allclose(a["pagerank"], [pr[n] for n in names], atol=1e-5)
    bc = nx.betweenness_centrality(g)
    np.testing.assert_allclose(a["betweenness"], [bc[n] for n in names], atol=1e-12)
    w = nx.Graph()
    w.add_weighted_edges_from([(0, 1, 2.0), (1, 2, 0.5), (2, 0, 1.0)])
    assert np.isfinite(posenc.graph_encodings(w, ["dijkstra"])["dijkstra"]).all()


def test_graph_encodings_take_every_option_of_the_command_line():
    # Path 0 - 1 - 2: x_0 = x_2 = (1 - x_1)/2, x_1 = (1 + 2 alpha)/(3 (1 + alpha)).
    path = np.array([[0, 1], [1, 2]], dtype=np.int64)
    b = (1 + 2 * 0.85) / (3 * 1.85)
    exact = np.array([(1 - b) / 2, b, (1 - b) / 2])
    tight = posenc.graph_encodings(path, ["pagerank:tol=1e-10:max_iter=1000"])["pagerank"]
    loose = posenc.graph_encodings(path, ["pagerank"])["pagerank"]
    assert np.abs(tight - exact).max() <= 3e-10 < 1e-8 < np.abs(loose - exact).max()
    with pytest.raises(ValueError, match="raise max_iter"):
        posenc.graph_encodings(path, ["pagerank:tol=1e-10"])
    with pytest.raises(ValueError, match=r"option 'tol' must be a finite number > 0, got '0'"):
        posenc.graph_encodings(path, ["pagerank:tol=0"])
    apart = np.array([[0, 1], [2, 3]], dtype=np.int64)
    assert posenc.graph_encodings(apart, ["dijkstra:unreachable=-1"])["dijkstra"][0, 2] == -1
    assert posenc.graph_encodings(apart, ["betweenness:normalized=0"])["betweenness"].sum() == 0


def table_matrix():
    r = np.arange(60, dtype=float)
    return np.stack([np.sin(r * 0.3), np.sin(r * 0.3) + 0.1 * np.cos(r), r % 7, np.cos(r * 0.11)], axis=1)


def test_tabpet_array_equals_the_catalogue_entry():
    m = table_matrix()
    out = posenc.tabpet(m, graph="spearman", k=2)
    enc = posenc.encode("tabpet", values=m, graph="spearman", k=2)
    np.testing.assert_array_equal(out["pe"], enc.arrays["pe"])
    np.testing.assert_array_equal(out["eigenvalues"], enc.arrays["eigenvalues"])
    assert out["pe"].shape == (4, 4) and out["columns"] == ["0", "1", "2", "3"] and out["k"] == 2
    with pytest.raises(ValueError, match="expects one of spearman|pearson|chowliu"):
        posenc.tabpet(m, graph="kendall")


def test_tabpet_dataframe_equals_the_array():
    pd = pytest.importorskip("pandas")
    m = table_matrix()
    df = pd.DataFrame(m, columns=["a", "b", "c", "d"])
    df["kind"] = ["x" if i % 3 else "y" for i in range(len(df))]
    out = posenc.tabpet(df, graph="pearson", drop=["kind"])
    ref = posenc.tabpet(m, graph="pearson", names=["a", "b", "c", "d"])
    np.testing.assert_array_equal(out["pe"], ref["pe"])
    assert out["features"] == ["a", "b", "c", "d"]
    full = posenc.tabpet(df)
    assert "kind_x" in full["features"] and full["pe"].shape[0] == 5


def test_shortest_path_hops_into_every_type_into_a_reused_buffer():
    nx = pytest.importorskip("networkx")
    g = nx.barabasi_albert_graph(60, 2, seed=3)
    g.add_nodes_from([60, 61])  # two isolated nodes: unreachable pairs
    want = np.full((62, 62), -1, dtype=np.int64)
    for s, lengths in nx.all_pairs_shortest_path_length(g):
        for t, d in lengths.items():
            want[s, t] = d
    for dtype, unreachable in ((np.int64, -1), (np.int32, -1), (np.uint16, 510), (np.uint8, 255)):
        out = np.full((62, 62), 77, dtype=dtype)
        for _ in range(2):  # every element is written, the stale values included
            assert posenc.shortest_path_hops_into(g, out, unreachable=unreachable) is out
            expected = np.where(want < 0, unreachable if unreachable >= 0 else -1, want).astype(dtype)
            np.testing.assert_array_equal(out, expected)
            out.fill(77)
    longlong = np.zeros((62, 62), dtype=np.longlong)  # equivalent to int64, another dtype object
    np.testing.assert_array_equal(posenc.shortest_path_hops_into(g, longlong), want)
    clipped = np.empty(62 * 62, dtype=np.uint8)  # any shape of N * N elements
    edges = np.array(list(g.edges()), dtype=np.int64)
    posenc.shortest_path_hops_into(edges, clipped, nodes=62, max_distance=2)
    np.testing.assert_array_equal(clipped.reshape(62, 62), np.where(want < 0, 255, np.minimum(want, 2)).astype(np.uint8))


def test_shortest_path_hops_into_rejects_bad_buffers():
    edges = np.array([[0, 1], [1, 2]])
    with pytest.raises(TypeError, match="uint8, uint16, int32 or int64"):
        posenc.shortest_path_hops_into(edges, np.zeros((3, 3), np.float32))
    with pytest.raises(TypeError, match="'out'"):
        posenc.shortest_path_hops_into(edges, [0] * 9)
    with pytest.raises(ValueError, match="C-contiguous"):
        posenc.shortest_path_hops_into(edges, np.zeros((6, 3), np.int64)[::2])
    with pytest.raises(ValueError, match="'out'.*9"):
        posenc.shortest_path_hops_into(edges, np.zeros(8, np.int64))
    with pytest.raises(ValueError, match="unreachable"):
        posenc.shortest_path_hops_into(edges, np.zeros((3, 3), np.uint8), unreachable=300)
