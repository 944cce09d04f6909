// Laplacian eigenvector encodings (dense LAPACK through xtensor-blas, or Chebyshev-filtered subspace
// iteration on the sparse Laplacian, spectral_chfsi.cpp, with Spectra's Lanczos as its fallback) and
// random-walk structural encodings.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <Eigen/Sparse>
#include <Spectra/MatOp/SparseSymMatProd.h>
#include <Spectra/SymEigsSolver.h>
#include <xtensor-blas/xlinalg.hpp>

#include "detail/check.hpp"
#include "detail/graph_weights.hpp"
#include "posenc/graph.hpp"
#include "spectral_solver.hpp"

namespace posenc {

namespace {

/// The symmetric weighted adjacency without self-loops: undirected edges as given (parallel edges
/// summed, as PyG's coalesce), directed ones as (A + A^T)/2. Triplets (i, j, w) with i != j, both ways.
std::vector<Eigen::Triplet<double>> symmetric_adjacency(const Graph& g) {
  std::vector<Eigen::Triplet<double>> t;
  const double share = g.directed() ? 0.5 : 1.0;
  for (const auto& e : g.edges()) {
    if (e.source == e.target) continue;
    t.emplace_back(e.source, e.target, share * e.weight);
    t.emplace_back(e.target, e.source, share * e.weight);
  }
  return t;
}

/// Connected components (weak): count, and count of components with at least one edge.
std::pair<std::int64_t, std::int64_t> components(const Graph& g) {
  const auto n = static_cast<std::size_t>(g.nodes());
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<bool> has_edge(n, false);
  for (const auto& e : g.edges()) {
    if (e.source == e.target) continue;
    parent[find(static_cast<std::size_t>(e.source))] = find(static_cast<std::size_t>(e.target));
    has_edge[static_cast<std::size_t>(e.source)] = has_edge[static_cast<std::size_t>(e.target)] = true;
  }
  std::int64_t all = 0, with_edges = 0;
  for (std::size_t v = 0; v < n; ++v)
    if (find(v) == v) {
      ++all;
      // a root's component has an edge iff any member has one; isolated nodes are their own root
      if (has_edge[v]) ++with_edges;
    }
  // Roots without edges can still head a component with edges (union order); recount by members.
  std::vector<bool> comp_edge(n, false);
  for (std::size_t v = 0; v < n; ++v)
    if (has_edge[v]) comp_edge[find(v)] = true;
  with_edges = 0;
  for (std::size_t v = 0; v < n; ++v)
    if (find(v) == v && comp_edge[v]) ++with_edges;
  return {all, with_edges};
}

/// The `solve` smallest eigenpairs of L (spectrum in [0, c]) by Spectra's Lanczos on c I - L, whose
/// largest eigenvalues are L's smallest: the fallback when the block solver does not converge.
void sparse_lanczos(const Eigen::SparseMatrix<double>& L, double c, Eigen::Index solve, Eigen::VectorXd& values,
                    Eigen::MatrixXd& vectors) {
  const Eigen::Index n = L.rows();
  Eigen::SparseMatrix<double> M = -L;
  for (Eigen::Index i = 0; i < n; ++i) M.coeffRef(i, i) += c;
  M.makeCompressed();
  Spectra::SparseSymMatProd<double> op(M);
  const Eigen::Index ncv = std::min<Eigen::Index>(n, std::max<Eigen::Index>(2 * solve + 1, solve + 20));
  Spectra::SymEigsSolver<Spectra::SparseSymMatProd<double>> eigs(op, solve, ncv);
  eigs.init();
  eigs.compute(Spectra::SortRule::LargestAlge, 100000, 1e-10);
  if (eigs.info() != Spectra::CompInfo::Successful)
    detail::fail("laplacian_pe", "the sparse eigensolvers did not converge for ", solve, " eigenpairs on ", n,
                 " nodes (try solver = dense)");
  const Eigen::VectorXd ev = (c - eigs.eigenvalues().array()).matrix();
  const Eigen::MatrixXd evec = eigs.eigenvectors();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(ev.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return ev(a) < ev(b); });
  values.resize(solve);
  vectors.resize(n, solve);
  for (Eigen::Index j = 0; j < solve; ++j) {
    values(j) = ev(order[static_cast<std::size_t>(j)]);
    vectors.col(j) = evec.col(order[static_cast<std::size_t>(j)]);
  }
}

}  // namespace

