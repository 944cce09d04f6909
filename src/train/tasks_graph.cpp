// Seeded tasks of the graph modality (posenc/tasks.hpp), built on the library's graph code
// (posenc/graph.hpp: Graph, shortest_path_hops, degrees, laplacian_pe, random_walk_pe).
//
// graph_distance (classification, 5 classes)
//   A random connected graph of n nodes, n uniform in [graph_min_nodes, graph_max_nodes] (10, 20):
//   a random recursive tree (node i joins a uniform earlier node), then e extra edges between
//   uniform non-adjacent pairs, e uniform in [0, n / 4]; node ids randomly permuted. Two marked
//   nodes a != b. Label = the shortest-path hop distance d(a, b) in classes {1, 2, 3, 4, >= 5}
//   (class = min(d, 5) - 1). The class is drawn first, uniformly, and the pair uniformly among the
//   pairs of that class (a graph without one is redrawn), so chance is 20 %.
//   Node features [N, 3]: (is a, is b, 1); padding nodes (past n) all zero, Dataset::lengths = n.
//   where: hops [S, N, N] (-1 unreachable and on padding), degrees [S, N] (0 on padding),
//   features [S, N, k + steps]: the k = graph_lap_k smallest non-trivial eigenvectors of the
//   symmetric-normalised Laplacian (laplacian_pe, canonical signs, zero columns when n - 1 < k),
//   then random_walk_pe's graph_rw_steps return probabilities.
//
// graph_cycles (classification, 2 classes)
//   A 2-regular graph of n nodes, n uniform in [graph_min_nodes, graph_max_nodes]: class 0 one cycle
//   C_n, class 1 two disjoint cycles C_k + C_(n-k), k uniform in [3, n - 3]; node ids randomly
//   permuted; the class is drawn uniformly (chance 50 %) and independently of n. Node features
//   [N, 1]: 1 on real nodes, 0 on padding. Every node has degree 2 and the same feature, so the
//   1-WL test (and with it a model without structural encodings, or with degrees only) cannot tell
//   the classes apart: only the structure (distances, unreachable pairs, spectrum, return
//   probabilities) can. where: as graph_distance.
//
// Both: pooling = TaskOptions::graph_pooling (mean over the n nodes, or a class / graph token).
#include <algorithm>
#include <numeric>
#include <set>

#include "posenc/graph.hpp"
#include "train/common.hpp"
#include "train/task_registry.hpp"

