// All-pairs hop counts (posenc/graph.hpp shortest_path_hops and shortest_path_hops_into) against a
// plain one-source-at-a-time BFS written here, on graphs larger than one 512-source block,
// directed and undirected, with isolated nodes; every output type; clip and unreachable rules;
// thread-count independence; errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "posenc/graph.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;

/// Hop counts by one queue-based BFS per source over the out-edges (-1: unreachable).
std::vector<std::int64_t> oracle(const Graph& g) {
  const auto n = static_cast<std::size_t>(g.nodes());
  std::vector<std::int64_t> d(n * n, -1);
  for (std::size_t s = 0; s < n; ++s) {
    std::deque<std::size_t> q{s};
    d[s * n + s] = 0;
    while (!q.empty()) {
      const std::size_t v = q.front();
      q.pop_front();
      for (auto e = g.offsets()[v]; e < g.offsets()[v + 1]; ++e) {
        const auto w = static_cast<std::size_t>(g.adjacency()[static_cast<std::size_t>(e)]);
        if (d[s * n + w] >= 0) continue;
        d[s * n + w] = d[s * n + v] + 1;
        q.push_back(w);
      }
    }
  }
  return d;
}

/// A seeded sparse random graph with a long path through it (distances past 255 for n > 300).
Graph random_graph(std::int64_t n, bool directed, std::uint64_t seed, bool long_path) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<std::int64_t> node(0, n - 1);
  std::vector<GraphEdge> edges;
  if (long_path)
    for (std::int64_t i = 0; i + 1 < n - 20; ++i) edges.push_back({i, i + 1});  // the last 20 nodes hang off it
  for (std::int64_t e = 0; e < n / 3; ++e) {
    const std::int64_t a = node(gen), b = node(gen);
    if (a < n - 20 && b < n - 20 && long_path) continue;  // keep the path's distances long
    edges.push_back({a, b});
  }
  return Graph(n, std::move(edges), directed);
}

template <class T>
std::vector<T> into(const Graph& g, const ShortestPathOptions& o) {
  std::vector<T> out(static_cast<std::size_t>(g.nodes() * g.nodes()), T{7});
  shortest_path_hops_into(g, std::span<T>(out), o);
  return out;
}

TEST(HopsInto, EveryTypeMatchesOneSourceBfs) {
  for (const bool directed : {false, true})
    for (const std::int64_t n : {1, 5, 255, 256, 257, 700}) {
      const Graph g = random_graph(n, directed, 3 + static_cast<std::uint64_t>(n), n > 300);
      const auto want = oracle(g);
      const ITensor full = shortest_path_hops(g);
      const auto i32 = into<std::int32_t>(g, {});
      const auto u16 = into<std::uint16_t>(g, {});
      const auto u8 = into<std::uint8_t>(g, {});
      for (std::size_t i = 0; i < want.size(); ++i) {
        const std::int64_t w = want[i];
        ASSERT_EQ(full.data()[i], w) << "n " << n << " directed " << directed << " flat " << i;
        ASSERT_EQ(i32[i], w) << "int32 flat " << i;
        ASSERT_EQ(u16[i], w < 0 ? 65535 : w) << "uint16 flat " << i;
        ASSERT_EQ(u8[i], w < 0 ? 255 : std::min<std::int64_t>(w, 254)) << "uint8 flat " << i;
      }
    }
}

/// A seeded graph of average degree ~2 x per_node made of `parts` disconnected pieces (each a
/// random graph on its own node range, so pairs across pieces are unreachable), plus self-loops,
/// parallel edges and a few isolated nodes at the end: dense enough for the bottom-up levels.
Graph pieces_graph(std::int64_t n, bool directed, std::uint64_t seed, std::int64_t parts, std::int64_t per_node) {
  std::mt19937_64 gen(seed);
  std::vector<GraphEdge> edges;
  const std::int64_t used = std::max<std::int64_t>(1, n - 3), size = (used + parts - 1) / parts;
  for (std::int64_t lo = 0; lo < used; lo += size) {
    const std::int64_t hi = std::min(used, lo + size);
    std::uniform_int_distribution<std::int64_t> node(lo, hi - 1);
    for (std::int64_t e = 0; e < per_node * (hi - lo); ++e) edges.push_back({node(gen), node(gen)});
    edges.push_back({lo, lo});  // a self-loop
    if (hi - lo > 1) edges.push_back({lo, lo + 1});  // and a parallel edge, likely
  }
  return Graph(n, std::move(edges), directed);
}

