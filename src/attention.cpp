// The streaming attention core: key tiles with an online softmax.
//
// Order of operations for one (batch b, head h, block of query rows):
//   1. rotate (and XPos-scale) the query rows; content-position tables
//      QA_c[i, r] = (q_i + c_h) . aK_c[h, r] for every r the block's visible keys can reach
//      (one sgemm; relation_index_range);
//   2. for each key tile that the mask does not hide entirely:
//        S  = scale * (Q_rot K_rot^T)                                  sgemm
//        S += scale * (QA_c[i, rho] + KA_p[j, rho] + u_h . k_j)          gathers
//        S += biases (slope * value(rho), table[rho], dense)
//        S  = g(S) * prod m[rho];  hidden entries -> -inf
//        online softmax: running max and sum, O and the value-term
//        histogram W_v[i, rho] rescaled, O += P V                        sgemm
//   3. O /= sum; O += (W_v / sum) aV (one sgemm per value part).
// Position-content tables KA_p[j, r] = k_j . aQ_p[h, r] are built once per
// (b, h) before its query blocks. Every output element is computed by the same
// operations whatever the number of threads. The tile machinery (plan, query
// blocks, logits of a tile) is shared with the backward: detail/attention_tiles.hpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/attention_tiles.hpp"
#include "detail/check.hpp"
#include "detail/gemm.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "detail/relation_eval.hpp"
#include "detail/vmath.hpp"