LaplacianPe laplacian_pe(const Graph& g, const LaplacianPeOptions& o) {
  const char* fn = "laplacian_pe";
  if (o.k < 1) detail::fail(fn, "parameter 'k' must be >= 1, got ", o.k);
  if (g.nodes() == 0) detail::fail(fn, "the graph is empty");
  if (o.dense_max_nodes < 0) detail::fail(fn, "parameter 'dense_max_nodes' must be >= 0, got ", o.dense_max_nodes);
  const auto n = static_cast<Eigen::Index>(g.nodes());
  const auto trip = symmetric_adjacency(g);
  Eigen::SparseMatrix<double> A(n, n);
  A.setFromTriplets(trip.begin(), trip.end());  // duplicates summed
  Eigen::VectorXd deg = Eigen::VectorXd::Zero(n);
  for (Eigen::Index c = 0; c < A.outerSize(); ++c)
    for (Eigen::SparseMatrix<double>::InnerIterator it(A, c); it; ++it) deg(it.row()) += it.value();
  for (Eigen::Index i = 0; i < n; ++i)
    if (deg(i) < 0) detail::fail(fn, "node ", i, " has a negative weighted degree ", deg(i), " (negative weights)");

  // The symmetric matrix whose eigenvectors we need: D - A, or I - D^-1/2 A D^-1/2 for both
  // normalised kinds (random-walk vectors are D^-1/2 u afterwards).
  const bool combinatorial = o.kind == LaplacianKind::combinatorial;
  Eigen::VectorXd isq(n);
  for (Eigen::Index i = 0; i < n; ++i) isq(i) = deg(i) > 0 ? 1.0 / std::sqrt(deg(i)) : 0.0;
  std::vector<Eigen::Triplet<double>> lt;
  lt.reserve(trip.size() + static_cast<std::size_t>(n));
  // isq_i isq_j first (a product that does not depend on the order): entries (i, j) and (j, i) get
  // the same bits, so the eigensolver may read L's compressed columns as its rows.
  for (const auto& t : trip)
    lt.emplace_back(t.row(), t.col(), combinatorial ? -t.value() : -t.value() * (isq(t.row()) * isq(t.col())));
  for (Eigen::Index i = 0; i < n; ++i) lt.emplace_back(i, i, combinatorial ? deg(i) : 1.0);
  Eigen::SparseMatrix<double> L(n, n);
  L.setFromTriplets(lt.begin(), lt.end());

  const auto [comps, comps_with_edges] = components(g);
  LaplacianPe out;
  out.components = comps;
  out.trivial = o.drop_per_component ? (combinatorial ? comps : comps_with_edges) : 1;
  const std::int64_t available = g.nodes() - out.trivial;
  if (o.k > available && !o.pad)
    detail::fail(fn, "parameter 'k' (", o.k, ") exceeds the ", available, " non-trivial eigenvectors of a ", g.nodes(),
                 "-node graph with ", out.trivial, " trivial ones (set pad to zero-fill)");
  const std::int64_t kept = std::min(o.k, available), need = out.trivial + kept;
  // One pair more than kept when the graph has it: the gap after the k-th eigenvalue says whether
  // the k vectors span a defined subspace (LaplacianPe::eigengap).
  const std::int64_t solve = std::min<std::int64_t>(need + 1, n);

  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;  // [n, need], ascending
  const bool dense = o.solver == EigenSolver::dense ||
                     (o.solver == EigenSolver::automatic && g.nodes() <= o.dense_max_nodes) || need >= n - 1;
  if (need > 0 && dense) {
    xt::xtensor<double, 2> M = xt::zeros<double>({static_cast<std::size_t>(n), static_cast<std::size_t>(n)});
    for (Eigen::Index c = 0; c < L.outerSize(); ++c)
      for (Eigen::SparseMatrix<double>::InnerIterator it(L, c); it; ++it)
        M(static_cast<std::size_t>(it.row()), static_cast<std::size_t>(it.col())) = it.value();
    auto [w, v] = xt::linalg::eigh(M);  // LAPACK syevd, ascending
    values.resize(solve);
    vectors.resize(n, solve);
    for (Eigen::Index c = 0; c < solve; ++c) {
      values(c) = w(static_cast<std::size_t>(c));
      for (Eigen::Index r = 0; r < n; ++r) vectors(r, c) = v(static_cast<std::size_t>(r), static_cast<std::size_t>(c));
    }
  } else if (need > 0) {
    // Chebyshev-filtered subspace iteration (spectral_chfsi.cpp): block sparse products, no
    // factorisation (shift-invert's sparse LU fills in badly on hub-heavy graphs). The spectrum lies
    // in [0, 2] for the normalised Laplacians, in [0, 2 max degree] (Gershgorin) for D - A.
    const double c = combinatorial ? 2 * deg.maxCoeff() + 1e-9 : 2.0;
    const detail::ChebyshevStats st = detail::lowest_eigenpairs(L, c, solve, values, vectors);
    if (!st.converged) sparse_lanczos(L, c, solve, values, vectors);
  }

  out.vectors = xt::zeros<float>(Shape{static_cast<std::size_t>(n), static_cast<std::size_t>(o.k)});
  out.eigenvalues.assign(static_cast<std::size_t>(o.k), std::numeric_limits<double>::quiet_NaN());
  std::mt19937_64 rng(o.seed);
  std::bernoulli_distribution coin(0.5);
  for (std::int64_t c = 0; c < kept; ++c) {
    Eigen::VectorXd v = vectors.col(out.trivial + c);
    if (o.kind == LaplacianKind::random_walk) {  // D^-1/2 u (isolated nodes: factor 1), unit norm
      for (Eigen::Index i = 0; i < n; ++i) v(i) *= deg(i) > 0 ? isq(i) : 1.0;
      v.normalize();
    }
    // Deterministic sign: the entry of largest magnitude is positive; entries within a relative
    // 1e-6 of the largest count as tied (symmetric graphs give exact ties up to rounding), and the
    // lowest node among them decides.
    const double top = v.cwiseAbs().maxCoeff();
    Eigen::Index arg = 0;
    while (std::abs(v(arg)) < top * (1 - 1e-6)) ++arg;
    double sign = v(arg) < 0 ? -1.0 : 1.0;
    if (o.random_flip && coin(rng)) sign = -sign;
    for (Eigen::Index i = 0; i < n; ++i)
      out.vectors(static_cast<std::size_t>(i), static_cast<std::size_t>(c)) = static_cast<float>(sign * v(i));
    out.eigenvalues[static_cast<std::size_t>(c)] = values(out.trivial + c);
  }
  if (kept > 0 && solve > need) {
    out.next_eigenvalue = values(need);
    out.eigengap = values(need) - values(need - 1);
    if (out.eigengap < kEigengapTolerance)
      out.warning = "laplacian_pe: eigenvalues " + std::to_string(kept) + " and " + std::to_string(kept + 1) +
                    " of the non-trivial spectrum are equal within " + std::to_string(kEigengapTolerance) +
                    " (gap " + std::to_string(out.eigengap) +
                    "): the k eigenvectors are not individually defined (another solver or machine may return "
                    "another basis of the shared eigenspace); choose k at a gap or compare projectors";
  }
  return out;
}