// Dense pieces run most levels bottom-up, sparse ones (and the long paths above) top-down; both
// directions, several 512-source blocks with a narrower last one, and unreachable pairs between
// pieces must all give the one-source BFS.
TEST(HopsInto, DenseAndSparsePiecesMatchOneSourceBfs) {
  for (const bool directed : {false, true})
    for (const std::int64_t n : {2, 63, 64, 65, 511, 512, 513, 1100})
      for (const std::int64_t per_node : {1, 4}) {
        const Graph g = pieces_graph(n, directed, 11 + static_cast<std::uint64_t>(n), n > 100 ? 3 : 1, per_node);
        const auto want = oracle(g);
        const auto i64 = into<std::int64_t>(g, {.threads = 2});
        const auto u16 = into<std::uint16_t>(g, {.unreachable = 510});
        const auto u8 = into<std::uint8_t>(g, {.max_distance = 3});
        for (std::size_t i = 0; i < want.size(); ++i) {
          const std::int64_t w = want[i];
          ASSERT_EQ(i64[i], w) << "n " << n << " directed " << directed << " per_node " << per_node << " flat " << i;
          ASSERT_EQ(u16[i], w < 0 ? 510 : w) << "uint16 flat " << i;
          ASSERT_EQ(u8[i], w < 0 ? 255 : std::min<std::int64_t>(w, 3)) << "uint8 flat " << i;
        }
      }
}

TEST(HopsInto, ThreadCountsGiveIdenticalBytes) {
  for (const bool directed : {false, true}) {
    const Graph g = pieces_graph(1600, directed, 5, 2, 3);
    const auto one = into<std::uint8_t>(g, {.threads = 1});
    for (const int t : {2, 3, 5}) EXPECT_EQ(into<std::uint8_t>(g, {.threads = t}), one) << t << " threads";
  }
}

TEST(HopsInto, ClipUnreachableAndThreads) {
  const Graph g = random_graph(700, true, 9, true);
  const auto want = oracle(g);
  const auto u8 = into<std::uint8_t>(g, {.max_distance = 20, .unreachable = 200});
  const auto u16 = into<std::uint16_t>(g, {.unreachable = 510});
  std::size_t clipped = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(u8[i], want[i] < 0 ? 200 : std::min<std::int64_t>(want[i], 20));
    ASSERT_EQ(u16[i], want[i] < 0 ? 510 : want[i]);
    clipped += want[i] > 20 ? 1 : 0;
  }
  EXPECT_GT(clipped, 1000u);  // the clip was exercised
  for (const int t : {1, 2, 3}) {
    std::vector<std::int64_t> out(700 * 700);
    shortest_path_hops_into(g, std::span<std::int64_t>(out), {.threads = t});
    EXPECT_EQ(out, want) << t << " threads";
  }
}

TEST(HopsInto, Errors) {
  const Graph g(3, {{0, 1}});
  std::vector<std::uint8_t> small(8), fits(9);
  expect_invalid([&] { shortest_path_hops_into(g, std::span<std::uint8_t>(small)); },
                 {"shortest_path_hops_into", "out", "9", "8"});
  expect_invalid([&] { shortest_path_hops_into(g, std::span<std::uint8_t>(fits), {.unreachable = 510}); },
                 {"shortest_path_hops_into", "unreachable", "510"});
  expect_invalid([&] { shortest_path_hops_into(g, std::span<std::uint8_t>(fits), {.max_distance = 300}); },
                 {"max_distance", "300"});
  std::vector<std::int32_t> i32(9);
  expect_invalid([&] { shortest_path_hops_into(g, std::span<std::int32_t>(i32), {.unreachable = 1LL << 40}); },
                 {"unreachable"});
  expect_invalid([&] { shortest_path_hops(g, {.max_distance = -2}); }, {"shortest_path_hops", "max_distance", "-2"});
}

}  // namespace
}  // namespace posenc
