#!/usr/bin/env python3
"""Reference Graphormer multi-hop edge encoding, following microsoft/Graphormer step by step:
algos.pyx floyd_warshall (0/1 adjacency, 510 = no path, path[i][j] = last strictly improving k),
get_all_edges / gen_edge_input (edge attribute ids along the rebuilt path, -1 padding, shifted by
+1 in the collator so padding is row 0), and graphormer_layers.GraphAttnBias's multi_hop branch
(embedding, mean over features, per-hop [H, H] matrices, sum over hops divided by the clamped SPD).

Writes tests/data/graphs/gho_{edges.csv, ids.npy, table.npy, hops.npy, bias.npy, path.npy}:
the graph (13 nodes: G(12, 0.25) seed 7 plus isolated node 12), the embedding-row ids [E, 2]
(already shifted as the collator does), the tables, the expected bias [H, N, N] and the hop edge
ids [N, N, 5]. Read by tests/test_graph.cpp.

    python3 tests/data/gen_graphormer_edges.py tests/data/graphs
"""
import os
import sys

import networkx as nx
import numpy as np


def floyd_warshall(adj):
    n = adj.shape[0]
    M = adj.astype(np.int64).copy()
    path = -np.ones((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            if i == j:
                M[i][j] = 0
            elif M[i][j] == 0:
                M[i][j] = 510
    for k in range(n):
        for i in range(n):
            for j in range(n):
                c = M[i][k] + M[k][j]
                if M[i][j] > c:
                    M[i][j] = c
                    path[i][j] = k
    for i in range(n):
        for j in range(n):
            if M[i][j] >= 510:
                path[i][j] = 510
                M[i][j] = 510
    return M, path


def get_all_edges(path, i, j):
    k = path[i][j]
    if k == -1:
        return []
    return get_all_edges(path, i, k) + [k] + get_all_edges(path, k, j)


def main(outdir):
    G = nx.gnp_random_graph(12, 0.25, seed=7)
    G.add_node(12)
    n = G.number_of_nodes()
    edges = list(G.edges())
    rng = np.random.default_rng(7)
    C, H, D, R = 2, 4, 5, 9
    ids = rng.integers(1, R, size=(len(edges), C))          # embedding rows (>= 1; 0 = padding)
    table = rng.normal(size=(R, H)).astype(np.float64)
    table[0] = 0                                             # padding_idx
    hops = rng.normal(size=(D, H, H))
    adj = np.zeros((n, n), dtype=np.int64)
    attr = np.zeros((n, n, C), dtype=np.int64)              # 0 = no edge
    edge_id = -np.ones((n, n), dtype=np.int64)
    for e, (u, v) in enumerate(edges):
        adj[u, v] = adj[v, u] = 1
        attr[u, v] = attr[v, u] = ids[e]
        edge_id[u, v] = edge_id[v, u] = e
    M, path = floyd_warshall(adj)
    bias = np.zeros((H, n, n))
    hop_edges = -np.ones((n, n, D), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            if i == j or path[i][j] == 510:
                continue
            p = [i] + get_all_edges(path, i, j) + [j]
            spd = M[i][j]
            L = min(max(spd, 1), D)
            s = np.zeros(H)
            for k in range(min(len(p) - 1, D)):
                u, v = p[k], p[k + 1]
                hop_edges[i, j, k] = edge_id[u, v]
                e = table[attr[u, v]].mean(0)                # [H]: mean over the C features
                s += e @ hops[k]
            bias[:, i, j] = s / L
    with open(os.path.join(outdir, "gho_edges.csv"), "w") as f:
        f.write("source,target\n")
        for u, v in edges:
            f.write(f"{u},{v}\n")
    np.save(os.path.join(outdir, "gho_ids.npy"), ids.astype(np.int64))
    np.save(os.path.join(outdir, "gho_table.npy"), table.astype(np.float32))
    np.save(os.path.join(outdir, "gho_hops.npy"), hops.astype(np.float32))
    np.save(os.path.join(outdir, "gho_bias.npy"), bias)
    np.save(os.path.join(outdir, "gho_path.npy"), hop_edges)


if __name__ == "__main__":
    main(sys.argv[1])
