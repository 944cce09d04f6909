// laplacian_pe's sparse solver (Chebyshev-filtered subspace iteration, modalities/graph/spectral_chfsi.cpp)
// against dense LAPACK (xt::linalg::eigh on a Laplacian assembled here from the edge list) on
// Barabasi-Albert graphs, whose smallest eigenvalues cluster as on the benchmark graph: eigenvalues,
// projectors onto groups of close eigenvalues (rotation inside a group is free), residuals; repeated
// eigenvalues across components; bit-identical results for 1 and 2 threads; the filter, on the
// block and on its residual form, against the Chebyshev polynomial evaluated on dense eigenpairs.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include <xtensor-blas/xlinalg.hpp>

#include "../modalities/graph/spectral_solver.hpp"
#include "posenc/graph.hpp"

namespace posenc {
namespace {

/// Preferential attachment: each new node links to m distinct earlier nodes drawn by degree.
Graph barabasi_albert(std::int64_t n, std::int64_t m, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<GraphEdge> edges;
  std::vector<std::int64_t> ends, targets;
  for (std::int64_t i = 0; i < m; ++i) targets.push_back(i);
  for (std::int64_t v = m; v < n; ++v) {
    for (auto t : targets) {
      edges.push_back({v, t});
      ends.push_back(v);
      ends.push_back(t);
    }
    targets.clear();
    while (static_cast<std::int64_t>(targets.size()) < m) {
      const auto t = ends[std::uniform_int_distribution<std::size_t>(0, ends.size() - 1)(rng)];
      if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
    }
  }
  return Graph(n, std::move(edges));
}

/// Dense Laplacian of an undirected unweighted simple graph: D - A, or I - D^-1/2 A D^-1/2.
xt::xtensor<double, 2> dense_laplacian(const Graph& g, bool combinatorial) {
  const auto n = static_cast<std::size_t>(g.nodes());
  xt::xtensor<double, 2> a = xt::zeros<double>({n, n});
  for (const auto& e : g.edges()) {
    a(static_cast<std::size_t>(e.source), static_cast<std::size_t>(e.target)) = 1;
    a(static_cast<std::size_t>(e.target), static_cast<std::size_t>(e.source)) = 1;
  }
  std::vector<double> d(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) d[i] += a(i, j);
  xt::xtensor<double, 2> l = xt::zeros<double>({n, n});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      l(i, j) = combinatorial ? (i == j ? d[i] : 0.0) - a(i, j)
                              : (i == j ? 1.0 : 0.0) - a(i, j) / std::sqrt(d[i] * d[j]);
  return l;
}

/// ||P - Q||_F for the projectors onto columns [c0, c1) of `got` (float, [n, k]) and of `ref`
/// (columns shifted by `skip`): sqrt(2) ||G - R R^T G||_F for orthonormal bases G, R of equal size
/// (free of the cancellation in sqrt(2m - 2 ||G^T R||_F^2)).
double projector_distance(const Tensor& got, const xt::xtensor<double, 2>& ref, std::size_t skip, std::size_t c0,
                          std::size_t c1) {
  const std::size_t n = ref.shape()[0];
  double sum = 0;
  for (std::size_t a = c0; a < c1; ++a) {
    std::vector<double> coef(c1 - c0, 0.0);  // R^T g_a
    for (std::size_t b = c0; b < c1; ++b)
      for (std::size_t i = 0; i < n; ++i) coef[b - c0] += ref(i, skip + b) * double(got(i, a));
    for (std::size_t i = 0; i < n; ++i) {
      double r = got(i, a);
      for (std::size_t b = c0; b < c1; ++b) r -= ref(i, skip + b) * coef[b - c0];
      sum += r * r;
    }
  }
  return std::sqrt(2 * sum);
}

TEST(LaplacianSparseSolver, ProjectorsMatchDenseLapackOnClusteredSpectrum) {
  const Graph g = barabasi_albert(400, 3, 7);
  for (const bool combinatorial : {false, true}) {
    const auto l = dense_laplacian(g, combinatorial);
    const auto [w, v] = xt::linalg::eigh(l);
    const std::size_t k = 16, n = l.shape()[0];
    const LaplacianKind kind = combinatorial ? LaplacianKind::combinatorial : LaplacianKind::symmetric;
    const LaplacianPe pe =
        laplacian_pe(g, {.k = static_cast<std::int64_t>(k), .kind = kind, .solver = EigenSolver::sparse});
    ASSERT_EQ(pe.trivial, 1);
    const double scale = combinatorial ? w(n - 1) : 1.0;
    for (std::size_t c = 0; c < k; ++c) EXPECT_NEAR(pe.eigenvalues[c], w(1 + c), 1e-9 * scale) << c;
    EXPECT_NEAR(pe.next_eigenvalue, w(1 + k), 1e-9 * scale);
    // Groups: consecutive eigenvalues closer than 1e-3 of lambda_{k+1} belong together. Every group
    // that lies whole inside the k columns has a defined projector; compare those.
    const double close = 1e-3 * w(1 + k);
    std::size_t groups = 0, a = 0;
    double smallest_gap = 1e300;
    while (a < k) {
      std::size_t b = a + 1;
      while (b < k && w(1 + b) - w(b) < close) ++b;
      if (b < k || w(1 + k) - w(k) >= close) {
        EXPECT_LT(projector_distance(pe.vectors, v, 1, a, b), 1e-5) << "columns " << a << ".." << b;
        ++groups;
      }
      if (b < k) smallest_gap = std::min(smallest_gap, w(1 + b) - w(b));
      a = b;
    }
    EXPECT_GE(groups, 2u);                   // the test compares something
    EXPECT_LT(smallest_gap, 20 * close);     // and the spectrum is clustered at this scale
    // Residuals of the float vectors: ||L u - lambda u|| within float rounding.
    for (std::size_t c = 0; c < k; ++c) {
      double r2 = 0;
      for (std::size_t i = 0; i < n; ++i) {
        double lu = 0;
        for (std::size_t j = 0; j < n; ++j) lu += l(i, j) * pe.vectors(j, c);
        r2 += std::pow(lu - pe.eigenvalues[c] * pe.vectors(i, c), 2);
      }
      EXPECT_LT(std::sqrt(r2), 1e-5 * scale) << c;
    }
  }
}

TEST(LaplacianSparseSolver, RepeatedEigenvaluesAcrossComponents) {
  // 20 disjoint 15-cycles: 20 zero eigenvalues (trivial), then 1 - cos(2 pi/15) forty times. k = 4
  // cuts inside that eigenspace: the values are exact, the gap is zero and the warning says so.
  const std::int64_t cycles = 20, len = 15;
  std::vector<GraphEdge> e;
  for (std::int64_t c = 0; c < cycles; ++c)
    for (std::int64_t i = 0; i < len; ++i) e.push_back({c * len + i, c * len + (i + 1) % len});
  const Graph g(cycles * len, std::move(e));
  const LaplacianPe pe = laplacian_pe(g, {.k = 4, .solver = EigenSolver::sparse});
  EXPECT_EQ(pe.trivial, cycles);
  const double want = 1 - std::cos(2 * std::numbers::pi / static_cast<double>(len));
  for (double value : pe.eigenvalues) EXPECT_NEAR(value, want, 1e-10);
  EXPECT_LT(pe.eigengap, kEigengapTolerance);
  EXPECT_FALSE(pe.warning.empty());
  // Each vector lies in that eigenspace: (L u)_i = u_i - (u_prev + u_next)/2 = want u_i on every cycle.
  for (std::size_t c = 0; c < 4; ++c)
    for (std::int64_t cyc = 0; cyc < cycles; ++cyc)
      for (std::int64_t i = 0; i < len; ++i) {
        const auto at = [&](std::int64_t j) {
          return double(pe.vectors(static_cast<std::size_t>(cyc * len + (j + len) % len), c));
        };
        EXPECT_NEAR(at(i) - 0.5 * (at(i - 1) + at(i + 1)), want * at(i), 1e-6);
      }
}

TEST(LaplacianSparseSolver, BitIdenticalForOneAndTwoThreads) {
  const Graph g = barabasi_albert(3000, 5, 11);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const LaplacianPe one = laplacian_pe(g, {.k = 16, .solver = EigenSolver::sparse});
  omp_set_num_threads(2);
  const LaplacianPe two = laplacian_pe(g, {.k = 16, .solver = EigenSolver::sparse});
  omp_set_num_threads(before);
  ASSERT_EQ(one.vectors.shape(), two.vectors.shape());
  EXPECT_TRUE(std::equal(one.vectors.begin(), one.vectors.end(), two.vectors.begin()));
  EXPECT_EQ(one.eigenvalues, two.eigenvalues);
  EXPECT_EQ(one.next_eigenvalue, two.next_eigenvalue);
}

}  // namespace
}  // namespace posenc

