// Chebyshev-filtered subspace iteration for the smallest eigenpairs of a sparse symmetric matrix
// (Zhou & Saad, "Self-consistent-field calculations using Chebyshev-filtered subspace iteration",
// J. Comput. Phys. 2007; the scaled three-term filter of their Algorithm 4.1). Written for
// laplacian_pe's large graphs, whose smallest eigenvalues cluster (docs/graph.md): a block of
// vectors moves through sparse products with many right-hand sides at once (each matrix entry is
// read once per product of the whole block), and the dense work (Cholesky QR, Householder QR as
// the fallback, Rayleigh-Ritz) runs on whole blocks.
#include "spectral_solver.hpp"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <vector>

#include "detail/blas_threads.hpp"
#include "detail/gaussian.hpp"
#include "detail/memory.hpp"

extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
}

namespace posenc::detail {

namespace {

using RMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The seed of the start block (kSeed) and of spectrum_top's Lanczos start (kSeed + 1).
constexpr std::uint64_t kSeed = 0x5eed;

/// The sparse matrix in compressed rows, values in the precision T of the products.
template <class T>
struct Csr {
  Eigen::Index n = 0;
  const int* ptr = nullptr;
  const int* col = nullptr;
  const T* val = nullptr;
};

/// 64 bytes of T as one vector register (GCC/Clang vector extension; unaligned loads allowed).
template <class T>
struct Reg {
  typedef T type __attribute__((vector_size(64), aligned(sizeof(T))));
  static constexpr int lanes = 64 / sizeof(T);
};

/// One row chunk of Y = alpha (M X - shift X + S diag(q)) + beta Z: columns [j0, j0 + V lanes) of
/// row i (row-major blocks of width p; Z may be null or Y itself; S, with its column weights q, may
/// be null), V register accumulators, nonzeros in stored order.
template <class T, int V>
inline void row_chunk(const Csr<T>& m, const T* x, const T* z, const T* s, const T* q, T* y, Eigen::Index p,
                      Eigen::Index i, Eigen::Index j0, T alpha, T shift, T beta) {
  using R = typename Reg<T>::type;
  constexpr int L = Reg<T>::lanes;
  R acc[V];
  const T* xi = x + i * p + j0;
  for (int t = 0; t < V; ++t) acc[t] = -shift * *reinterpret_cast<const R*>(xi + L * t);
  if (s != nullptr)
    for (int t = 0; t < V; ++t)
      acc[t] += *reinterpret_cast<const R*>(s + i * p + j0 + L * t) * *reinterpret_cast<const R*>(q + j0 + L * t);
  for (int e = m.ptr[i]; e < m.ptr[i + 1]; ++e) {
    const T a = m.val[e];
    const T* xr = x + static_cast<Eigen::Index>(m.col[e]) * p + j0;
    for (int t = 0; t < V; ++t) acc[t] += a * *reinterpret_cast<const R*>(xr + L * t);
  }
  T* yi = y + i * p + j0;
  for (int t = 0; t < V; ++t) {
    R r = alpha * acc[t];
    if (z != nullptr) r += beta * *reinterpret_cast<const R*>(z + i * p + j0 + L * t);
    *reinterpret_cast<R*>(yi + L * t) = r;
  }
}

/// The same for one column j (widths not a multiple of the lanes: small graphs).
template <class T>
inline void row_column(const Csr<T>& m, const T* x, const T* z, const T* s, const T* q, T* y, Eigen::Index p,
                       Eigen::Index i, Eigen::Index j, T alpha, T shift, T beta) {
  T acc = -shift * x[i * p + j];
  if (s != nullptr) acc += s[i * p + j] * q[j];
  for (int e = m.ptr[i]; e < m.ptr[i + 1]; ++e) acc += m.val[e] * x[static_cast<Eigen::Index>(m.col[e]) * p + j];
  y[i * p + j] = alpha * acc + (z != nullptr ? beta * z[i * p + j] : T(0));
}

/// Y = alpha (M X - shift X + S diag(q)) + beta Z over all rows of [n, p] row-major blocks (S and q
/// optional), row blocks in parallel (every row is computed by the same operations whatever the
/// thread count).
template <class T>
void block_product(const Csr<T>& m, const T* x, const T* z, T* y, Eigen::Index p, double alpha, double shift,
                   double beta, const T* s = nullptr, const T* q = nullptr) {
  constexpr Eigen::Index L = Reg<T>::lanes;
  const T al = static_cast<T>(alpha), sh = static_cast<T>(shift), be = static_cast<T>(beta);
#pragma omp parallel for schedule(static, 128) if (m.n * p > 20000)
  for (Eigen::Index i = 0; i < m.n; ++i) {
    Eigen::Index j = 0;
    for (; j + 4 * L <= p; j += 4 * L) row_chunk<T, 4>(m, x, z, s, q, y, p, i, j, al, sh, be);
    for (; j + 2 * L <= p; j += 2 * L) row_chunk<T, 2>(m, x, z, s, q, y, p, i, j, al, sh, be);
    for (; j + L <= p; j += L) row_chunk<T, 1>(m, x, z, s, q, y, p, i, j, al, sh, be);
    for (; j < p; ++j) row_column<T>(m, x, z, s, q, y, p, i, j, al, sh, be);
  }
}

/// The Chebyshev filter of degree `degree` on [a, upper] mapped to [-1, 1], scaled to 1 at a0 (Zhou &
/// Saad's sigma recurrence keeps the iterates bounded), applied to the [n, p] block in buf[0] with
/// products in T; buf[1] is scratch. Each step's block overwrites the one before last in place (row
/// i of the new block reads that block only at row i), so a product streams one block instead of
/// reading one and writing a third, and the blocks of a few thousand rows stay in cache longer.
/// Returns the buffer holding the result.
template <class T>
T* chebyshev_filter(const Csr<T>& m, T* buf[2], Eigen::Index p, int degree, double a, double upper, double a0) {
  const double e = (upper - a) / 2, c = (upper + a) / 2;
  double sigma = e / (a0 - c);
  const double tau = 2 / sigma;
  T* prev = buf[0];
  T* cur = buf[1];
  block_product<T>(m, prev, nullptr, cur, p, sigma / e, c, 0.0);
  for (int d = 2; d <= degree; ++d) {
    const double s1 = 1 / (tau - sigma);
    // 2 s1/e (M - c) cur - sigma s1 prev, over prev in place (row i reads prev only at row i)
    block_product<T>(m, cur, prev, prev, p, 2 * s1 / e, c, -sigma * s1);
    std::swap(prev, cur);
    sigma = s1;
  }
  return cur;
}

/// The same filter on the residual form, for x with orthonormal columns that are Ritz vectors of
/// values theta, and s = M x - x diag(theta) given in T. With q_k(theta) the filter's scalar
/// recurrence at each Ritz value (q_0 = 1, q_1 = sigma_1 (theta - c) / e, ...), the filtered block
/// is x diag(q_d) + E_d, where E_0 = 0, E_1 = sigma_1 s / e and
///   E_k = 2 s_k / e ((M - c) E_{k-1} + s diag(q_{k-1})) - sigma_{k-1} s_k E_{k-2}
/// (the filter's recurrence minus the scalar one: (M - c) x q - x (theta - c) q = s q). E is as
/// small as s, so products in T round relative to E rather than to the block: float products keep
/// refining after a float filter has reached its rounding floor (~1e-5 here). E_d goes into the
/// returned buffer (of buf, holding E_{d-1}, E_d), q_d into q; degree - 1 products.
template <class T>
T* residual_filter(const Csr<T>& m, T* buf[2], const T* s, Eigen::Index p, int degree, double a, double upper,
                   double a0, const Eigen::VectorXd& theta, Eigen::VectorXd& q) {
  const double e = (upper - a) / 2, c = (upper + a) / 2;
  double sigma = e / (a0 - c);
  const double tau = 2 / sigma;
  Eigen::VectorXd q_prev = Eigen::VectorXd::Ones(p);
  q = (sigma / e) * (theta.array() - c);
  std::vector<T> qt(static_cast<std::size_t>(p));
  T* prev = buf[0];
  T* cur = buf[1];
  const auto size = m.n * p;
  const T first = static_cast<T>(sigma / e);
  for (Eigen::Index i = 0; i < size; ++i) cur[i] = first * s[i];
  for (int d = 2; d <= degree; ++d) {
    const double s1 = 1 / (tau - sigma);
    for (Eigen::Index j = 0; j < p; ++j) qt[static_cast<std::size_t>(j)] = static_cast<T>(q(j));
    // E_{d-2} is zero for d = 2: no term of it then
    block_product<T>(m, cur, d == 2 ? nullptr : prev, prev, p, 2 * s1 / e, c, -sigma * s1, s, qt.data());
    const Eigen::VectorXd next = (2 * s1 / e) * (theta.array() - c) * q.array() - sigma * s1 * q_prev.array();
    q_prev = q;
    q = next;
    std::swap(prev, cur);
    sigma = s1;
  }
  return cur;
}

using RMap = Eigen::Map<RMat>;
using CMap = Eigen::Map<Eigen::MatrixXd>;

/// Rows per task of the dense block products: a fixed partition, so that every sum is grouped the
/// same way whatever the thread count (inside a parallel region Eigen runs each product on one thread).
constexpr Eigen::Index kChunk = 256;

/// Rows [r0, r0 + len) of out = a v (row-major [*, p], p = 8 P), v given row-major [p, p]: two rows
/// at a time, 2 P register accumulators, v's rows read from L1.
template <int P>
void times_small_rows(const double* a, const double* vr, double* out, Eigen::Index r0, Eigen::Index len) {
  using R = Reg<double>::type;
  constexpr Eigen::Index p = 8 * P;
  Eigen::Index i = r0;
  for (; i + 2 <= r0 + len; i += 2) {
    R acc0[P] = {}, acc1[P] = {};
    const double* a0 = a + i * p;
    const double* a1 = a0 + p;
    for (Eigen::Index k = 0; k < p; ++k) {
      const double* vk = vr + k * p;
      for (int t = 0; t < P; ++t) {
        const R v = *reinterpret_cast<const R*>(vk + 8 * t);
        acc0[t] += a0[k] * v;
        acc1[t] += a1[k] * v;
      }
    }
    for (int t = 0; t < P; ++t) {
      *reinterpret_cast<R*>(out + i * p + 8 * t) = acc0[t];
      *reinterpret_cast<R*>(out + (i + 1) * p + 8 * t) = acc1[t];
    }
  }
  for (; i < r0 + len; ++i) {
    R acc[P] = {};
    for (Eigen::Index k = 0; k < p; ++k)
      for (int t = 0; t < P; ++t) acc[t] += a[i * p + k] * *reinterpret_cast<const R*>(vr + k * p + 8 * t);
    for (int t = 0; t < P; ++t) *reinterpret_cast<R*>(out + i * p + 8 * t) = acc[t];
  }
}

/// The partial a^T b over rows [r0, r0 + len) into part (column-major [p, p]), p = 8 P: K result
/// rows at a time (K P register accumulators), each a sum over the rows in order.
template <int P>
void inner_rows(const double* a, const double* b, double* part, Eigen::Index r0, Eigen::Index len) {
  using R = Reg<double>::type;
  constexpr Eigen::Index p = 8 * P;
  constexpr int K = P <= 3 ? 8 : P <= 6 ? 4 : 2;  // K P <= 24 accumulators; K divides p
  for (Eigen::Index k0 = 0; k0 < p; k0 += K) {
    R acc[K][P] = {};
    for (Eigen::Index i = r0; i < r0 + len; ++i) {
      const double* ai = a + i * p + k0;
      const double* bi = b + i * p;
      for (int t = 0; t < P; ++t) {
        const R bv = *reinterpret_cast<const R*>(bi + 8 * t);
        for (int k = 0; k < K; ++k) acc[k][t] += ai[k] * bv;
      }
    }
    for (int k = 0; k < K; ++k)
      for (int t = 0; t < P; ++t)
        for (int l = 0; l < 8; ++l) part[(8 * t + l) * p + k0 + k] = acc[k][t][l];
  }
}

/// Calls f.template operator()<P>() for p = 8 P with P in 1..8; false for other p (the callers then
/// use Eigen's products).
template <class F>
bool with_width(Eigen::Index p, F&& f) {
  switch (p) {
    case 8: f.template operator()<1>(); return true;
    case 16: f.template operator()<2>(); return true;
    case 24: f.template operator()<3>(); return true;
    case 32: f.template operator()<4>(); return true;
    case 40: f.template operator()<5>(); return true;
    case 48: f.template operator()<6>(); return true;
    case 56: f.template operator()<7>(); return true;
    case 64: f.template operator()<8>(); return true;
    default: return false;
  }
}

/// out = a v for a [n, p] and a small v [p, p], fixed row chunks in parallel (out must not alias a).
void times_small(const RMap& a, const Eigen::MatrixXd& v, RMap& out) {
  const Eigen::Index n = a.rows(), p = a.cols(), chunks = (n + kChunk - 1) / kChunk;
  const RMat vr = v;  // row-major: the kernels read v by rows
  const bool fast = with_width(p, [&]<int P>() {
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (Eigen::Index c = 0; c < chunks; ++c)
      times_small_rows<P>(a.data(), vr.data(), out.data(), c * kChunk, std::min(kChunk, n - c * kChunk));
  });
  if (fast) return;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (Eigen::Index c = 0; c < chunks; ++c) {
    const Eigen::Index r0 = c * kChunk, len = std::min(kChunk, n - r0);
    out.middleRows(r0, len).noalias() = a.middleRows(r0, len) * v;
  }
}

/// a^T b for a, b [n, p]: one partial product per fixed row chunk (in parallel), summed in chunk order.
Eigen::MatrixXd inner(const RMap& a, const RMap& b) {
  const Eigen::Index n = a.rows(), p = a.cols(), chunks = (n + kChunk - 1) / kChunk;
  std::vector<Eigen::MatrixXd> part(static_cast<std::size_t>(chunks), Eigen::MatrixXd(p, p));
  const bool fast = with_width(p, [&]<int P>() {
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (Eigen::Index c = 0; c < chunks; ++c)
      inner_rows<P>(a.data(), b.data(), part[static_cast<std::size_t>(c)].data(), c * kChunk,
                    std::min(kChunk, n - c * kChunk));
  });
  if (!fast) {
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (Eigen::Index c = 0; c < chunks; ++c) {
      const Eigen::Index r0 = c * kChunk, len = std::min(kChunk, n - r0);
      part[static_cast<std::size_t>(c)].noalias() = a.middleRows(r0, len).transpose() * b.middleRows(r0, len);
    }
  }
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(p, p);
  for (const auto& m : part) sum += m;
  return sum;
}

/// x <- an orthonormal basis of the columns of y: the thin Q of LAPACK's Householder QR (dgeqrf +
/// dorgqr), for blocks too ill-conditioned for cholesky_qr. q: scratch [n, p].
void householder(const RMap& y, CMap& q, RMap& x) {
  // One OpenBLAS thread: the QR of a thin block gains little from threads, and the result must not
  // depend on how many there are.
  const SingleThreadedBlas one_thread;
  q = y;
  int rows = static_cast<int>(q.rows()), cols = static_cast<int>(q.cols()), lda = rows, info = 0;
  std::vector<double> tau(static_cast<std::size_t>(cols));
  int lwork = -1;
  double query = 0;
  dgeqrf_(&rows, &cols, q.data(), &lda, tau.data(), &query, &lwork, &info);
  double query2 = 0;
  dorgqr_(&rows, &cols, &cols, q.data(), &lda, tau.data(), &query2, &lwork, &info);
  std::vector<double> work(static_cast<std::size_t>(std::max({query, query2, 1.0 * cols})));
  lwork = static_cast<int>(work.size());
  dgeqrf_(&rows, &cols, q.data(), &lda, tau.data(), work.data(), &lwork, &info);
  dorgqr_(&rows, &cols, &cols, q.data(), &lda, tau.data(), work.data(), &lwork, &info);
  x = q;
}

/// x <- an orthonormal basis of the columns of f by Cholesky QR passes, each a Gram matrix (inner),
/// its Cholesky factor R and the block times R^-1 (times_small), all on whole blocks and
/// deterministic; orthogonal to rounding when it succeeds. A block whose Gram matrix scaled to unit
/// diagonal has condition number at most 1e8 (cond <= 1e4 once its columns are scaled, which
/// Cholesky's accuracy does not depend on; the residual-form rounds and the random start) takes two
/// plain passes (CholeskyQR2, Yamamoto, Nakatsukasa, Yanagisawa, Fukaya, ETNA 2015); any other,
/// shifted Cholesky QR3 (Fukaya, Kannan, Nakatsukasa, Yamamoto, Yanagisawa, SIAM J. Sci. Comput.
/// 2020): a pass with the Gram matrix shifted by 11 (n p + p (p + 1)) u ||f||_F^2, then two plain
/// ones. Returns false, with f untouched and x unwritten, when a factorisation fails, the shifted
/// pass leaves a condition number above 3e7 (it leaves about sqrt(11 n p u) cond(f): so from
/// cond(f) ~ 1e12-1e13 on) or the next a Gram matrix more than 0.1 from the identity (the last pass
/// could not repair it). t1, t2: scratch [n, p], distinct from f and x; x may be f.
bool cholesky_qr(const RMap& f, RMap& t1, RMap& t2, RMap& x) {
  const Eigen::Index n = f.rows(), p = f.cols();
  const auto pass = [p](const RMap& in, const Eigen::MatrixXd& gram, RMap& out) {
    const Eigen::LLT<Eigen::MatrixXd> llt(gram);
    if (llt.info() != Eigen::Success) return false;
    times_small(in, llt.matrixU().solve(Eigen::MatrixXd::Identity(p, p)), out);
    return true;
  };
  // The last pass repairs what the one before left (orthogonality ~ cond^2 u, up to 0.1 here) to
  // rounding when its input is that close to orthonormal; otherwise Householder.
  const auto last = [&](const RMap& in) {
    const Eigen::MatrixXd g = inner(in, in);
    if (!((g - Eigen::MatrixXd::Identity(p, p)).cwiseAbs().maxCoeff() <= 0.1)) return false;
    return pass(in, g, x);
  };
  Eigen::MatrixXd g = inner(f, f);
  if (!g.allFinite() || !(g.diagonal().minCoeff() > 0)) return false;
  const Eigen::VectorXd unit = g.diagonal().cwiseSqrt().cwiseInverse();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> scaled(unit.asDiagonal() * g * unit.asDiagonal(),
                                                              Eigen::EigenvaluesOnly);
  if (scaled.eigenvalues()(0) > 1e-8 * scaled.eigenvalues()(p - 1)) return pass(f, g, t1) && last(t1);
  const double u = std::numeric_limits<double>::epsilon() / 2;
  g.diagonal().array() += 11.0 * static_cast<double>(n * p + p * (p + 1)) * u * g.trace();
  if (!pass(f, g, t1)) return false;
  g = inner(t1, t1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(g, Eigen::EigenvaluesOnly);
  if (!(es.eigenvalues()(0) > 1e-15 * es.eigenvalues()(p - 1))) return false;
  return pass(t1, g, t2) && last(t2);
}

/// x <- an orthonormal basis of the columns of y (x may be y): Cholesky QR when the block allows,
/// Householder otherwise (counted in st.householder). scratch0, scratch1: [n, p] blocks distinct
/// from y and x (scratch0 also Householder's column-major copy).
void orthonormal(const RMap& y, double* scratch0, double* scratch1, RMap& x, ChebyshevStats& st) {
  const Eigen::Index n = y.rows(), p = y.cols();
  RMap t1(scratch0, n, p), t2(scratch1, n, p);
  if (cholesky_qr(y, t1, t2, x)) return;
  ++st.householder;
  CMap q(scratch0, n, p);
  householder(y, q, x);
}

/// The damped interval's lower end: the block's largest Ritz value, unless the last wanted one
/// reaches it (an eigenspace wider than the block, as in a graph of equal components): |T| <= 1 on
/// the interval would not separate that cluster from what lies above, so the interval then starts
/// above the cluster, by 1e-2 of the spectrum's width; at most 0.95 of the way to `upper`.
double interval_start(const Eigen::VectorXd& theta, Eigen::Index count, double upper) {
  const double span = upper - theta(0), last = theta(count - 1);
  double a = theta(theta.size() - 1);
  if (a - last < 1e-6 * span) a = last + 1e-2 * span;
  return std::min(a, upper - 0.05 * span);
}

/// The next filter's degree. While the residual is still rough (`planned` false: the last round was
/// a plain float one) and whenever the last round did not reduce it, `full`. Otherwise the rounds
/// left are planned from the residual's last rate of decrease per product: the products needed to
/// reach the target, a fifth more plus one to spare, are split into as few rounds of at most
/// `most` products as hold them, evenly (at least 8 each), so that the last round neither only just
/// misses the target nor overshoots it by a whole round. Each refining round costs a Rayleigh-Ritz
/// step and an orthonormalisation, which is what makes fewer, longer rounds pay.
int next_degree(bool planned, double residual, double previous, int degree, double target, int full, int most) {
  const double rate = std::log(residual / previous) / degree;
  if (!planned || !(rate < 0)) return full;
  const double needed = 1.2 * std::log(target / residual) / rate + 1;
  const double rounds = std::ceil(needed / most);
  return static_cast<int>(std::clamp(std::ceil(needed / rounds), 8.0, static_cast<double>(most)));
}

/// max_j ||w_j - theta_j x_j|| over the first `count` columns of row-major x and w, accumulated row
/// by row (a column of a row-major block is a strided walk through all of it).
double residual(const RMap& x, const RMap& w, const Eigen::VectorXd& theta, Eigen::Index count) {
  std::vector<double> sq(static_cast<std::size_t>(count), 0.0);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double* xi = x.data() + i * x.cols();
    const double* wi = w.data() + i * w.cols();
    for (Eigen::Index j = 0; j < count; ++j) {
      const double r = wi[j] - theta(j) * xi[j];
      sq[static_cast<std::size_t>(j)] += r * r;
    }
  }
  return sq.empty() ? 0.0 : std::sqrt(*std::max_element(sq.begin(), sq.end()));
}

/// An upper bound of M's spectrum for the filter: max_i theta_i + |beta_k s_ki| after k = 16 Lanczos
/// steps from a seeded start (Ritz value plus its residual norm; Zhou & Li, "Bounding the spectrum
/// of large Hermitian matrices", Linear Algebra Appl. 2011, find it safe in practice; a bound a
/// little low only lets the top of the spectrum grow slowly in the filter), capped at `bound`
/// (Gershgorin). On an early breakdown (an invariant subspace) the cap itself is returned.
double spectrum_top(const Csr<double>& m, double bound) {
  const Eigen::Index n = m.n;
  const int steps = static_cast<int>(std::min<Eigen::Index>(16, n));
  RMat v0 = RMat::Zero(n, 1), v1(n, 1), v2(n, 1);
  counter_gaussians(kSeed + 1, v1.data(), static_cast<std::size_t>(n));
  v1 /= v1.norm();
  Eigen::VectorXd alpha(steps), beta(steps);
  for (int j = 0; j < steps; ++j) {
    block_product<double>(m, v1.data(), nullptr, v2.data(), 1, 1.0, 0.0, 0.0);
    alpha(j) = v1.col(0).dot(v2.col(0));
    v2 -= alpha(j) * v1 + (j > 0 ? beta(j - 1) : 0.0) * v0;
    beta(j) = v2.norm();
    if (!(beta(j) > 1e-8 * bound)) return bound;
    v0.swap(v1);
    v1 = v2 / beta(j);
  }
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(steps, steps);
  for (int j = 0; j < steps; ++j) {
    t(j, j) = alpha(j);
    if (j + 1 < steps) t(j, j + 1) = t(j + 1, j) = beta(j);
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(t);
  double top = 0;  // max over Ritz pairs of theta_i + |beta_k s_ki| (s_ki: last entry of T's eigenvector i)
  for (int i = 0; i < steps; ++i)
    top = std::max(top, es.eigenvalues()(i) + std::abs(beta(steps - 1) * es.eigenvectors()(steps - 1, i)));
  return std::min(bound, top);
}

}  // namespace

Eigen::MatrixXd chebyshev_filtered(const Eigen::SparseMatrix<double>& M, const Eigen::MatrixXd& x,
                                   const Eigen::VectorXd& theta, int degree, double a, double upper, double a0,
                                   bool residual_form) {
  Eigen::SparseMatrix<double> cols = M;
  cols.makeCompressed();
  const Eigen::Index n = x.rows(), p = x.cols();
  const Csr<double> m{n, cols.outerIndexPtr(), cols.innerIndexPtr(), cols.valuePtr()};
  RMat in = x, other(n, p);
  double* buf[2] = {in.data(), other.data()};
  if (!residual_form) return RMap(chebyshev_filter<double>(m, buf, p, degree, a, upper, a0), n, p);
  const RMat s = (M * x - x * theta.asDiagonal()).eval();
  RMat e0(n, p), e1(n, p);
  double* ebuf[2] = {e0.data(), e1.data()};
  Eigen::VectorXd q;
  const RMap e(residual_filter<double>(m, ebuf, s.data(), p, degree, a, upper, a0, theta, q), n, p);
  return x * q.asDiagonal() + Eigen::MatrixXd(e);
}

ChebyshevStats lowest_eigenpairs(const Eigen::SparseMatrix<double>& M, double bound, Eigen::Index count,
                                 Eigen::VectorXd& values, Eigen::MatrixXd& vectors) {
  // M is symmetric: its compressed columns are its rows (a copy only when M is not compressed).
  const Eigen::SparseMatrix<double> copy = M.isCompressed() ? Eigen::SparseMatrix<double>() : M;
  const Eigen::SparseMatrix<double>& cols = M.isCompressed() ? M : copy;
  const Eigen::Index n = M.rows();
  const std::vector<float> val32(cols.valuePtr(), cols.valuePtr() + cols.nonZeros());
  const Csr<double> m64{n, cols.outerIndexPtr(), cols.innerIndexPtr(), cols.valuePtr()};
  const Csr<float> m32{n, cols.outerIndexPtr(), cols.innerIndexPtr(), val32.data()};
  constexpr int kDegree = 24;      // of the rough rounds
  constexpr int kMostDegree = 32;  // of a planned refining round
  constexpr int kMaxRounds = 300;
  // Filter the block itself in single precision while the residuals are far above float rounding
  // (the subspace is still rough), then, also in single precision, its residual form
  // (residual_filter), whose rounding is relative to the residual and so has no floor of its own.
  // Rayleigh-Ritz and the residuals are always double.
  const double single_until = 1e-4 * bound;
  Eigen::Index p = count + std::max<Eigen::Index>(8, count / 2);
  p = std::min(n, (p + 7) / 8 * 8);

  ChebyshevStats st;
  // Four double [n, p] blocks (the iterate x, w = M x, y for the rotations and the filtered block,
  // the QR's column-major copy) and three float ones (the filter's two blocks, the residuals) in
  // one allocation.
  const auto block = static_cast<std::size_t>(n * p);
  const auto scratch = detail::huge_buffer<double>((5 * block + (block + 1) / 2) * sizeof(double));
  double* const mem = scratch.get();
  RMap x(mem, n, p), w(mem + block, n, p), y(mem + 2 * block, n, p);
  CMap q(mem + 3 * block, n, p);
  // Point `to` at `from`'s storage and `from` at `to`'s (Eigen's documented placement-new re-seat).
  const auto swap_storage = [n, p](RMap& to, RMap& from) {
    double* const t = to.data();
    new (&to) RMap(from.data(), n, p);
    new (&from) RMap(t, n, p);
  };
  auto* f32 = reinterpret_cast<float*>(mem + 4 * block);
  float* buf32[2] = {f32, f32 + block};
  float* const s32 = f32 + 2 * block;
  // Seeded Gaussian start, fixed: results do not depend on anything but the matrix (and not on the
  // thread count: each entry is a function of its index).
  counter_gaussians(kSeed, y.data(), block);
  orthonormal(y, q.data(), w.data(), x, st);
  const double upper = spectrum_top(m64, bound);
  st.upper = upper;
  Eigen::VectorXd theta, scale;
  Eigen::MatrixXd h(p, p);
  bool rough = true;  // filtering the block itself (else its residual form)
  double previous = std::numeric_limits<double>::infinity();
  int degree = kDegree;  // of the last filter
  const double target = 1e-10 * bound;
  for (;;) {
    // Rayleigh-Ritz on span(x): H = x^T M x, rotate x (and w = M x) to H's eigenvectors.
    block_product<double>(m64, x.data(), nullptr, w.data(), p, 1.0, 0.0, 0.0);
    st.products += p;
    h = inner(x, w);
    h = (0.5 * (h + h.transpose())).eval();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(h);
    theta = es.eigenvalues();
    times_small(x, es.eigenvectors(), y);
    swap_storage(x, y);
    times_small(w, es.eigenvectors(), y);
    swap_storage(w, y);
    st.residual = residual(x, w, theta, count);
    st.converged = st.residual <= target;
    if (st.converged || st.iterations == kMaxRounds) break;
    ++st.iterations;
    const double a0 = theta(0), a = interval_start(theta, count, upper);
    // The residual form from the first round that ends below single_until or stops halving the
    // residual (the plain float filter's rounding floor); the degrees are planned once a
    // residual-form round has run from below single_until.
    const bool planned = !rough && previous <= single_until;
    rough = rough && st.residual > single_until && st.residual < 0.5 * previous;
    degree = next_degree(planned, st.residual, previous, degree, target, kDegree, kMostDegree);
    previous = st.residual;
    if (rough) {
      st.products += static_cast<std::int64_t>(degree) * p;
      std::copy(x.data(), x.data() + block, buf32[0]);  // double -> float
      const float* out = chebyshev_filter<float>(m32, buf32, p, degree, a, upper, a0);
      std::copy(out, out + block, y.data());
      orthonormal(y, q.data(), w.data(), x, st);
    } else {
      // y = x diag(q_d) + E_d (residual_filter), the residuals s = w - x diag(theta) rounded to float
      // first: its products are one fewer than the degree (E_1 is s scaled).
      ++st.refining;
      st.products += static_cast<std::int64_t>(degree - 1) * p;
#pragma omp parallel for schedule(static) if (n * p > 20000)
      for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < p; ++j) s32[i * p + j] = static_cast<float>(w(i, j) - theta(j) * x(i, j));
      const float* e = residual_filter<float>(m32, buf32, s32, p, degree, a, upper, a0, theta, scale);
#pragma omp parallel for schedule(static) if (n * p > 20000)
      for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < p; ++j) y(i, j) = x(i, j) * scale(j) + static_cast<double>(e[i * p + j]);
      orthonormal(y, q.data(), w.data(), x, st);
    }
  }
  values = theta.head(count);
  vectors = x.leftCols(count);
  return st;
}

}  // namespace posenc::detail
