// The tile machinery shared by the streaming forward (attention.cpp) and the
// streaming backward (attention_backward.cpp): one plan per call, the rotated
// query rows and content-position tables of a query block, and the logits of
// one [query block x key tile]. Forward and backward compute the logits with
// the very same operations, so the backward's recomputed probabilities are
// the forward's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "detail/attention_common.hpp"
#include "detail/blas_threads.hpp"
#include "detail/flush_to_zero.hpp"
#include "detail/tile_index.hpp"
#include "posenc/rotary.hpp"

namespace posenc::detail {

// The tiles' products, each on the calling thread (serial_sgemm, detail/gemm.hpp).
// C[m x n] = alpha * A[m x k] B[n x k]^T + beta * C
void gemm_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
// C[m x n] = alpha * A[m x k] B[k x n] + beta * C
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
// C[m x n] = alpha * A[k x m]^T B[k x n] + beta * C
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

/// The score of a hidden key (and the log-sum-exp of a fully masked row).
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Everything the per-block kernels read, prepared once per call.
struct Plan {
  Dims dm{};
  const Encoding* enc = nullptr;
  const Mask* mask = nullptr;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  bool rotated = false;
  RotaryTable tq, tk;
  Tensor k_rot;               ///< [B, Hr, Nk, d]
  std::size_t rot_heads = 0;  ///< Hr: H when key angles differ per head, else Hk
  std::size_t bq = 128, bk = 256;
};

/// Build the plan (rotated keys included, threads over rows).
Plan make_plan(const Dims& dm, const Tensor& q, const Tensor& k, const Tensor* v, const Encoding& e,
               const AttentionOptions& opts, int threads);

/// Per-(b, h) data shared by the query blocks of that head.
struct HeadContext {
  std::vector<std::vector<float>> ka;  ///< position-content tables [Nk, R_p]
};
void build_head_context(const Plan& p, std::size_t b, std::size_t h, HeadContext& ctx);

/// Scratch of one thread.
struct Scratch {
  std::vector<float> qrot, qbias, s, tmp, o, m, l, wrow, diag_val;
  std::vector<std::int32_t> cw;
  TileIndex rel_idx;                                ///< the relative parts' indices, one part at a time
  std::vector<TileIndex> bias_idx;  ///< per table bias: the tile's relation indices
  std::vector<TileIndex> mul_idx;   ///< per multiplier: the tile's relation indices
  std::vector<std::vector<float>> bias_val;        ///< per slope bias: the tile's relation values,
                                                   ///< [nb, nt] or, where bias_diag, per diagonal
  std::vector<unsigned char> bias_diag;            ///< per slope bias: bias_val is the diagonal form
  std::vector<std::vector<float>> qa;  ///< content-position tables [bq, R_c] (pre-scaled; only the
                                       ///< columns the block's tiles read are set, the rest is stale)
  std::vector<std::vector<float>> wv;  ///< value-term histograms [bq, R_v]
};

/// The rows of one query block as the tiles read them.
struct BlockRows {
  std::size_t b = 0, h = 0, kvh = 0, i0 = 0, i1 = 0;
  const float* qraw = nullptr;  ///< [nb, d] unrotated queries
  const float* qrow = nullptr;  ///< [nb, d] rotated (== qraw without rotation)
  const float* kraw = nullptr;  ///< [Nk, d] keys of the head
  const float* krot = nullptr;  ///< [Nk, d] rotated keys (== kraw without rotation)
  const float* ubias = nullptr; ///< [d] content bias u_h or null
  std::size_t nb() const { return i1 - i0; }
};

/// Rotate the block's queries and build its content-position tables (into w.qrot, w.qa).
BlockRows prepare_block(const Plan& p, std::size_t b, std::size_t h, std::size_t i0, std::size_t i1, Scratch& w);

/// The key range [0, end) the mask can leave visible to the block.
std::size_t visible_key_end(const Plan& p, const BlockRows& r);

/// Rows per group in a causal tile's products (below).
inline constexpr std::size_t kCausalRows = 32;

/// Under a causal mask, how many leading columns of the key tile [j0, j0 + nt) the block's rows
/// 0 .. rows - 1 can see between them (the last of those rows sees the most); nt without the mask.
/// With rows = 1 it is the part every row of the block sees. The tile on the diagonal has its
/// products split there: [0, full) for all rows at once, then each group of kCausalRows rows only
/// up to its own count, so most of the hidden triangle is neither multiplied nor exponentiated.
std::size_t causal_columns(const Plan& p, const BlockRows& r, std::size_t rows, std::size_t j0, std::size_t nt);

/// Where a tile's products split (above): nt when every row sees the whole tile, else the columns
/// every row sees rounded down to a multiple of 16 (whole vectors; the rest go with the groups).
std::size_t causal_shared_columns(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t nt);

/// f(g0, g1, seen) for each group [g0, g1) of kCausalRows rows of the block, in order, with seen =
/// causal_columns(p, r, g1, j0, nt): the columns of the key tile the group can see (nt when the
/// mask does not cut the tile).
template <class F>
void for_causal_groups(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t nt, F&& f) {
  const std::size_t nb = r.nb();
  for (std::size_t g0 = 0; g0 < nb; g0 += kCausalRows) {
    const std::size_t g1 = std::min(nb, g0 + kCausalRows);
    f(g0, g1, causal_columns(p, r, g1, j0, nt));
  }
}

/// Whether a key tile [j0, j1) shares no document with the block (segments), so it can be skipped.
bool tile_hidden_by_segments(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t j1);

/// Logits of the tile [i0, i1) x [j0, j1) into s (row stride j1 - j0), hidden entries -inf.
/// Under a causal mask the content product skips the columns no row of a kCausalRows group sees
/// (causal_columns); those entries are -inf like every hidden one.
/// When `pre` is given it receives the logits before the ReLU and the multipliers
/// (scaled content terms plus biases; unmasked). The relation indices (values for
/// slope biases) of every bias and multiplier stay in w.bias_idx / w.bias_val / w.mul_idx
/// for the backward.
void score_tile(const Plan& p, const HeadContext& ctx, const BlockRows& r, std::size_t j0, std::size_t j1,
                Scratch& w, float* s, float* pre = nullptr);

}  // namespace posenc::detail

namespace posenc::detail {
/// Rotate one row (src/rotary.cpp): pair k -> (a c_k - b s_k, a s_k + b c_k); channels past 2 pairs copied.
void rotate_row(const float* x, float* out, const float* c, const float* s, std::size_t pairs, std::size_t dim,
                PairLayout layout);
/// The transpose of rotate_row: out = R^T g for one row (c, s already carry magnitude and log-scale).
void unrotate_row(const float* g, float* out, const float* c, const float* s, std::size_t pairs, std::size_t dim,
                  PairLayout layout);
}  // namespace posenc::detail