// The block solver itself (laplacian_pe would hide a failure behind its Lanczos fallback): the
// combinatorial Laplacian of a 400-cycle has eigenvalues 2 - 2 cos(2 pi j / 400), each j != 0
// twice. The 9 smallest must converge, to the formula, with small residuals.
TEST(ChebyshevSolver, ConvergesOnACycleWithoutTheFallback) {
  const Eigen::Index n = 400;
  std::vector<Eigen::Triplet<double>> t;
  for (Eigen::Index i = 0; i < n; ++i) {
    t.emplace_back(i, i, 2.0);
    t.emplace_back(i, (i + 1) % n, -1.0);
    t.emplace_back((i + 1) % n, i, -1.0);
  }
  Eigen::SparseMatrix<double> L(n, n);
  L.setFromTriplets(t.begin(), t.end());
  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;
  const posenc::detail::ChebyshevStats st = posenc::detail::lowest_eigenpairs(L, 4.0, 9, values, vectors);
  ASSERT_TRUE(st.converged) << st.iterations << " rounds, residual " << st.residual;
  EXPECT_LT(st.iterations, 300);
  EXPECT_LE(st.residual, 1e-10 * 4.0);
  EXPECT_GE(st.upper, 4.0 - 1e-3);  // the Lanczos estimate of lambda_max = 4 (n even)
  const double expect[] = {0, 1, 1, 2, 2, 3, 3, 4, 4};
  for (Eigen::Index c = 0; c < 9; ++c) {
    const double j = expect[c];
    EXPECT_NEAR(values(c), 2.0 - 2.0 * std::cos(2.0 * std::numbers::pi * j / static_cast<double>(n)), 1e-10) << c;
    EXPECT_NEAR(vectors.col(c).norm(), 1.0, 1e-10);
    EXPECT_LT((L * vectors.col(c) - values(c) * vectors.col(c)).norm(), 1e-8) << c;
  }
}