namespace posenc {

namespace {

using namespace detail;

// Rows [g0, g1) of a tile through the online softmax: the running maxima and sums, the output rows
// and value histograms rescaled, each row's first `seen` logits -> probabilities (unnormalised),
// the rest of its nt -> 0. The exponentials of all the rows in one call (exp_shift_sum_rows).
void online_softmax_rows(float* s, std::size_t g0, std::size_t g1, std::size_t seen, std::size_t nt,
                         std::size_t nb, std::size_t dv, Scratch& w) {
  float mx[kCausalRows], shift[kCausalRows], sums[kCausalRows], rescale[kCausalRows], unused;
  const std::size_t n = g1 - g0;
  for (std::size_t i = 0; i < n; ++i) {
    mx[i] = max_of(s + (g0 + i) * nt, seen, w.m[g0 + i]);
    shift[i] = mx[i] == kNegInf ? 0.0f : mx[i];  // nothing visible yet: e^-inf = 0
    rescale[i] = mx[i] == kNegInf ? 0.0f : w.m[g0 + i] - mx[i];  // e^(old max - new max)
  }
  exp_shift_sum_rows(s + g0 * nt, n, seen, nt, shift, sums);
  const float zero = 0.0f;
  exp_shift_sum_rows(rescale, 1, n, n, &zero, &unused);
  for (std::size_t i = g0; i < g1; ++i) {
    std::fill(s + i * nt + seen, s + (i + 1) * nt, 0.0f);
    if (mx[i - g0] == kNegInf) continue;
    const float a = rescale[i - g0];
    w.m[i] = mx[i - g0];
    w.l[i] = w.l[i] * a + sums[i - g0];
    if (a != 1.0f) {
      for (std::size_t c = 0; c < dv; ++c) w.o[i * dv + c] *= a;
      for (auto& hist : w.wv) {
        const std::size_t r = hist.size() / nb;
        for (std::size_t c = 0; c < r; ++c) hist[i * r + c] *= a;
      }
    }
  }
}

void process_block(const Plan& p, const HeadContext& ctx, std::size_t b, std::size_t h, std::size_t i0,
                   std::size_t i1, Scratch& w, float* out, float* lse) {
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const std::size_t dv = dm.dv;
  const BlockRows rows = prepare_block(p, b, h, i0, i1, w);
  const std::size_t nb = rows.nb();
  const float* vb = p.v + (b * dm.kv_heads + rows.kvh) * dm.nk * dv;

  // Online-softmax state.
  w.o.assign(nb * dv, 0.0f);
  w.m.assign(nb, kNegInf);
  w.l.assign(nb, 0.0f);
  w.wv.resize(e.value.size());
  for (std::size_t t = 0; t < e.value.size(); ++t)
    w.wv[t].assign(nb * static_cast<std::size_t>(e.value[t].relation.size), 0.0f);

  const std::size_t j_end = visible_key_end(p, rows);
  const std::size_t bk = p.bk;
  w.s.resize(nb * bk);
  for (std::size_t j0 = 0; j0 < j_end; j0 += bk) {
    const std::size_t j1 = std::min(j_end, j0 + bk);
    const std::size_t nt = j1 - j0;
    if (tile_hidden_by_segments(p, rows, j0, j1)) continue;  // no document in common
    float* s = w.s.data();
    score_tile(p, ctx, rows, j0, j1, w, s);
    // online softmax; on a causal diagonal tile each group of rows only over the columns it can see
    // (causal_columns; the rest of its rows -> 0)
    for_causal_groups(p, rows, j0, nt, [&](std::size_t g0, std::size_t g1, std::size_t seen) {
      online_softmax_rows(s, g0, g1, seen, nt, nb, dv, w);
    });
    // O += P V, split like the scores (content_scores)
    const std::size_t full = causal_shared_columns(p, rows, j0, nt);
    if (full > 0) gemm_nn(nb, dv, full, 1.0f, s, nt, vb + j0 * dv, dv, 1.0f, w.o.data(), dv);
    if (full < nt)
      for_causal_groups(p, rows, j0, nt, [&](std::size_t g0, std::size_t g1, std::size_t seen) {
        if (seen > full)
          gemm_nn(g1 - g0, dv, seen - full, 1.0f, s + g0 * nt + full, nt, vb + (j0 + full) * dv, dv, 1.0f,
                  w.o.data() + g0 * dv, dv);
      });
    for (std::size_t t = 0; t < e.value.size(); ++t) {
      const auto& rel = e.value[t].relation;
      const std::size_t r = static_cast<std::size_t>(rel.size);
      w.rel_idx.build(rel, b, i0, i1, j0, j1);
      float* hist = w.wv[t].data();
      for (std::size_t i = 0; i < nb; ++i) w.rel_idx.scatter_add(i, s + i * nt, hist + i * r, 1.0f);
    }
  }

  // normalise, value terms, write out (and the log-sum-exp for the backward).
  float* o = out + ((b * dm.heads + h) * dm.nq + i0) * dv;
  for (std::size_t i = 0; i < nb; ++i) {
    const float inv = w.l[i] > 0 ? 1.0f / w.l[i] : 0.0f;
    for (std::size_t c = 0; c < dv; ++c) o[i * dv + c] = w.o[i * dv + c] * inv;
    for (auto& hist : w.wv) {
      const std::size_t r = hist.size() / nb;
      for (std::size_t c = 0; c < r; ++c) hist[i * r + c] *= inv;
    }
    if (lse) lse[(b * dm.heads + h) * dm.nq + i0 + i] = w.l[i] > 0 ? w.m[i] + std::log(w.l[i]) : kNegInf;
  }
  for (std::size_t t = 0; t < e.value.size(); ++t) {
    const std::size_t r = static_cast<std::size_t>(e.value[t].relation.size);
    const float* a = e.value[t].table.data() + head_of(e.value[t].table, h) * r * dv;
    gemm_nn(nb, dv, r, 1.0f, w.wv[t].data(), r, a, dv, 1.0f, o, dv);
  }
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e, const AttentionOptions& opts,
                 AttentionStats* stats) {
  const Dims dm = check_attention("attention", q, k, &v, e, opts);
  const SingleThreadedBlas blas_guard;
  init_small_products();  // before the tiles' parallel region
  const int threads = thread_count(opts.threads);
  const Plan p = make_plan(dm, q, k, &v, e, opts, threads);

  Tensor out = fresh_tensor<Tensor>(Shape{dm.batch, dm.heads, dm.nq, dm.dv});
  float* lse = nullptr;
  if (stats) {
    stats->log_sum_exp = Tensor::from_shape({dm.batch, dm.heads, dm.nq});
    lse = stats->log_sum_exp.data();
  }
  const std::size_t blocks = (dm.nq + p.bq - 1) / p.bq;
  const std::size_t heads_total = dm.batch * dm.heads;
  if (e.position_content.empty()) {
    // No per-head precomputation: one flat loop over (b, h, query block).
    const HeadContext none;
#pragma omp parallel num_threads(threads)
    {
      const FlushToZero ftz;
      Scratch w;
#pragma omp for schedule(dynamic, 1)
      for (std::ptrdiff_t task = 0; task < static_cast<std::ptrdiff_t>(heads_total * blocks); ++task) {
        const std::size_t bh = static_cast<std::size_t>(task) / blocks, blk = static_cast<std::size_t>(task) % blocks;
        const std::size_t i0 = blk * p.bq, i1 = std::min(dm.nq, i0 + p.bq);
        process_block(p, none, bh / dm.heads, bh % dm.heads, i0, i1, w, out.data(), lse);
      }
    }
  } else {
    // Position-content tables are built once per (b, h), then its blocks run in parallel.
    HeadContext ctx;
    for (std::size_t bh = 0; bh < heads_total; ++bh) {
      {
        const FlushToZero ftz;  // not across a parallel region's start (detail/flush_to_zero.hpp)
        build_head_context(p, bh / dm.heads, bh % dm.heads, ctx);
      }
#pragma omp parallel num_threads(threads)
      {
        const FlushToZero ftz;
        Scratch w;
#pragma omp for schedule(dynamic, 1)
        for (std::ptrdiff_t blk = 0; blk < static_cast<std::ptrdiff_t>(blocks); ++blk) {
          const std::size_t i0 = static_cast<std::size_t>(blk) * p.bq, i1 = std::min(dm.nq, i0 + p.bq);
          process_block(p, ctx, bh / dm.heads, bh % dm.heads, i0, i1, w, out.data(), lse);
        }
      }
    }
  }
  return out;
}

}  // namespace posenc