namespace posenc::train::detail {

namespace {

constexpr std::int64_t kDistanceClasses = 5, kCycleClasses = 2;
constexpr std::uint64_t kTrainStream = 1, kValidationStream = 2;

using GraphRng = TaskStream;

/// A random connected graph of n nodes: random recursive tree plus up to n / 4 extra edges, ids permuted.
Graph random_connected_graph(std::int64_t n, GraphRng& rng) {
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  std::set<std::pair<std::int64_t, std::int64_t>> have;
  std::vector<GraphEdge> edges;
  auto add = [&](std::int64_t u, std::int64_t v) {
    u = perm[u];
    v = perm[v];
    if (u > v) std::swap(u, v);
    if (u == v || !have.insert({u, v}).second) return false;
    edges.push_back({u, v, 1.0});
    return true;
  };
  for (std::int64_t i = 1; i < n; ++i) add(i, rng.below(i));
  const std::int64_t extra = rng.below(n / 4 + 1);
  for (std::int64_t e = 0, tries = 0; e < extra && tries < 100 * n; ++tries)
    if (add(rng.below(n), rng.below(n))) ++e;
  return Graph(n, std::move(edges));
}

struct GraphSplitOptions {
  std::int64_t samples, min_nodes, max_nodes, lap_k, rw_steps;
  std::uint64_t seed;
};

/// Row s of a split: feature column `ones` = 1 on the graph's nodes, length n, and the where fields
/// (hops, degrees, Laplacian PE then RWSE columns).
void write_graph(Dataset& d, std::size_t s, const Graph& g, const ITensor& hops, std::size_t ones,
                 const GraphSplitOptions& o) {
  const auto n = static_cast<std::size_t>(g.nodes());
  const ITensor deg = degrees(g);
  LaplacianPeOptions lo;
  lo.k = o.lap_k;
  lo.pad = true;
  const Tensor lap = laplacian_pe(g, lo).vectors;
  const Tensor rw = random_walk_pe(g, o.rw_steps);
  for (std::size_t i = 0; i < n; ++i) {
    d.features(s, i, ones) = 1.0f;
    d.where.degrees(s, i) = deg(i);
    for (std::size_t j = 0; j < n; ++j) d.where.hops(s, i, j) = hops(i, j);
    for (std::size_t c = 0; c < static_cast<std::size_t>(o.lap_k); ++c) d.where.features(s, i, c) = lap(i, c);
    for (std::size_t c = 0; c < static_cast<std::size_t>(o.rw_steps); ++c)
      d.where.features(s, i, static_cast<std::size_t>(o.lap_k) + c) = rw(i, c);
  }
  d.lengths[s] = g.nodes();
}

/// An empty split of S samples: features [S, N, F] and where fields zero (hops -1), lengths [S].
Dataset empty_split(const GraphSplitOptions& o, std::size_t features) {
  const auto S = static_cast<std::size_t>(o.samples), N = static_cast<std::size_t>(o.max_nodes);
  const auto P = static_cast<std::size_t>(o.lap_k + o.rw_steps);
  Dataset d;
  d.features = Tensor::from_shape({S, N, features});
  d.features.fill(0.0f);
  d.labels = ITensor::from_shape({S});
  d.where.hops = ITensor::from_shape({S, N, N});
  d.where.hops.fill(-1);
  d.where.degrees = ITensor::from_shape({S, N});
  d.where.degrees.fill(0);
  d.where.features = Tensor::from_shape({S, N, P});
  d.where.features.fill(0.0f);
  d.lengths.resize(S);
  return d;
}

Dataset distance_split(const GraphSplitOptions& o) {
  Dataset d = empty_split(o, 3);
  for (std::size_t s = 0; s < d.size(); ++s) {
    GraphRng rng(derive_seed(o.seed, s));
    const std::int64_t label = rng.below(kDistanceClasses);
    for (;;) {
      const std::int64_t n = o.min_nodes + rng.below(o.max_nodes - o.min_nodes + 1);
      const Graph g = random_connected_graph(n, rng);
      const ITensor hops = shortest_path_hops(g, ShortestPathOptions{.threads = 1});
      std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j)
          if (std::min<std::int64_t>(hops(i, j), kDistanceClasses) - 1 == label) pairs.push_back({i, j});
      if (pairs.empty()) continue;
      auto [a, b] = pairs[static_cast<std::size_t>(rng.below(static_cast<std::int64_t>(pairs.size())))];
      if (rng.below(2) == 1) std::swap(a, b);
      d.features(s, static_cast<std::size_t>(a), 0) = 1.0f;
      d.features(s, static_cast<std::size_t>(b), 1) = 1.0f;
      write_graph(d, s, g, hops, 2, o);
      d.labels(s) = label;
      break;
    }
  }
  return d;
}

/// C_n (label 0) or C_k + C_(n-k) (label 1, k uniform in [3, n - 3]), node ids permuted.
Dataset cycles_split(const GraphSplitOptions& o) {
  Dataset d = empty_split(o, 1);
  for (std::size_t s = 0; s < d.size(); ++s) {
    GraphRng rng(derive_seed(o.seed, s));
    const std::int64_t label = rng.below(kCycleClasses);
    const std::int64_t n = o.min_nodes + rng.below(o.max_nodes - o.min_nodes + 1);
    const std::int64_t k = label == 0 ? n : 3 + rng.below(n - 5);
    std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    std::vector<GraphEdge> edges;
    auto cycle = [&](std::int64_t from, std::int64_t len) {
      for (std::int64_t i = 0; i < len; ++i) edges.push_back({perm[from + i], perm[from + (i + 1) % len], 1.0});
    };
    cycle(0, k);
    if (k < n) cycle(k, n - k);
    const Graph g(n, std::move(edges));
    write_graph(d, s, g, shortest_path_hops(g, ShortestPathOptions{.threads = 1}), 0, o);
    d.labels(s) = label;
  }
  return d;
}

/// Checks the graph options shared by the graph tasks and fills a task's sizes and both splits.
Task graph_task(const TaskOptions& o, const std::string& name, std::int64_t classes, std::int64_t features,
                Dataset (*split)(const GraphSplitOptions&)) {
  const char* fn = "make_task";
  if (o.train_samples < 1) fail(fn, "parameter 'train_samples' must be >= 1, got ", o.train_samples);
  if (o.validation_samples < 1) fail(fn, "parameter 'validation_samples' must be >= 1, got ", o.validation_samples);
  if (o.graph_min_nodes < 6 || o.graph_min_nodes > 512)
    fail(fn, "parameter 'graph_min_nodes' of task '", name, "' must be in [6, 512], got ", o.graph_min_nodes);
  if (o.graph_max_nodes < o.graph_min_nodes || o.graph_max_nodes > 512)
    fail(fn, "parameter 'graph_max_nodes' of task '", name, "' must be in [graph_min_nodes = ", o.graph_min_nodes,
         ", 512], got ", o.graph_max_nodes);
  if (o.graph_lap_k < 1 || o.graph_lap_k > 64)
    fail(fn, "parameter 'graph_lap_k' must be in [1, 64], got ", o.graph_lap_k);
  if (o.graph_rw_steps < 1 || o.graph_rw_steps > 64)
    fail(fn, "parameter 'graph_rw_steps' must be in [1, 64], got ", o.graph_rw_steps);
  if (o.length != 0 && o.length != o.graph_max_nodes)
    fail(fn, "parameter 'length' of task '", name, "' is graph_max_nodes = ", o.graph_max_nodes, ", got ", o.length);
  if (!o.eval_lengths.empty() && !(o.eval_lengths.size() == 1 && o.eval_lengths[0] == 0))
    fail(fn, "task '", name, "' has no longer evaluation sets; got eval_lengths[0] = ", o.eval_lengths[0]);
  if (o.graph_pooling == Pooling::none)
    fail(fn, "parameter 'graph_pooling' must be mean or cls for task '", name, "', got none");
  Task t;
  t.name = name;
  t.classes = classes;
  t.input_features = features;
  t.pooling = o.graph_pooling;
  t.length = o.graph_max_nodes;
  t.position_features = o.graph_lap_k + o.graph_rw_steps;
  GraphSplitOptions so{o.train_samples, o.graph_min_nodes, o.graph_max_nodes, o.graph_lap_k, o.graph_rw_steps,
                       derive_seed(o.seed, kTrainStream)};
  t.train = split(so);
  so.samples = o.validation_samples;
  so.seed = derive_seed(o.seed, kValidationStream);
  t.validation = split(so);
  return t;
}

Task graph_distance(const TaskOptions& o) {
  return graph_task(o, "graph_distance", kDistanceClasses, 3, distance_split);
}
Task graph_cycles(const TaskOptions& o) {
  return graph_task(o, "graph_cycles", kCycleClasses, 1, cycles_split);
}

}  // namespace

void add_graph_tasks(TaskEntries& out) {
  out.push_back({"graph_distance",
                 "5 classes: hop distance {1,2,3,4,>=5} between two marked nodes of a random connected graph "
                 "(10-20 nodes); hops, degrees, Laplacian PE and RWSE precomputed",
                 graph_distance});
  out.push_back({"graph_cycles",
                 "2 classes: one cycle C_n or two disjoint cycles C_k + C_(n-k) (10-20 nodes, every node of degree 2: "
                 "1-WL and degrees cannot tell them apart); hops, degrees, Laplacian PE and RWSE precomputed",
                 graph_cycles});
}

}  // namespace posenc::train::detail