// Every block width the solver's kernels and Eigen's fallback take (p = 8 .. 64 and 80), a block as
// wide as the matrix (p = n = 13), compressed or not, on path graphs, whose combinatorial Laplacian
// has the simple eigenvalues 2 - 2 cos(pi j / n): the pairs match the formula, the vectors are
// orthonormal, the bits do not depend on the thread count or on the storage, and both bases occur
// (Cholesky QR3, and Householder where a filtered block is too ill-conditioned for it).
TEST(ChebyshevSolver, EveryBlockWidthBothBasesAnyThreadCount) {
  int cholesky_only = 0, with_householder = 0;
  for (const auto& [n, count] : std::vector<std::pair<Eigen::Index, Eigen::Index>>{
           {200, 1}, {200, 4}, {200, 10}, {200, 20}, {200, 30}, {200, 40}, {200, 50}, {13, 9}}) {
    SCOPED_TRACE("n " + std::to_string(n) + ", count " + std::to_string(count));
    std::vector<Eigen::Triplet<double>> t;
    for (Eigen::Index i = 0; i < n; ++i) t.emplace_back(i, i, i == 0 || i == n - 1 ? 1.0 : 2.0);
    for (Eigen::Index i = 0; i + 1 < n; ++i) {
      t.emplace_back(i, i + 1, -1.0);
      t.emplace_back(i + 1, i, -1.0);
    }
    Eigen::SparseMatrix<double> L(n, n);
    L.setFromTriplets(t.begin(), t.end());
    Eigen::SparseMatrix<double> loose = L;
    loose.uncompress();
    Eigen::VectorXd values[3];
    Eigen::MatrixXd vectors[3];
    posenc::detail::ChebyshevStats st[3];
    const int before = omp_get_max_threads();
    for (int r = 0; r < 3; ++r) {
      omp_set_num_threads(r == 1 ? 2 : 1);
      st[r] = posenc::detail::lowest_eigenpairs(r == 2 ? loose : L, 4.0, count, values[r], vectors[r]);
    }
    omp_set_num_threads(before);
    ASSERT_TRUE(st[0].converged) << st[0].iterations << " rounds, residual " << st[0].residual;
    for (Eigen::Index c = 0; c < count; ++c) {
      const double j = static_cast<double>(c);
      EXPECT_NEAR(values[0](c), 2.0 - 2.0 * std::cos(std::numbers::pi * j / static_cast<double>(n)), 1e-9) << c;
      EXPECT_LT((L * vectors[0].col(c) - values[0](c) * vectors[0].col(c)).norm(), 1e-8) << c;
    }
    const Eigen::MatrixXd gram = vectors[0].transpose() * vectors[0];
    EXPECT_LT((gram - Eigen::MatrixXd::Identity(count, count)).cwiseAbs().maxCoeff(), 1e-10);
    for (int r = 1; r < 3; ++r) {
      EXPECT_TRUE(values[r] == values[0] && vectors[r] == vectors[0]) << (r == 1 ? "2 threads" : "uncompressed");
      EXPECT_EQ(st[r].householder, st[0].householder);
    }
    (st[0].householder == 0 ? cholesky_only : with_householder) += 1;
  }
  EXPECT_GT(cholesky_only, 0);
  EXPECT_GT(with_householder, 0);
}