Tensor random_walk_pe(const Graph& g, std::int64_t steps, bool pyg_compat) {
  const char* fn = "random_walk_pe";
  if (steps < 1) detail::fail(fn, "parameter 'steps' must be >= 1, got ", steps);
  // Negative weights would make P no transition matrix ("return probabilities" above 1).
  detail::require_nonnegative_weights(fn, g, "random-walk probabilities need weights >= 0");
  detail::require_bounded_weight_sums(fn, g, false);
  const auto n = static_cast<std::size_t>(g.nodes());
  // P_uv over the out-adjacency: w_uv / deg_u (or 1 / deg_u), deg = weighted out-degree clamped to >= 1.
  const auto& off = g.offsets();
  const auto& adj = g.adjacency();
  const auto& wts = g.adjacency_weights();
  std::vector<double> p(adj.size());
  for (std::size_t u = 0; u < n; ++u) {
    double deg = 0;
    for (auto e = off[u]; e < off[u + 1]; ++e) deg += wts[static_cast<std::size_t>(e)];
    deg = std::max(deg, 1.0);
    for (auto e = off[u]; e < off[u + 1]; ++e)
      p[static_cast<std::size_t>(e)] = (pyg_compat ? 1.0 : wts[static_cast<std::size_t>(e)]) / deg;
  }
  const auto s = static_cast<std::size_t>(steps);
  Tensor out = Tensor::from_shape({n, s});
  constexpr std::size_t kB = 32;  // sources propagated together
  const std::size_t blocks = (n + kB - 1) / kB;
#pragma omp parallel
  {
    std::vector<double> cur(n * kB), nxt(n * kB);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t bb = 0; bb < static_cast<std::int64_t>(blocks); ++bb) {
      const std::size_t s0 = static_cast<std::size_t>(bb) * kB, width = std::min(kB, n - s0);
      std::fill(cur.begin(), cur.end(), 0.0);
      for (std::size_t b = 0; b < width; ++b) cur[(s0 + b) * kB + b] = 1.0;  // row vector e_s
      for (std::size_t step = 0; step < s; ++step) {
        std::fill(nxt.begin(), nxt.end(), 0.0);
        for (std::size_t u = 0; u < n; ++u) {  // r <- r P: mass at u moves along u's out-edges
          const double* cu = cur.data() + u * kB;
          for (auto e = off[u]; e < off[u + 1]; ++e) {
            const double w = p[static_cast<std::size_t>(e)];
            double* dst = nxt.data() + static_cast<std::size_t>(adj[static_cast<std::size_t>(e)]) * kB;
            for (std::size_t b = 0; b < kB; ++b) dst[b] += w * cu[b];
          }
        }
        cur.swap(nxt);
        for (std::size_t b = 0; b < width; ++b) out(s0 + b, step) = static_cast<float>(cur[(s0 + b) * kB + b]);
      }
    }
  }
  return out;
}

}  // namespace posenc
