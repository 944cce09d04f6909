#!/usr/bin/env python3
"""Reference graph encodings from networkx 2.8 and NumPy/SciPy (Debian packages).

Graphs (written as edge-list CSVs next to the outputs, read by posenc's reader in the tests):
  karate.csv    Zachary's karate club (networkx karate_club_graph), unweighted, undirected
  weighted.csv  a connected G(n=25, p=0.2) with integer weights 1..9 (seed 3), undirected
  directed.csv  a directed G(n=20, p=0.15) (seed 5)
  split.csv     two components (a 5-cycle, a 4-path) + node 9 isolated, undirected

Outputs per graph NAME: NAME_spd.npy (hops, -1 unreachable), NAME_betweenness.npy,
NAME_closeness.npy, NAME_pagerank.npy, NAME_eigenvector.npy (connected undirected only),
NAME_lap_values.npy / NAME_lap_vectors.npy (numpy eigh of I - D^-1/2 A D^-1/2, self-loops removed),
NAME_rwse.npy (diag of (D^-1 A)^s, s = 1..8, dense); weighted_dijkstra.npy.
Read by tests/test_graph.cpp.

    python3 tests/data/gen_networkx_graph.py tests/data/graphs
"""
import os
import sys

import networkx as nx
import numpy as np


def write_csv(path, G, weighted):
    with open(path, "w") as f:
        f.write("source,target,weight\n" if weighted else "source,target\n")
        for u, v, d in G.edges(data=True):
            f.write(f"{u},{v},{d['weight']}\n" if weighted else f"{u},{v}\n")


def sym_lap(G, n):
    A = nx.to_numpy_array(G, nodelist=range(n), weight="weight")
    if G.is_directed():
        A = (A + A.T) / 2
    np.fill_diagonal(A, 0)
    d = A.sum(1)
    isq = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    return np.eye(n) - isq[:, None] * A * isq[None, :]


def rwse(G, n, steps=8):
    A = nx.to_numpy_array(G, nodelist=range(n), weight="weight")
    d = np.maximum(A.sum(1), 1)
    P = A / d[:, None]
    out, M = [], np.eye(n)
    for _ in range(steps):
        M = M @ P
        out.append(np.diag(M).copy())
    return np.stack(out, 1)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    graphs = {}
    k = nx.Graph()
    k.add_nodes_from(range(34))
    k.add_edges_from(nx.karate_club_graph().edges())
    graphs["karate"] = (k, False)
    while True:
        w = nx.gnp_random_graph(25, 0.2, seed=3)
        if nx.is_connected(w):
            break
    rng = np.random.default_rng(3)
    for u, v in w.edges():
        w[u][v]["weight"] = int(rng.integers(1, 10))
    graphs["weighted"] = (w, True)
    graphs["directed"] = (nx.gnp_random_graph(20, 0.15, seed=5, directed=True), False)
    s = nx.Graph()
    s.add_nodes_from(range(10))
    s.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (5, 6), (6, 7), (7, 8)])
    graphs["split"] = (s, False)
    for name, (G, weighted) in graphs.items():
        n = G.number_of_nodes()
        write_csv(os.path.join(outdir, name + ".csv"), G, weighted)
        spd = -np.ones((n, n), dtype=np.int64)
        for u, row in nx.all_pairs_shortest_path_length(G):
            for v, d in row.items():
                spd[u, v] = d
        np.save(os.path.join(outdir, name + "_spd.npy"), spd)
        wkey = "weight" if weighted else None
        np.save(os.path.join(outdir, name + "_betweenness.npy"),
                np.array([nx.betweenness_centrality(G, weight=wkey)[i] for i in range(n)]))
        np.save(os.path.join(outdir, name + "_closeness.npy"),
                np.array([nx.closeness_centrality(G)[i] for i in range(n)]))
        np.save(os.path.join(outdir, name + "_pagerank.npy"),
                np.array([nx.pagerank(G, weight="weight")[i] for i in range(n)]))
        if not G.is_directed() and nx.is_connected(G):
            np.save(os.path.join(outdir, name + "_eigenvector.npy"),
                    np.array([nx.eigenvector_centrality(G)[i] for i in range(n)]))
        vals, vecs = np.linalg.eigh(sym_lap(G, n))
        np.save(os.path.join(outdir, name + "_lap_values.npy"), vals)
        np.save(os.path.join(outdir, name + "_lap_vectors.npy"), vecs)
        np.save(os.path.join(outdir, name + "_rwse.npy"), rwse(G, n))
    G = graphs["weighted"][0]
    n = G.number_of_nodes()
    dij = np.full((n, n), np.inf)
    for u, row in nx.all_pairs_dijkstra_path_length(G):
        for v, d in row.items():
            dij[u, v] = d
    np.save(os.path.join(outdir, "weighted_dijkstra.npy"), dij)


if __name__ == "__main__":
    main(sys.argv[1])
