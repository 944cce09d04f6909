// The attention core's tile indices (src/detail/tile_index.hpp): the diagonal form of relations
// that depend only on j - i, against the element-wise relation_index oracle, and the run-based
// gathers and scatters against plain per-element loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "detail/relation_eval.hpp"
#include "detail/tile_index.hpp"
#include "posenc/encoding.hpp"

namespace posenc {
namespace {

DTensor run_positions(std::size_t n, double first) {
  DTensor p = DTensor::from_shape({1, n, 1});
  for (std::size_t i = 0; i < n; ++i) p(0, i, 0) = first + static_cast<double>(i);
  return p;
}

// Relations over text positions (queries from 5, keys from 0: a shifted block, as with a memory).
std::vector<Relation> text_relations() {
  const DTensor q = run_positions(70, 5.0), k = run_positions(90, 0.0);
  return {
      Relation::offset(q, k, +1, -16, 16),                  // Shaw, clipped
      Relation::offset(q, k, -1, -89, 89),                  // Transformer-XL style, never clipped here
      Relation::offset(q, k, -1, -3, 40),                   // asymmetric clip, descending
      Relation::distance(q, k, 7),                          // clipped distance
      Relation::t5(q, k, true, 32, 128),                    // T5 bidirectional
      Relation::t5(q, k, false, 32, 20),                    // T5 causal, short max distance
  };
}

TEST(TileIndex, DiagonalFormMatchesTheElementwiseIndex) {
  const std::size_t tiles[][4] = {{0, 70, 0, 90}, {3, 4, 50, 51}, {10, 42, 7, 30}, {64, 70, 0, 64}, {0, 1, 0, 90}};
  for (const Relation& rel : text_relations())
    for (const auto& tl : tiles) {
      const std::size_t i0 = tl[0], i1 = tl[1], j0 = tl[2], j1 = tl[3], nb = i1 - i0;
      std::vector<std::int32_t> diag(nb + (j1 - j0) - 1, -7);
      ASSERT_TRUE(detail::relation_index_diagonal(rel, 0, i0, i1, j0, j1, diag.data()));
      detail::TileIndex ti;
      ti.build(rel, 0, i0, i1, j0, j1);
      ASSERT_TRUE(ti.diagonal());
      for (std::size_t i = i0; i < i1; ++i)
        for (std::size_t j = j0; j < j1; ++j) {
          const std::int64_t want = detail::relation_index(rel, 0, i, j);
          ASSERT_EQ(diag[(j - j0) + nb - 1 - (i - i0)], want) << "kind " << static_cast<int>(rel.kind) << " i " << i << " j " << j;
          ASSERT_EQ(ti.row(i - i0)[j - j0], want);
        }
    }
}

// Slope biases (ALiBi) read one value per diagonal over runs of text positions: the same floats
// as the element-wise relation_value; other relations and scattered positions have no such form.
TEST(TileIndex, DiagonalValuesMatchTheElementwiseValue) {
  const DTensor q = run_positions(70, 5.0), k = run_positions(90, 0.0);
  const std::vector<Relation> rels = {Relation::offset_unbounded(q, k, -1), Relation::offset_unbounded(q, k, +1),
                                      Relation::distance(q, k), Relation::distance(q, k, 7),
                                      Relation::offset(q, k, -1, -3, 40)};
  const std::size_t tiles[][4] = {{0, 70, 0, 90}, {3, 4, 50, 51}, {10, 42, 7, 30}, {64, 70, 0, 64}};
  for (const Relation& rel : rels)
    for (const auto& tl : tiles) {
      const std::size_t i0 = tl[0], i1 = tl[1], j0 = tl[2], j1 = tl[3], nb = i1 - i0;
      std::vector<float> diag(nb + (j1 - j0) - 1, -7.0f);
      ASSERT_TRUE(detail::relation_value_diagonal(rel, 0, i0, i1, j0, j1, diag.data()));
      for (std::size_t i = i0; i < i1; ++i)
        for (std::size_t j = j0; j < j1; ++j)
          ASSERT_EQ(diag[(j - j0) + nb - 1 - (i - i0)], static_cast<float>(detail::relation_value(rel, 0, i, j)))
              << "kind " << static_cast<int>(rel.kind) << " i " << i << " j " << j;
    }
  DTensor gap = run_positions(20, 0.0);
  gap(0, 12, 0) = 40.0;
  const DTensor ok = run_positions(20, 0.0);
  std::vector<float> diag(39);
  EXPECT_FALSE(detail::relation_value_diagonal(Relation::offset_unbounded(ok, gap, -1), 0, 0, 20, 0, 20, diag.data()));
  EXPECT_FALSE(detail::relation_value_diagonal(Relation::euclidean(ok, ok), 0, 0, 20, 0, 20, diag.data()));
  EXPECT_FALSE(detail::relation_value_diagonal(Relation::t5(ok, ok, true, 32, 128), 0, 0, 20, 0, 20, diag.data()));
}

// The index range a block's rows can read (the content-position product is limited to it): it
// covers every index used; over runs of positions it is tight for bounded offsets and distances
// (T5 keeps the whole table); over scattered positions it may be wider, never narrower.
TEST(TileIndex, IndexRangeCoversExactlyTheIndicesUsed) {
  DTensor scattered = DTensor::from_shape({1, 30, 1});
  for (std::size_t i = 0; i < 30; ++i) scattered(0, i, 0) = static_cast<double>((i * 7) % 30) - 4.0;
  std::vector<Relation> rels = text_relations();
  const std::size_t runs = rels.size();
  rels.push_back(Relation::distance(scattered, scattered, 12));
  rels.push_back(Relation::offset(scattered, scattered, -1, -9, 5));
  const std::size_t blocks[][4] = {{0, 30, 0, 30}, {3, 9, 0, 10}, {20, 30, 5, 30}, {12, 13, 12, 13}, {0, 5, 25, 30}};
  for (std::size_t u = 0; u < rels.size(); ++u)
    for (const auto& bl : blocks) {
      const Relation& rel = rels[u];
      std::size_t lo = 0, hi = 0;
      detail::relation_index_range(rel, 0, bl[0], bl[1], bl[2], bl[3], lo, hi);
      std::int64_t mn = rel.size, mx = -1;
      for (std::size_t i = bl[0]; i < bl[1]; ++i)
        for (std::size_t j = bl[2]; j < bl[3]; ++j) {
          const std::int64_t idx = detail::relation_index(rel, 0, i, j);
          mn = std::min(mn, idx);
          mx = std::max(mx, idx);
        }
      ASSERT_LE(lo, static_cast<std::size_t>(mn)) << "kind " << static_cast<int>(rel.kind);
      ASSERT_GT(hi, static_cast<std::size_t>(mx));
      if (u < runs && rel.kind != RelationKind::t5_bucket) {  // monotone rules over runs: tight
        EXPECT_EQ(lo, static_cast<std::size_t>(mn)) << "kind " << static_cast<int>(rel.kind);
        EXPECT_EQ(hi, static_cast<std::size_t>(mx) + 1);
      }
    }
}

TEST(TileIndex, OtherPositionsUseTheFullMatrix) {
  // A gap in the keys, descending positions, a second axis, an explicit index matrix: no diagonal form.
  DTensor gap = run_positions(20, 0.0);
  gap(0, 12, 0) = 40.0;
  DTensor down = run_positions(20, 0.0);
  for (std::size_t i = 0; i < 20; ++i) down(0, i, 0) = 19.0 - static_cast<double>(i);
  DTensor two = DTensor::from_shape({1, 20, 2});
  for (std::size_t i = 0; i < 20; ++i) two(0, i, 0) = two(0, i, 1) = static_cast<double>(i);
  ITensor explicit_idx = ITensor::from_shape({1, 20, 20});
  for (std::size_t x = 0; x < explicit_idx.size(); ++x) explicit_idx.data()[x] = static_cast<std::int64_t>(x % 5);
  const DTensor ok = run_positions(20, 0.0);
  const std::vector<Relation> rels = {Relation::offset(ok, gap, 1, -8, 8), Relation::t5(down, down, true, 32, 128),
                                      Relation::distance(two, two, 6), Relation::explicit_index(explicit_idx, 5)};
  for (const Relation& rel : rels) {
    std::vector<std::int32_t> diag(39);
    EXPECT_FALSE(detail::relation_index_diagonal(rel, 0, 0, 20, 0, 20, diag.data()));
    detail::TileIndex ti;
    ti.build(rel, 0, 2, 17, 1, 20);
    EXPECT_FALSE(ti.diagonal());
    for (std::size_t i = 2; i < 17; ++i)
      for (std::size_t j = 1; j < 20; ++j) ASSERT_EQ(ti.row(i - 2)[j - 1], detail::relation_index(rel, 0, i, j));
  }
}

// Gathers, scatters, tables applied over the tile and the expanded matrix against plain
// per-element loops, in the diagonal form (text relations) and the full-matrix form (a gap in the
// key positions, an explicit index matrix). Comparisons allow for rounding: the plain loops may be
// contracted into fused multiply-adds where the library's loops are not, and the scatter sums a
// constant run before scaling it.
TEST(TileIndex, GatherAndScatterMatchPlainLoops) {
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<Relation> rels = text_relations();
  const std::size_t diagonal = rels.size();
  DTensor gap = run_positions(90, 0.0);
  gap(0, 40, 0) = 200.0;
  rels.push_back(Relation::offset(run_positions(70, 5.0), gap, +1, -16, 16));
  ITensor explicit_idx = ITensor::from_shape({1, 70, 90});
  for (std::size_t x = 0; x < explicit_idx.size(); ++x) explicit_idx.data()[x] = static_cast<std::int64_t>((x * 7) % 11);
  rels.push_back(Relation::explicit_index(explicit_idx, 11));
  auto close = [](float a, float b) { return std::abs(a - b) <= 1e-5f * (1.0f + std::abs(b)); };
  for (std::size_t k = 0; k < rels.size(); ++k) {
    const Relation& rel = rels[k];
    const std::size_t i0 = 9, i1 = 41, j0 = 20, j1 = 85, nb = i1 - i0, nt = j1 - j0;
    const auto r = static_cast<std::size_t>(rel.size);
    detail::TileIndex ti;
    ti.build(rel, 0, i0, i1, j0, j1);
    ASSERT_EQ(ti.diagonal(), k < diagonal) << "relation " << k;
    std::vector<float> src(nb * r), row(nb * nt), dst(nb * nt), want(nb * nt), hist(nb * r, 0.0f), hwant(nb * r, 0.0f);
    for (auto& v : src) v = u(g);
    for (auto& v : row) v = u(g);
    for (std::size_t x = 0; x < dst.size(); ++x) dst[x] = want[x] = u(g);
    const float scale = 0.37f;
    for (std::size_t i = 0; i < nb; ++i) {
      ti.gather_add(i, src.data() + i * r, dst.data() + i * nt, scale);
      ti.scatter_add(i, row.data() + i * nt, hist.data() + i * r, scale);
      for (std::size_t j = 0; j < nt; ++j) {
        const auto idx = static_cast<std::size_t>(detail::relation_index(rel, 0, i0 + i, j0 + j));
        want[i * nt + j] += scale * src[i * r + idx];
        hwant[i * r + idx] += scale * row[i * nt + j];
      }
    }
    for (std::size_t x = 0; x < dst.size(); ++x) ASSERT_TRUE(close(dst[x], want[x])) << k << " " << x;
    for (std::size_t x = 0; x < hist.size(); ++x) ASSERT_TRUE(close(hist[x], hwant[x])) << k << " " << x;
    // A table applied over the tile (biases add, multipliers scale), and the expanded matrix.
    std::vector<float> tab(r), tile(nb * nt), plain(nb * nt), buf;
    for (auto& v : tab) v = u(g);
    for (std::size_t x = 0; x < tile.size(); ++x) tile[x] = plain[x] = u(g);
    ti.apply_table(tab.data(), tile.data(), buf, [](float& a, float v) { a *= v; });
    ti.apply_table(tab.data(), tile.data(), buf, [](float& a, float v) { a += v; });
    std::vector<std::int32_t> expanded;
    const std::int32_t* full = ti.full(expanded);
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < nt; ++j) {
        const auto idx = detail::relation_index(rel, 0, i0 + i, j0 + j);
        ASSERT_EQ(full[i * nt + j], idx);
        const float v = tab[static_cast<std::size_t>(idx)];
        plain[i * nt + j] *= v;
        plain[i * nt + j] += v;
        ASSERT_TRUE(close(tile[i * nt + j], plain[i * nt + j])) << k;
      }
    // The diagonal sums (the table-bias gradient) against per-index sums.
    if (ti.diagonal()) {
      std::vector<float> sums;
      ti.diagonal_sums(row.data(), sums);
      std::vector<double> by_index(r, 0.0), from_sums(r, 0.0);
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j)
          by_index[static_cast<std::size_t>(detail::relation_index(rel, 0, i0 + i, j0 + j))] += row[i * nt + j];
      for (std::size_t t = 0; t < ti.diag_size(); ++t) from_sums[static_cast<std::size_t>(ti.diag()[t])] += sums[t];
      for (std::size_t c = 0; c < r; ++c) ASSERT_NEAR(from_sums[c], by_index[c], 1e-4) << k << " " << c;
    }
  }
}

}  // namespace
}  // namespace posenc
