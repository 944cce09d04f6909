// laplacian_pe's eigengap report (posenc/graph.hpp LaplacianPe::eigengap, warning) against the
// closed-form spectra of paths and cycles, with the dense and the sparse solver.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "posenc/graph.hpp"

namespace posenc {
namespace {

Graph path(std::int64_t n) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 0; i + 1 < n; ++i) e.push_back({i, i + 1});
  return Graph(n, std::move(e));
}

Graph cycle(std::int64_t n) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 0; i < n; ++i) e.push_back({i, (i + 1) % n});
  return Graph(n, std::move(e));
}

TEST(LaplacianEigengap, PathSpectrumDenseAndSparse) {
  // Symmetric-normalised Laplacian of the path P_n: eigenvalues 1 - cos(pi j / (n - 1)), j = 0 .. n-1,
  // all distinct, so the gap after the k-th non-trivial one is cos(pi k/(n-1)) - cos(pi (k+1)/(n-1)).
  for (const auto solver : {EigenSolver::dense, EigenSolver::sparse}) {
    const std::int64_t n = 300, k = 4;
    const LaplacianPe pe = laplacian_pe(path(n), {.k = k, .solver = solver});
    const double m = static_cast<double>(n - 1);
    const double want = std::cos(std::numbers::pi * k / m) - std::cos(std::numbers::pi * (k + 1) / m);
    EXPECT_NEAR(pe.next_eigenvalue, 1 - std::cos(std::numbers::pi * (k + 1) / m), 1e-9);
    EXPECT_NEAR(pe.eigengap, want, 1e-9);
    EXPECT_TRUE(pe.warning.empty()) << pe.warning;
  }
}

TEST(LaplacianEigengap, CycleDegeneratePairsWarnOnlyInsideAPair) {
  // Cycle C_n: eigenvalues 1 - cos(2 pi j / n), j = 1 .. come in equal pairs. k = 1 cuts a pair (warning,
  // gap ~ 0); k = 2 ends at a pair's end (gap = cos(2 pi/n) - cos(4 pi/n), no warning).
  const std::int64_t n = 12;
  const LaplacianPe cut = laplacian_pe(cycle(n), {.k = 1});
  EXPECT_LT(cut.eigengap, kEigengapTolerance);
  EXPECT_NE(cut.warning.find("not individually defined"), std::string::npos);
  const LaplacianPe whole = laplacian_pe(cycle(n), {.k = 2});
  EXPECT_NEAR(whole.eigengap, std::cos(2 * std::numbers::pi / n) - std::cos(4 * std::numbers::pi / n), 1e-10);
  EXPECT_TRUE(whole.warning.empty());
  // No pair after the last one: k = every non-trivial vector leaves the gap undefined.
  const LaplacianPe all = laplacian_pe(path(5), {.k = 4});
  EXPECT_TRUE(std::isnan(all.eigengap));
  EXPECT_TRUE(all.warning.empty());
}

}  // namespace
}  // namespace posenc
