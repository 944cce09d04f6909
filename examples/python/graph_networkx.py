"""Node encodings of a networkx graph (Zachary's karate club) and a Graphormer-style spatial bias.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/graph_networkx.py
"""
import numpy as np

import posenc

try:
    import networkx as nx
    graph = nx.karate_club_graph()
except ImportError:  # no networkx: the same call takes an [E, 2] edge array
    graph = np.array([[i, (i + 1) % 34] for i in range(34)], dtype=np.int64)

enc = posenc.graph_encodings(graph, ["spd", "degree", "pagerank", "lap:k=8", "rwse:steps=16"])
for name, value in enc.items():
    print(f"{name:16s}", getattr(value, "shape", len(value)))

# The same edges through the catalogue: a Graphormer spatial bias for attention over the nodes.
nodes = enc["nodes"]
index = {n: i for i, n in enumerate(nodes)}
edges = np.array([[index[a], index[b]] for a, b in graph.edges()] if hasattr(graph, "edges") else graph, dtype=np.int64)
bias = posenc.encode("graphormer_spatial", edges=edges, heads=4, spatial_pos_max=6)
q = np.random.default_rng(0).standard_normal((1, 4, bias.tokens, 16)).astype(np.float32)
out = posenc.attention(q, q, q, bias)
print("attention with the spatial bias:", out.shape, "graph token + nodes =", bias.tokens)
