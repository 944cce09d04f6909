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
  int householder = 0;         ///< bases from Householder QR (Cholesky QR3 refused the block)
  bool converged = false;
};

/// The `count` smallest eigenpairs of the symmetric sparse M ([n, n], spectrum inside [0, bound]; its
/// columns are read as its rows, so M must be symmetric to the bit) by Chebyshev-filtered subspace
/// iteration (Zhou & Saad, J. Comput. Phys. 2007): a block of p = count + max(8, count/2) vectors
/// (rounded up to 8, at most n) from a fixed seeded Gaussian start is filtered with the scaled
/// Chebyshev polynomial of degree 24 that damps [a, upper] (a: the block's largest Ritz value; upper:
/// a 16-step Lanczos estimate of the largest eigenvalue, at most bound; a double round after a
/// double round only the degree its predecessor's rate says reaches the stop), orthonormalised (shifted Cholesky QR3, else LAPACK's Householder QR) and rotated by a
/// Rayleigh-Ritz step in double,
/// until every wanted residual ||M x - theta x|| <= 1e-10 bound (at most 300 rounds). The sparse
/// products run on row blocks in parallel; each row is computed the same way whatever the thread
/// count, so the result does not depend on it. Values ascending into `values` [count], unit vectors
/// into the columns of `vectors` [n, count]. converged = false leaves the last iterate there (the
/// caller falls back to another solver).
ChebyshevStats lowest_eigenpairs(const Eigen::SparseMatrix<double>& M, double bound, Eigen::Index count,
                                 Eigen::VectorXd& values, Eigen::MatrixXd& vectors);

}  // namespace posenc::detail
