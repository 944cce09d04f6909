// Internal to modalities/tabular: average ranks and the exact Spearman correlation matrix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "posenc/tensor.hpp"

namespace posenc::tabular_detail {

/// Centred doubled average ranks of z[0..n): out[i] = 2 rank(z[i]) - (n + 1) with 1-based ranks and
/// ties sharing their mean rank (scipy.stats.rankdata 'average'), so out[i] = first + last - n for
/// the tie group holding positions first .. last - 1 of the sorted order: an integer. -0 ties +0.
/// z must hold no NaN; n <= 2^31 (the row index shares a 64-bit word with the key). `T` is float
/// (exact while n < 2^24) or double. Radix sort on the bits.
template <class T>
void centred_ranks(const double* z, std::size_t n, T* out);

/// The column getter of spearman_matrix: a pointer to feature f's n values, which it may write into
/// `scratch` (one buffer per thread).
using ColumnFn = std::function<const double*(std::size_t f, std::vector<double>& scratch)>;

/// Spearman's rho between the F columns given by `column` (each n >= 2 finite values): W [F, F],
/// zero diagonal, and the indices of constant columns (their weights 0). The centred ranks are
/// integers, so the rank cross-products (one DSYRK per block of rows) are exact in double for any
/// summation order while n (n^2 - 1) / 3 < 2^53 (n up to ~300,000), and rho = S_ab / sqrt(S_aa S_bb)
/// is the same on any thread count; above that the blocks are summed in a fixed order.
DTensor spearman_matrix(std::size_t F, std::size_t n, const ColumnFn& column, std::vector<std::int64_t>& constant);

}  // namespace posenc::tabular_detail