// The sparse products run in float, whose rounding (~6e-8 relative) alone would stall the residual
// near 1e-5 on a clustered spectrum; the rounds on the residual form must carry it to the 1e-10
// target. Normalized Laplacian of a Barabasi-Albert graph (spectrum in [0, 2]) assembled here,
// against dense LAPACK.
TEST(ChebyshevSolver, FloatProductsReachTheDoubleTargetOnAClusteredSpectrum) {
  const posenc::Graph g = posenc::barabasi_albert(1000, 5, 3);
  const auto dense = posenc::dense_laplacian(g, false);
  const auto n = static_cast<Eigen::Index>(dense.shape()[0]);
  std::vector<Eigen::Triplet<double>> t;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      if (const double v = dense(static_cast<std::size_t>(i), static_cast<std::size_t>(j)); v != 0)
        t.emplace_back(i, j, v);
  Eigen::SparseMatrix<double> L(n, n);
  L.setFromTriplets(t.begin(), t.end());
  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;
  const Eigen::Index count = 17;
  const posenc::detail::ChebyshevStats st = posenc::detail::lowest_eigenpairs(L, 2.0, count, values, vectors);
  ASSERT_TRUE(st.converged) << st.iterations << " rounds, residual " << st.residual;
  EXPECT_LE(st.residual, 2e-10);
  EXPECT_GT(st.refining, 0);
  const auto [w, v] = xt::linalg::eigh(dense);
  for (Eigen::Index c = 0; c < count; ++c) {
    EXPECT_NEAR(values(c), w(static_cast<std::size_t>(c)), 1e-9) << c;
    EXPECT_LT((L * vectors.col(c) - values(c) * vectors.col(c)).norm(), 3e-10) << c;
  }
}

// The filter both ways (on the block, and on its residual form as the refining rounds run it)
// against the polynomial itself: on a path graph's Laplacian, from its dense eigenpairs,
// V diag(T_d(t(lambda)) / T_d(t(a0))) V^T x with t(z) = (z - c) / e and T_d(t) = cos(d acos t) on
// [-1, 1], cosh(d acosh |t|) (sign (-1)^d below -1) outside. x: Ritz vectors of a random subspace.
TEST(ChebyshevSolver, FilterOnTheBlockAndOnItsResidualFormIsTheChebyshevPolynomial) {
  const Eigen::Index n = 60, p = 8;
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i + 1 < n; ++i) {
    dense(i, i + 1) = dense(i + 1, i) = -1;
    dense(i, i) += 1;
    dense(i + 1, i + 1) += 1;
  }
  const Eigen::SparseMatrix<double> L = dense.sparseView();
  std::mt19937_64 rng(5);
  std::normal_distribution<double> gauss;
  Eigen::MatrixXd start(n, p);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < p; ++j) start(i, j) = gauss(rng);
  const Eigen::MatrixXd basis =
      Eigen::HouseholderQR<Eigen::MatrixXd>(start).householderQ() * Eigen::MatrixXd::Identity(n, p);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ritz(basis.transpose() * dense * basis);
  const Eigen::MatrixXd x = basis * ritz.eigenvectors();
  const Eigen::VectorXd theta = ritz.eigenvalues();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> full(dense);
  const auto cheb = [](int d, double t) {
    if (std::abs(t) <= 1) return std::cos(d * std::acos(t));
    const double v = std::cosh(d * std::acosh(std::abs(t)));
    return t < 0 && d % 2 == 1 ? -v : v;
  };
  for (const int degree : {1, 2, 7, 24}) {
    const double a = theta(p - 1), upper = 4.0, a0 = theta(0), c = (upper + a) / 2, e = (upper - a) / 2;
    Eigen::VectorXd f(n);
    for (Eigen::Index k = 0; k < n; ++k)
      f(k) = cheb(degree, (full.eigenvalues()(k) - c) / e) / cheb(degree, (a0 - c) / e);
    const Eigen::MatrixXd want = full.eigenvectors() * f.asDiagonal() * full.eigenvectors().transpose() * x;
    for (const bool residual_form : {false, true}) {
      const Eigen::MatrixXd got = posenc::detail::chebyshev_filtered(L, x, theta, degree, a, upper, a0, residual_form);
      EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-11 * want.cwiseAbs().maxCoeff())
          << "degree " << degree << (residual_form ? ", residual form" : ", on the block");
    }
  }
}
