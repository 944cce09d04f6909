// Evaluation of relations rho(i, j): one element at a time (the reference
// oracle) or a whole [query rows x key columns] tile (the streaming core).
#pragma once

#include <cstddef>
#include <cstdint>

#include "posenc/encoding.hpp"

namespace posenc::detail {

/// Integer index of rho(i, j) for batch b, in [0, rel.size).
std::int64_t relation_index(const Relation& rel, std::size_t b, std::size_t i, std::size_t j);
/// Real value of rho(i, j) (offset, distance, euclidean; index kinds give the index).
double relation_value(const Relation& rel, std::size_t b, std::size_t i, std::size_t j);

/// Tile versions: rows [i0, i1), columns [j0, j1), out is row-major with stride (j1 - j0).
void relation_index_tile(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                         std::size_t j1, std::int32_t* out);
/// An index range [lo, hi) holding every rho on rows [i0, i1) x columns [j0, j1): for bounded
/// offsets and distances (monotone in k - q, resp. |k - q|) from the extremes of the positions,
/// tight over runs of positions; [0, size) for other relations.
void relation_index_range(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                          std::size_t j1, std::size_t& lo, std::size_t& hi);
/// When rho(i, j) depends only on j - i on the tile (an offset, distance or T5 relation over one
/// position axis whose query positions [i0, i1) and key positions [j0, j1) are runs of consecutive
/// integers), writes its (i1 - i0) + (j1 - j0) - 1 distinct indices, diag[t] = rho at
/// (j - j0) - (i - i0) = t - (i1 - i0 - 1), and returns true: row i of the tile reads the
/// contiguous slice diag + (i1 - 1 - i). Otherwise returns false and writes nothing.
bool relation_index_diagonal(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                             std::size_t j1, std::int32_t* diag);
/// The values (relation_value, as float) of the tile's diagonals under the same conditions for an
/// offset or distance relation: diag[t] at (j - j0) - (i - i0) = t - (i1 - i0 - 1), row i reading
/// diag + (i1 - 1 - i). Returns false (writing nothing) otherwise.
bool relation_value_diagonal(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                             std::size_t j1, float* diag);
/// The tile's values, row-major [i1 - i0, j1 - j0].
void relation_value_tile(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                         std::size_t j1, float* out);

}  // namespace posenc::detail
