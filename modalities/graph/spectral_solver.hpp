// Private: the sparse symmetric eigensolver behind laplacian_pe (spectral_chfsi.cpp).
#pragma once

#include <cstdint>

#include <Eigen/Dense>
#include <Eigen/Sparse>

namespace posenc::detail {

/// What lowest_eigenpairs reports besides the pairs (tests/test_graph_spectral_chfsi.cpp reads it).
struct ChebyshevStats {
  int iterations = 0;          ///< filter + Rayleigh-Ritz rounds
  std::int64_t products = 0;   ///< sparse matrix times one vector, counted per column
  double residual = 0;         ///< largest ||L x - theta x|| of the returned pairs
  double upper = 0;            ///< the filter's upper end (Lanczos estimate of the largest eigenvalue)
  int householder = 0;         ///< bases from Householder QR (Cholesky QR refused the block)
  int refining = 0;            ///< rounds that filtered the residual form (the rest filtered the block)
  bool converged = false;
};

/// The `count` smallest eigenpairs of the symmetric sparse M ([n, n], spectrum inside [0, bound]; its
/// columns are read as its rows, so M must be symmetric to the bit) by Chebyshev-filtered subspace
/// iteration (Zhou & Saad, J. Comput. Phys. 2007): a block of p = count + max(8, count/2) vectors
/// (rounded up to 8, at most n) from a fixed seeded Gaussian start (detail::counter_gaussians, each
/// entry a function of its index) is filtered with the scaled Chebyshev polynomial that damps
/// [a, upper] (a: the block's largest Ritz value; upper: a 16-step
/// Lanczos estimate of the largest eigenvalue, at most bound), orthonormalised (Cholesky QR2,
/// shifted Cholesky QR3 for ill-conditioned blocks, else LAPACK's Householder QR) and rotated by a
/// Rayleigh-Ritz step in double, until every wanted residual ||M x - theta x|| <= 1e-10 bound (at
/// most 300 rounds). The sparse products run in single precision: rounds of degree 24 filter the
/// block itself while the residual is above 1e-4 bound and halving, later rounds filter its
/// residual form (x diag(q(theta)) + E, E computed from the double residuals, so float rounding
/// stays relative to them), with degrees planned from the last rate of decrease (at most 32). The
/// products run on row blocks in parallel; each row is computed the same way whatever the thread
/// count, so the result does not depend on it. Values ascending into `values` [count], unit vectors
/// into the columns of `vectors` [n, count]. converged = false leaves the last iterate there (the
/// caller falls back to another solver).
ChebyshevStats lowest_eigenpairs(const Eigen::SparseMatrix<double>& M, double bound, Eigen::Index count,
                                 Eigen::VectorXd& values, Eigen::MatrixXd& vectors);

/// The filter lowest_eigenpairs applies, in double, to the columns of x ([n, p], orthonormal Ritz
/// vectors of M with values theta [p]): T_d((M - c)/e) x / T_d((a0 - c)/e), c = (upper + a)/2,
/// e = (upper - a)/2, by the scaled three-term recurrence on the block (residual_form false) or on
/// its residual form x diag(q_d(theta)) + E_d (true). For tests: both must match the polynomial.
Eigen::MatrixXd chebyshev_filtered(const Eigen::SparseMatrix<double>& M, const Eigen::MatrixXd& x,
                                   const Eigen::VectorXd& theta, int degree, double a, double upper, double a0,
                                   bool residual_form);

}  // namespace posenc::detail
