// Micro benchmarks of the graph workloads (Google Benchmark).
//
//   GR1  all-pairs hop distances on a Barabasi-Albert graph, 5000 nodes, m = 5 -> [5000, 5000]:
//        int64 into a fresh tensor (shortest_path_hops), and shortest_path_hops_into as uint8 / uint16
//        / int64 into a fresh or a reused buffer
//   GR2  Laplacian eigenvector encoding k = 16 (symmetric-normalised) on the same graph
//   GR3  the dense / sparse solver switch: Laplacian PE k = 16 on BA graphs of N nodes, each solver
//
// The graph is read from $POSENC_BENCH_GRAPH (an edge-list CSV; bench/compare_graphs.py writes the
// one networkx generates so both sides use the same graph), else generated here (seeded BA).
// Thread count is the argument of GR1 (1, 2). Run: build/bench/posenc_bench_graphs.
#include <benchmark/benchmark.h>

#include <memory>
#include <span>

#include <omp.h>

#include <cstdlib>
#include <random>

#include "posenc/graph.hpp"

namespace {

using namespace posenc;

/// Barabasi-Albert preferential attachment: start from m isolated nodes; each new node links to m
/// distinct existing nodes chosen with probability proportional to degree (networkx's scheme).
Graph barabasi_albert(std::int64_t n, std::int64_t m, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<GraphEdge> edges;
  std::vector<std::int64_t> repeated;  // every edge end, for degree-proportional sampling
  std::vector<std::int64_t> targets;
  for (std::int64_t i = 0; i < m; ++i) targets.push_back(i);
  for (std::int64_t v = m; v < n; ++v) {
    for (auto t : targets) {
      edges.push_back({v, t});
      repeated.push_back(v);
      repeated.push_back(t);
    }
    targets.clear();
    while (static_cast<std::int64_t>(targets.size()) < m) {
      const auto t = repeated[std::uniform_int_distribution<std::size_t>(0, repeated.size() - 1)(rng)];
      if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
    }
  }
  return Graph(n, std::move(edges));
}

const Graph& ba5000() {
  static const Graph g = [] {
    const char* path = std::getenv("POSENC_BENCH_GRAPH");
    return path ? read_edge_list_csv(path) : barabasi_albert(5000, 5, 0);
  }();
  return g;
}

void GR1_AllPairsHops(benchmark::State& st) {
  const Graph& g = ba5000();
  for (auto _ : st)
    benchmark::DoNotOptimize(shortest_path_hops(g, {.threads = static_cast<int>(st.range(0))}).data());
  st.counters["nodes"] = static_cast<double>(g.nodes());
}

/// shortest_path_hops_into: T into a buffer reused across iterations (reuse = 1) or fresh each time.
template <class T>
void GR1_HopsInto(benchmark::State& st) {
  const Graph& g = ba5000();
  const auto n = static_cast<std::size_t>(g.nodes());
  std::vector<T> reused(st.range(1) ? n * n : 0);
  for (auto _ : st) {
    if (st.range(1)) {
      shortest_path_hops_into(g, std::span<T>(reused), {.threads = static_cast<int>(st.range(0))});
      benchmark::DoNotOptimize(reused.data());
    } else {
      std::unique_ptr<T[]> fresh(new T[n * n]);
      shortest_path_hops_into(g, std::span<T>(fresh.get(), n * n), {.threads = static_cast<int>(st.range(0))});
      benchmark::DoNotOptimize(fresh.get());
    }
  }
}
void GR1_HopsIntoU8(benchmark::State& st) { GR1_HopsInto<std::uint8_t>(st); }
void GR1_HopsIntoU16(benchmark::State& st) { GR1_HopsInto<std::uint16_t>(st); }
void GR1_HopsIntoI64(benchmark::State& st) { GR1_HopsInto<std::int64_t>(st); }

void GR2_LaplacianPe16(benchmark::State& st) {
  omp_set_num_threads(static_cast<int>(st.range(0)));
  const Graph& g = ba5000();
  for (auto _ : st) benchmark::DoNotOptimize(laplacian_pe(g, {.k = 16}).vectors.data());
}

void GR3_LapDense(benchmark::State& st) {
  const Graph g = barabasi_albert(st.range(0), 5, 1);
  for (auto _ : st) benchmark::DoNotOptimize(laplacian_pe(g, {.k = 16, .solver = EigenSolver::dense}).vectors.data());
}
void GR3_LapSparse(benchmark::State& st) {
  const Graph g = barabasi_albert(st.range(0), 5, 1);
  for (auto _ : st) benchmark::DoNotOptimize(laplacian_pe(g, {.k = 16, .solver = EigenSolver::sparse}).vectors.data());
}

}  // namespace

BENCHMARK(GR1_AllPairsHops)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
// Args: threads, reuse (1: the same buffer every iteration, 0: a fresh one).
BENCHMARK(GR1_HopsIntoU8)->Args({1, 0})->Args({1, 1})->Args({2, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(GR1_HopsIntoU16)->Args({1, 0})->Args({1, 1})->Args({2, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(GR1_HopsIntoI64)->Args({1, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(GR2_LaplacianPe16)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(GR3_LapDense)->Arg(100)->Arg(250)->Arg(500)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(GR3_LapSparse)->Arg(100)->Arg(250)->Arg(500)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
