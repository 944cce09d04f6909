// A tile's relation indices rho(i, j) for the streaming attention core, in the cheapest form the
// relation allows, and the gathers and scatters the core does with them.
//
// When rho depends only on j - i on the tile (text positions, one axis, consecutive integers)
// there are only nb + nt - 1 distinct indices, one per diagonal, and row i reads a contiguous
// slice of them (relation_index_diagonal). That slice is further cut into runs where the index
// is constant (clipped offsets far from the diagonal, T5's log buckets) or steps by +1 / -1
// (offsets near the diagonal, offsets whose bounds the tile never reaches): there a gather is a broadcast or a contiguous
// (possibly reversed) load, and a scatter a sum or a contiguous add, so Shaw's clipped value term
// needs no per-element histogram scatter. Other relations fall back to the full [nb, nt] matrix.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "detail/lane_sum.hpp"
#include "detail/relation_eval.hpp"

namespace posenc::detail {

class TileIndex {
 public:
  /// The indices of tile rows [i0, i1) x columns [j0, j1) of `rel` for batch b.
  void build(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
    nb_ = i1 - i0;
    nt_ = j1 - j0;
    idx_.resize(std::max(idx_.size(), nb_ * nt_ + nb_));
    diagonal_ = relation_index_diagonal(rel, b, i0, i1, j0, j1, idx_.data());
    runs_.clear();
    if (!diagonal_) {
      relation_index_tile(rel, b, i0, i1, j0, j1, idx_.data());
      return;
    }
    const std::size_t len = nb_ + nt_ - 1;
    for (std::size_t t0 = 0; t0 < len;) {  // maximal runs of step 0, +1 or -1
      std::int32_t step = t0 + 1 < len ? idx_[t0 + 1] - idx_[t0] : 0;
      if (step < -1 || step > 1) step = 0;
      std::size_t t1 = t0 + 1;
      while (t1 < len && idx_[t1] - idx_[t1 - 1] == step) ++t1;
      runs_.push_back({t0, t1, step});
      t0 = t1;
    }
  }

  /// Whether the tile is in the diagonal form.
  bool diagonal() const { return diagonal_; }
  /// The nt indices of tile row ii (contiguous in both forms).
  const std::int32_t* row(std::size_t ii) const {
    return diagonal_ ? idx_.data() + (nb_ - 1 - ii) : idx_.data() + ii * nt_;
  }
  /// The diagonal form's nb + nt - 1 indices (diagonal() only).
  const std::int32_t* diag() const { return idx_.data(); }
  std::size_t diag_size() const { return nb_ + nt_ - 1; }

  /// op(s[ii * nt + jj], table[rho(ii, jj)]) over the tile (row stride nt): in the diagonal form
  /// through one table value per diagonal (kept in buf), each row a contiguous slice of them.
  template <class Op>
  void apply_table(const float* __restrict table, float* __restrict s, std::vector<float>& buf, Op op) const {
    if (!diagonal_) {
      for (std::size_t x = 0; x < nb_ * nt_; ++x) op(s[x], table[idx_[x]]);
      return;
    }
    buf.resize(std::max(buf.size(), diag_size()));
    for (std::size_t u = 0; u < diag_size(); ++u) buf[u] = table[idx_[u]];
    for (std::size_t ii = 0; ii < nb_; ++ii) {
      const float* f = buf.data() + (nb_ - 1 - ii);
      float* si = s + ii * nt_;
      for (std::size_t jj = 0; jj < nt_; ++jj) op(si[jj], f[jj]);
    }
  }

  /// Diagonal form only: sums[u] = sum of tile[ii * nt + jj] over the diagonal u = jj - ii + nb - 1
  /// (every entry with index diag()[u]), for the gradient of a table read through the tile.
  void diagonal_sums(const float* __restrict tile, std::vector<float>& sums) const {
    sums.assign(diag_size(), 0.0f);
    for (std::size_t ii = 0; ii < nb_; ++ii) {
      float* acc = sums.data() + (nb_ - 1 - ii);
      const float* ti = tile + ii * nt_;
      for (std::size_t jj = 0; jj < nt_; ++jj) acc[jj] += ti[jj];
    }
  }

  /// The full row-major [nb, nt] index matrix: the stored one, or the diagonal form expanded into buf.
  const std::int32_t* full(std::vector<std::int32_t>& buf) const {
    if (!diagonal_) return idx_.data();
    buf.resize(std::max(buf.size(), nb_ * nt_));
    for (std::size_t ii = 0; ii < nb_; ++ii) std::copy_n(row(ii), nt_, buf.data() + ii * nt_);
    return buf.data();
  }

  /// dst[jj] += scale * src[rho(ii, jj)] for jj < nt.
  void gather_add(std::size_t ii, const float* __restrict src, float* __restrict dst, float scale) const {
    const std::int32_t* ix = row(ii);
    if (!diagonal_) {
      for (std::size_t jj = 0; jj < nt_; ++jj) dst[jj] += scale * src[ix[jj]];
      return;
    }
    for_runs(ii, [&](std::size_t a, std::size_t e, std::int32_t step) {
      const float* base = src + ix[a];
      if (step == 0) {
        const float v = scale * base[0];
        for (std::size_t jj = a; jj < e; ++jj) dst[jj] += v;
      } else if (step == 1) {
        for (std::size_t jj = a; jj < e; ++jj) dst[jj] += scale * base[jj - a];
      } else {
        for (std::size_t jj = a; jj < e; ++jj) dst[jj] += scale * *(base - (jj - a));
      }
    });
  }

  /// dst[rho(ii, jj)] += scale * src[jj] for jj < nt (a constant run adds its sum once).
  void scatter_add(std::size_t ii, const float* __restrict src, float* __restrict dst, float scale) const {
    const std::int32_t* ix = row(ii);
    if (!diagonal_) {
      for (std::size_t jj = 0; jj < nt_; ++jj) dst[ix[jj]] += scale * src[jj];
      return;
    }
    for_runs(ii, [&](std::size_t a, std::size_t e, std::int32_t step) {
      float* base = dst + ix[a];
      if (step == 0) {
        // (over 16 interleaved partial sums: a run is most of a row away from the diagonal, and
        // one chain of dependent additions took ~14 % of Shaw's forward)
        base[0] += scale * lane_sum_floats(src + a, e - a);
      } else if (step == 1) {
        for (std::size_t jj = a; jj < e; ++jj) base[jj - a] += scale * src[jj];
      } else {
        for (std::size_t jj = a; jj < e; ++jj) *(base - (jj - a)) += scale * src[jj];
      }
    });
  }

 private:
  struct Run {
    std::size_t t0, t1;  // diagonal positions [t0, t1)
    std::int32_t step;   // idx[t] = idx[t0] + step (t - t0)
  };

  /// Calls f(a, e, step) for the pieces [a, e) of row ii's columns, in order.
  template <class F>
  void for_runs(std::size_t ii, F f) const {
    const std::size_t lo = nb_ - 1 - ii, hi = lo + nt_;  // the row's diagonal positions
    auto it = std::upper_bound(runs_.begin(), runs_.end(), lo, [](std::size_t t, const Run& r) { return t < r.t0; });
    for (--it; it != runs_.end() && it->t0 < hi; ++it)
      f(std::max(it->t0, lo) - lo, std::min(it->t1, hi) - lo, it->step);
  }

  std::size_t nb_ = 0, nt_ = 0;
  bool diagonal_ = false;
  std::vector<std::int32_t> idx_;
  std::vector<Run> runs_;
};

}  // namespace posenc::detail
