// The streaming backward of the attention core (posenc/gradients.hpp).
//
// One task per (batch b, head h), run in parallel. A task walks its query
// blocks and, for each, the key tiles the mask leaves visible:
//   S   = score_tile(...)                    the forward's logits, same operations
//   P   = exp(S - lse)                        from the saved log-sum-exp
//   dP  = dO V^T (+ (dO aV^T)[i, rho])         sgemm (+ gathers)
//   dV += P^T dO,  W_v[i, rho] += P           sgemm, histogram for daV
//   dS  = P (dP - D),  D_i = dO_i . O_i
//   dpre = dS m g'(pre),  dm[rho] += dS g prod(others),  bias grads from dpre
//   dA  = scale dpre
//   dQ_rot += dA K_rot,  dK_rot += dA^T Q_rot  sgemm (per-channel loops with content weights)
//   G_c[i, rho] += dA (content-position), H_p[j, rho] += dA (position-content), colsum_j dA (content bias)
// then per block: dq += G_c aK, daK += G_c^T (q + c) (sgemm); daV += W_v^T dO (sgemm); and per task
// dk += H_p aQ, daQ += H_p^T k, du, and the rotation: angle / log-scale gradients from the rotated
// rows and the transposed rotation of dQ_rot and dK_rot.
// Table gradients go to per-task double slots that are summed over tasks in index order, and dk / dv
// of query heads that share a key head are summed in head order: the bits do not depend on threads.
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
#include "posenc/gradients.hpp"

namespace posenc {

namespace {

using namespace detail;

/// One table gradient: a slice per task (double), summed into the part at the end.
struct Slots {
  std::size_t slice = 0;                  ///< elements per task
  std::vector<std::vector<double>> task;  ///< [task][slice], empty when the part was not asked for
  void init(std::size_t tasks, std::size_t n) {
    slice = n;
    task.assign(tasks, std::vector<double>(n, 0.0));
  }
  bool on() const { return !task.empty(); }
  /// Sum the task slices into `out` (float, the part's shape): the slice of task (b, h) lands at
  /// offset index(b, h) * slice, where index maps onto the part's broadcast axes.
  template <class T, class Index>
  void reduce(xt::xarray<T>& out, std::size_t batch, std::size_t heads, Index index) const {
    if (!on()) return;
    std::vector<double> acc(out.size(), 0.0);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t h = 0; h < heads; ++h) {
        const auto& s = task[b * heads + h];
        double* dst = acc.data() + index(b, h) * slice;
        for (std::size_t x = 0; x < slice; ++x) dst[x] += s[x];
      }
    std::transform(acc.begin(), acc.end(), out.data(), [](double x) { return static_cast<T>(x); });
  }
};

void add_to(std::vector<double>& dst, const float* src, std::size_t n) {
  for (std::size_t x = 0; x < n; ++x) dst[x] += src[x];
}

/// slot[idx[x]] += val[x] * (factor ? factor[x] : 1) over a tile. Four interleaved float histograms
/// break the chains of dependent updates when neighbours share an index (T5 buckets, offsets);
/// the tile's partial sums then go to the double slot.
void scatter_add(const std::int32_t* idx, const float* val, const float* factor, std::size_t n, std::size_t rows,
                 std::vector<float>& work, std::vector<double>& slot) {
  work.assign(4 * rows, 0.0f);
  float* h = work.data();
  std::size_t x = 0;
  if (factor) {
    for (; x < n; ++x) h[(x & 3) * rows + static_cast<std::size_t>(idx[x])] += val[x] * factor[x];
  } else {
    for (; x + 4 <= n; x += 4) {
      h[static_cast<std::size_t>(idx[x])] += val[x];
      h[rows + static_cast<std::size_t>(idx[x + 1])] += val[x + 1];
      h[2 * rows + static_cast<std::size_t>(idx[x + 2])] += val[x + 2];
      h[3 * rows + static_cast<std::size_t>(idx[x + 3])] += val[x + 3];
    }
    for (; x < n; ++x) h[static_cast<std::size_t>(idx[x])] += val[x];
  }
  for (std::size_t r = 0; r < rows; ++r)
    slot[r] += static_cast<double>(h[r]) + h[rows + r] + h[2 * rows + r] + h[3 * rows + r];
}

/// The gradients one call accumulates.
struct State {
  const Plan& p;
  const GradRequest& req;
  const float* out;
  const float* d_out;
  const float* lse;
  std::size_t tasks;
  std::vector<Slots> cw, cp, cpb, pc, val, bias, mul;
  Slots u, qang, kang, qls, kls, mag;
  float* dq = nullptr;     // [B, H, Nq, d]
  float* dk_h = nullptr;   // [B, H, Nk, d] per query head
  float* dv_h = nullptr;   // [B, H, Nk, dv] per query head
};

/// Per-task buffers.
struct TaskBuffers {
  Scratch w;
  std::vector<float> gq, gk, dqraw, dkraw, pre, mprod, dp, tmp, colsum, hist, shift, sums;
  std::vector<std::vector<float>> gc, wv, tv, hp;  // per part: G_c [nb, R], W_v [nb, R], dO aV^T [nb, R], H_p [Nk, R]
  TileIndex idx;  // the relative parts' indices, one part at a time
  std::vector<std::vector<std::int32_t>> mul_full;  // per multiplier: its [nb, nt] indices when stored by diagonal
  std::vector<const std::int32_t*> mul_ix;          // per multiplier: the tile's [nb, nt] indices
  std::vector<std::int32_t> bias_full;              // a table bias's [nb, nt] indices (not stored by diagonal)
};


std::size_t rel_size(const Relation& r) { return static_cast<std::size_t>(r.size); }

/// dP, P and dS of one tile: s holds the logits on entry and P on return; tb.dp receives dS.
void tile_softmax_backward(State& st, const BlockRows& r, std::size_t j0, std::size_t j1, TaskBuffers& tb, float* s,
                           const float* dO, const float* D) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const std::size_t nb = r.nb(), nt = j1 - j0, dv = dm.dv;
  const float* lse = st.lse + (r.b * dm.heads + r.h) * dm.nq + r.i0;
  // P = e^(S - lse); a row that saw no key (lse = -inf) has only -inf logits, and e^-inf = 0.
  tb.shift.resize(nb);
  tb.sums.resize(nb);
  for (std::size_t i = 0; i < nb; ++i) tb.shift[i] = lse[i] == kNegInf ? 0.0f : lse[i];
  exp_shift_sum_rows(s, nb, nt, nt, tb.shift.data(), tb.sums.data());
  float* dp = tb.dp.data();
  const float* vb = p.v + (r.b * dm.kv_heads + r.kvh) * dm.nk * dv;
  gemm_nt(nb, nt, dv, 1.0f, dO, dv, vb + j0 * dv, dv, 0.0f, dp, nt);
  for (std::size_t t = 0; t < e.value.size(); ++t) {
    const std::size_t rr = rel_size(e.value[t].relation);
    tb.idx.build(e.value[t].relation, r.b, r.i0, r.i1, j0, j1);
    const float* tv = tb.tv[t].data();
    float* wv = st.req.relative ? tb.wv[t].data() : nullptr;
    for (std::size_t i = 0; i < nb; ++i) {
      tb.idx.gather_add(i, tv + i * rr, dp + i * nt, 1.0f);
      if (wv) tb.idx.scatter_add(i, s + i * nt, wv + i * rr, 1.0f);
    }
  }
  if (st.req.inputs)
    gemm_tn(nt, dv, nb, 1.0f, s, nt, dO, dv, 1.0f, st.dv_h + ((r.b * dm.heads + r.h) * dm.nk + j0) * dv, dv);
  for (std::size_t i = 0; i < nb; ++i) {  // P = 0 gives 0: dP is finite (d_out and v are)
    float* dpi = dp + i * nt;
    const float* pi = s + i * nt;
    const float di = D[i];
#pragma omp simd
    for (std::size_t j = 0; j < nt; ++j) dpi[j] = pi[j] * (dpi[j] - di);
  }
}

/// From dS (tb.dp) to dpre (in place) through the multipliers and the ReLU, then the bias gradients.
/// The relation indices and values are the ones score_tile left in the scratch.
void tile_score_backward(State& st, const BlockRows& r, std::size_t j0, std::size_t j1, TaskBuffers& tb,
                         const float* P, std::size_t task) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const Scratch& w = tb.w;
  const std::size_t nb = r.nb(), nt = j1 - j0, n = nb * nt;
  float* dp = tb.dp.data();
  auto table_of = [&](const Multiplier& m) { return m.table.data() + head_of(m.table, r.h) * rel_size(m.relation); };
  if (e.score_relu || !e.multipliers.empty()) {
    const float* pre = tb.pre.data();
    tb.mprod.assign(n, 1.0f);
    tb.tmp.resize(std::max(tb.tmp.size(), n));
    tb.mul_full.resize(e.multipliers.size());
    tb.mul_ix.resize(e.multipliers.size());
    for (std::size_t t = 0; t < e.multipliers.size(); ++t) tb.mul_ix[t] = w.mul_idx[t].full(tb.mul_full[t]);
    for (std::size_t t = 0; t < e.multipliers.size(); ++t) {
      const float* tab = table_of(e.multipliers[t]);
      const std::int32_t* idx = tb.mul_ix[t];
      for (std::size_t x = 0; x < n; ++x) tb.mprod[x] *= tab[idx[x]];
    }
    for (std::size_t t = 0; t < e.multipliers.size() && st.req.multipliers; ++t) {
      float* others = tb.tmp.data();
      for (std::size_t x = 0; x < n; ++x) others[x] = e.score_relu ? std::max(pre[x], 0.0f) : pre[x];
      for (std::size_t u = 0; u < e.multipliers.size(); ++u) {
        if (u == t) continue;
        const float* tab = table_of(e.multipliers[u]);
        const std::int32_t* idx = tb.mul_ix[u];
        for (std::size_t x = 0; x < n; ++x) others[x] *= tab[idx[x]];
      }
      for (std::size_t x = 0; x < n; ++x)
        if (P[x] == 0.0f) others[x] = 0.0f;  // hidden or masked entries: no gradient (and no 0 * inf)
      scatter_add(tb.mul_ix[t], dp, others, n, rel_size(e.multipliers[t].relation), tb.hist, st.mul[t].task[task]);
    }
    for (std::size_t x = 0; x < n; ++x)
      dp[x] = P[x] == 0.0f || (e.score_relu && !(pre[x] > 0.0f)) ? 0.0f : dp[x] * tb.mprod[x];
  }
  for (std::size_t t = 0; t < e.biases.size() && st.req.biases; ++t) {
    const Bias& bs = e.biases[t];
    auto& slot = st.bias[t].task[task];
    if (bs.kind == BiasKind::slope) {
      const float* val = w.bias_val[t].data();
      double acc = 0;
      if (w.bias_diag[t]) {  // row i reads the diagonal values from val + nb - 1 - i
        for (std::size_t i = 0; i < nb; ++i)
          for (std::size_t j = 0; j < nt; ++j) acc += double(dp[i * nt + j]) * val[nb - 1 - i + j];
      } else {
        for (std::size_t x = 0; x < n; ++x) acc += double(dp[x]) * val[x];
      }
      slot[0] -= acc;
    } else if (bs.kind == BiasKind::table && w.bias_idx[t].diagonal()) {  // one add per diagonal
      const TileIndex& ti = w.bias_idx[t];
      ti.diagonal_sums(dp, tb.tmp);
      for (std::size_t u = 0; u < ti.diag_size(); ++u) slot[static_cast<std::size_t>(ti.diag()[u])] += tb.tmp[u];
    } else if (bs.kind == BiasKind::table) {
      scatter_add(w.bias_idx[t].full(tb.bias_full), dp, nullptr, n, rel_size(bs.relation), tb.hist, slot);
    } else {
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) slot[(r.i0 + i) * p.dm.nk + j0 + j] += dp[i * nt + j];
    }
  }
}

/// From dpre (tb.dp) and dA = scale dpre to the content terms: rotated rows, content weights, relative
/// histograms (the scale is folded into the products).
void tile_content_backward(State& st, const BlockRows& r, std::size_t j0, std::size_t j1, TaskBuffers& tb,
                           float scale, std::size_t task) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const std::size_t nb = r.nb(), nt = j1 - j0, d = p.dm.d;
  const float* dpre = tb.dp.data();
  float* gq = tb.gq.data() + r.i0 * d;
  float* gk = tb.gk.data() + j0 * d;
  if (e.content_weights.empty()) {
    gemm_nn(nb, d, nt, scale, dpre, nt, r.krot + j0 * d, d, 1.0f, gq, d);
    gemm_tn(nt, d, nb, scale, dpre, nt, r.qrow, d, 1.0f, gk, d);
  } else {
    const std::size_t nw = e.content_weights.size();
    std::vector<std::int32_t> ids(nw * nb * nt);
    for (std::size_t t = 0; t < nw; ++t)
      relation_index_tile(e.content_weights[t].relation, r.b, r.i0, r.i1, j0, j1, ids.data() + t * nb * nt);
    std::vector<const float*> rows(nw);
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < nt; ++j) {
        const float a = scale * dpre[i * nt + j];
        if (a == 0.0f) continue;
        for (std::size_t t = 0; t < nw; ++t) {
          const auto& cw = e.content_weights[t];
          rows[t] = cw.table.data() + (head_of(cw.table, r.h) * rel_size(cw.relation) + ids[t * nb * nt + i * nt + j]) * d;
        }
        const float* qi = r.qrow + i * d;
        const float* kj = r.krot + (j0 + j) * d;
        for (std::size_t c = 0; c < d; ++c) {
          float w = 1.0f;
          for (std::size_t t = 0; t < nw; ++t) w *= rows[t][c];
          gq[i * d + c] += a * kj[c] * w;
          gk[j * d + c] += a * qi[c] * w;
          for (std::size_t t = 0; t < nw && st.req.relative; ++t) {
            float others = 1.0f;
            for (std::size_t u = 0; u < nw; ++u)
              if (u != t) others *= rows[u][c];
            st.cw[t].task[task][static_cast<std::size_t>(ids[t * nb * nt + i * nt + j]) * d + c] +=
                double(a) * qi[c] * kj[c] * others;
          }
        }
      }
  }
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const std::size_t rr = rel_size(e.content_position[t].relation);
    tb.idx.build(e.content_position[t].relation, r.b, r.i0, r.i1, j0, j1);
    float* gc = tb.gc[t].data();
    for (std::size_t i = 0; i < nb; ++i) tb.idx.scatter_add(i, dpre + i * nt, gc + i * rr, scale);
  }
  for (std::size_t t = 0; t < e.position_content.size(); ++t) {
    const std::size_t rr = rel_size(e.position_content[t].relation);
    tb.idx.build(e.position_content[t].relation, r.b, r.i0, r.i1, j0, j1);
    float* hp = tb.hp[t].data();
    for (std::size_t i = 0; i < nb; ++i) {
      const std::int32_t* ix = tb.idx.row(i);
      for (std::size_t j = 0; j < nt; ++j) hp[(j0 + j) * rr + ix[j]] += scale * dpre[i * nt + j];
    }
  }
  if (r.ubias)
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < nt; ++j) tb.colsum[j0 + j] += scale * dpre[i * nt + j];
}


/// The rows (q + c_h) a content-position part multiplies (into buf when c_h is set).
const float* query_plus_bias(const RelativeVectors& cp, const BlockRows& r, std::size_t d, std::vector<float>& buf) {
  if (!is_set(cp.query_bias)) return r.qraw;
  const float* c = cp.query_bias.data() + head_of(cp.query_bias, r.h) * d;
  buf.resize(r.nb() * d);
  for (std::size_t i = 0; i < r.nb(); ++i)
    for (std::size_t ch = 0; ch < d; ++ch) buf[i * d + ch] = r.qraw[i * d + ch] + c[ch];
  return buf.data();
}

/// After the tiles of a block: value-table gradients, content-position gradients (q, aK, c).
void block_epilogue(State& st, const BlockRows& r, TaskBuffers& tb, const float* dO, std::size_t task) {
  const Encoding& e = *st.p.enc;
  const std::size_t nb = r.nb(), d = st.p.dm.d, dv = st.p.dm.dv;
  for (std::size_t t = 0; t < e.value.size() && st.req.relative; ++t) {
    const std::size_t rr = rel_size(e.value[t].relation);
    tb.tmp.resize(std::max(tb.tmp.size(), rr * dv));
    gemm_tn(rr, dv, nb, 1.0f, tb.wv[t].data(), rr, dO, dv, 0.0f, tb.tmp.data(), dv);
    add_to(st.val[t].task[task], tb.tmp.data(), rr * dv);
  }
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const auto& cp = e.content_position[t];
    const std::size_t rr = rel_size(cp.relation);
    const float* ak = cp.table.data() + head_of(cp.table, r.h) * rr * d;
    const float* gc = tb.gc[t].data();
    gemm_nn(nb, d, rr, 1.0f, gc, rr, ak, d, 1.0f, tb.dqraw.data() + r.i0 * d, d);
    if (!st.req.relative) continue;
    std::vector<float> qc;
    const float* qsrc = query_plus_bias(cp, r, d, qc);
    tb.tmp.resize(std::max(tb.tmp.size(), rr * d));
    gemm_tn(rr, d, nb, 1.0f, gc, rr, qsrc, d, 0.0f, tb.tmp.data(), d);
    add_to(st.cp[t].task[task], tb.tmp.data(), rr * d);
    if (!st.cpb[t].on()) continue;
    auto& slot = st.cpb[t].task[task];  // dc = sum_i G_c[i, :] aK
    for (std::size_t x = 0; x < rr; ++x) {
      double g = 0;
      for (std::size_t i = 0; i < nb; ++i) g += gc[i * rr + x];
      for (std::size_t ch = 0; ch < d; ++ch) slot[ch] += g * ak[x * d + ch];
    }
  }
}

/// One query block of task (b, h).
void backward_block(State& st, const HeadContext& ctx, const BlockRows& r, TaskBuffers& tb, std::size_t task) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const std::size_t nb = r.nb(), dv = dm.dv, bk = p.bk;
  const float* dO = st.d_out + ((r.b * dm.heads + r.h) * dm.nq + r.i0) * dv;
  const float* O = st.out + ((r.b * dm.heads + r.h) * dm.nq + r.i0) * dv;
  std::vector<float> D(nb);
  for (std::size_t i = 0; i < nb; ++i) {
    double acc = 0;
    for (std::size_t c = 0; c < dv; ++c) acc += double(dO[i * dv + c]) * O[i * dv + c];
    D[i] = static_cast<float>(acc);
  }
  for (std::size_t t = 0; t < e.value.size(); ++t) {
    const std::size_t rr = rel_size(e.value[t].relation);
    tb.tv[t].resize(nb * rr);
    gemm_nt(nb, rr, dv, 1.0f, dO, dv, e.value[t].table.data() + head_of(e.value[t].table, r.h) * rr * dv, dv, 0.0f,
            tb.tv[t].data(), rr);
    if (st.req.relative) tb.wv[t].assign(nb * rr, 0.0f);
  }
  for (std::size_t t = 0; t < e.content_position.size(); ++t)
    tb.gc[t].assign(nb * rel_size(e.content_position[t].relation), 0.0f);
  const bool need_pre = e.score_relu || !e.multipliers.empty();
  tb.w.s.resize(nb * bk);
  tb.dp.resize(nb * bk);
  if (need_pre) tb.pre.resize(nb * bk);
  const float scale = static_cast<float>(dm.scale);
  const std::size_t j_end = visible_key_end(p, r);
  for (std::size_t j0 = 0; j0 < j_end; j0 += bk) {
    const std::size_t j1 = std::min(j_end, j0 + bk);
    if (tile_hidden_by_segments(p, r, j0, j1)) continue;
    float* s = tb.w.s.data();
    score_tile(p, ctx, r, j0, j1, tb.w, s, need_pre ? tb.pre.data() : nullptr);
    tile_softmax_backward(st, r, j0, j1, tb, s, dO, D.data());
    tile_score_backward(st, r, j0, j1, tb, s, task);
    tile_content_backward(st, r, j0, j1, tb, scale, task);
  }
  block_epilogue(st, r, tb, dO, task);
}

/// Angle / log-scale / magnitude gradients of one rotated row x with gradient g, and g rotated back into out.
void rotation_row_backward(const Plan& p, const RotaryTable& t, std::size_t trow, const float* x, const float* g,
                           float* out, double* dang, double* dls, double* dmag) {
  const std::size_t pairs = t.pairs;
  if (dang)
    for (std::size_t k = 0; k < pairs; ++k) {
      const std::size_t a = t.layout == PairLayout::halves ? k : 2 * k;
      const std::size_t b = t.layout == PairLayout::halves ? k + pairs : 2 * k + 1;
      dang[k] += double(x[a]) * g[b] - double(x[b]) * g[a];
      const double radial = double(x[a]) * g[a] + double(x[b]) * g[b];
      if (dls) dls[k] += radial;
      *dmag += radial / p.enc->rotation.magnitude;
    }
  unrotate_row(g, out, t.cos.data() + trow, t.sin.data() + trow, pairs, p.dm.d, t.layout);
}

std::size_t table_row(const RotaryTable& t, std::size_t b, std::size_t h, std::size_t n) {
  return (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : h)) * t.tokens + n) * t.pairs;
}

/// After every block of task (b, h): position-content and content-bias gradients, then the rotation
/// and the final dq rows and per-head dk rows.
void task_epilogue(State& st, const BlockRows& r, TaskBuffers& tb, std::size_t task) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const std::size_t d = dm.d, b = r.b, h = r.h;
  for (std::size_t t = 0; t < e.position_content.size(); ++t) {
    const std::size_t rr = rel_size(e.position_content[t].relation);
    const float* aq = e.position_content[t].table.data() + head_of(e.position_content[t].table, h) * rr * d;
    gemm_nn(dm.nk, d, rr, 1.0f, tb.hp[t].data(), rr, aq, d, 1.0f, tb.dkraw.data(), d);
    if (!st.req.relative) continue;
    tb.tmp.resize(std::max(tb.tmp.size(), rr * d));
    gemm_tn(rr, d, dm.nk, 1.0f, tb.hp[t].data(), rr, r.kraw, d, 0.0f, tb.tmp.data(), d);
    add_to(st.pc[t].task[task], tb.tmp.data(), rr * d);
  }
  if (r.ubias)
    for (std::size_t j = 0; j < dm.nk; ++j)
      for (std::size_t c = 0; c < d; ++c) {
        tb.dkraw[j * d + c] += tb.colsum[j] * r.ubias[c];
        if (st.u.on()) st.u.task[task][c] += double(tb.colsum[j]) * r.kraw[j * d + c];
      }
  const bool rg = st.req.rotation;
  double* dmag = rg ? st.mag.task[task].data() : nullptr;
  std::vector<float> x(d), back(d);
  for (std::size_t i = 0; i < dm.nq; ++i) {
    const float* g = tb.gq.data() + i * d;
    const float* src = g;
    if (p.rotated) {
      const std::size_t trow = table_row(p.tq, b, h, i);
      const float* qi = p.q + ((b * dm.heads + h) * dm.nq + i) * d;
      rotate_row(qi, x.data(), p.tq.cos.data() + trow, p.tq.sin.data() + trow, p.tq.pairs, d, p.tq.layout);
      rotation_row_backward(p, p.tq, trow, x.data(), g, back.data(), rg ? st.qang.task[task].data() + i * p.tq.pairs : nullptr,
                            st.qls.on() ? st.qls.task[task].data() + i * p.tq.pairs : nullptr, dmag);
      src = back.data();
    }
    if (st.dq)
      for (std::size_t c = 0; c < d; ++c) st.dq[((b * dm.heads + h) * dm.nq + i) * d + c] = src[c] + tb.dqraw[i * d + c];
  }
  const std::size_t rh = p.rot_heads == dm.heads ? h : r.kvh;
  for (std::size_t j = 0; j < dm.nk; ++j) {
    const float* g = tb.gk.data() + j * d;
    const float* src = g;
    if (p.rotated) {
      const std::size_t trow = table_row(p.tk, b, rh, j);
      const float* kr = p.k_rot.data() + ((b * p.rot_heads + rh) * dm.nk + j) * d;
      rotation_row_backward(p, p.tk, trow, kr, g, back.data(), rg ? st.kang.task[task].data() + j * p.tk.pairs : nullptr,
                            st.kls.on() ? st.kls.task[task].data() + j * p.tk.pairs : nullptr, dmag);
      src = back.data();
    }
    if (st.dk_h)
      for (std::size_t c = 0; c < d; ++c) st.dk_h[((b * dm.heads + h) * dm.nk + j) * d + c] = src[c] + tb.dkraw[j * d + c];
  }
}

/// Per-task slots for every requested table gradient.
void init_slots(State& st, const EncodingGrad& eg) {
  const Encoding& e = *st.p.enc;
  const Dims& dm = st.p.dm;
  const std::size_t n = st.tasks;
  auto per_head = [](const auto& t) { return t.size() / t.shape()[0]; };
  auto rel = [&](const std::vector<RelativeVectorsGrad>& parts, std::vector<Slots>& slots, bool bias_too) {
    slots.resize(parts.size());
    for (std::size_t t = 0; t < parts.size() && st.req.relative; ++t) slots[t].init(n, per_head(parts[t].table));
    if (!bias_too) return;
    st.cpb.resize(parts.size());
    for (std::size_t t = 0; t < parts.size() && st.req.relative; ++t)
      if (is_set(parts[t].query_bias)) st.cpb[t].init(n, dm.d);
  };
  rel(eg.content_weights, st.cw, false);
  rel(eg.content_position, st.cp, true);
  rel(eg.position_content, st.pc, false);
  rel(eg.value, st.val, false);
  if (is_set(eg.content_bias)) st.u.init(n, dm.d);
  st.bias.resize(e.biases.size());
  for (std::size_t t = 0; t < e.biases.size() && st.req.biases; ++t) {
    const Bias& b = e.biases[t];
    st.bias[t].init(n, b.kind == BiasKind::slope ? 1 : b.kind == BiasKind::table ? per_head(b.table) : dm.nq * dm.nk);
  }
  st.mul.resize(e.multipliers.size());
  for (std::size_t t = 0; t < e.multipliers.size() && st.req.multipliers; ++t)
    st.mul[t].init(n, per_head(e.multipliers[t].table));
  if (st.req.rotation) {
    const std::size_t pairs = static_cast<std::size_t>(e.rotation.pairs);
    st.qang.init(n, dm.nq * pairs);
    st.kang.init(n, dm.nk * pairs);
    if (is_set(e.rotation.query_log_scale)) st.qls.init(n, dm.nq * pairs);
    if (is_set(e.rotation.key_log_scale)) st.kls.init(n, dm.nk * pairs);
    st.mag.init(n, 1);
  }
}

/// Sum the per-task slots into the EncodingGrad, in task order.
void reduce_slots(const State& st, EncodingGrad& eg) {
  const Encoding& e = *st.p.enc;
  const Dims& dm = st.p.dm;
  const std::size_t B = dm.batch, H = dm.heads;
  auto by_head = [](const auto& part) {
    const bool shared = part.shape()[0] == 1;
    return [shared](std::size_t, std::size_t h) { return shared ? 0 : h; };
  };
  auto by_batch_head = [](const auto& part) {  // [B|1, H|1, ...]
    const std::size_t hs = part.shape()[1];
    const bool bshared = part.shape()[0] == 1, hshared = hs == 1;
    return [=](std::size_t b, std::size_t h) { return (bshared ? 0 : b) * hs + (hshared ? 0 : h); };
  };
  for (std::size_t t = 0; t < st.cw.size(); ++t) st.cw[t].reduce(eg.content_weights[t].table, B, H, by_head(e.content_weights[t].table));
  for (std::size_t t = 0; t < st.cp.size(); ++t) st.cp[t].reduce(eg.content_position[t].table, B, H, by_head(e.content_position[t].table));
  for (std::size_t t = 0; t < st.cpb.size(); ++t)
    if (st.cpb[t].on()) st.cpb[t].reduce(eg.content_position[t].query_bias, B, H, by_head(e.content_position[t].query_bias));
  for (std::size_t t = 0; t < st.pc.size(); ++t) st.pc[t].reduce(eg.position_content[t].table, B, H, by_head(e.position_content[t].table));
  for (std::size_t t = 0; t < st.val.size(); ++t) st.val[t].reduce(eg.value[t].table, B, H, by_head(e.value[t].table));
  if (st.u.on()) st.u.reduce(eg.content_bias, B, H, by_head(e.content_bias));
  for (std::size_t t = 0; t < st.bias.size(); ++t) {
    const Bias& b = e.biases[t];
    if (b.kind == BiasKind::slope) st.bias[t].reduce(eg.biases[t].slopes, B, H, by_head(b.slopes));
    else if (b.kind == BiasKind::table) st.bias[t].reduce(eg.biases[t].table, B, H, by_head(b.table));
    else st.bias[t].reduce(eg.biases[t].dense, B, H, by_batch_head(b.dense));
  }
  for (std::size_t t = 0; t < st.mul.size(); ++t) st.mul[t].reduce(eg.multipliers[t].table, B, H, by_head(e.multipliers[t].table));
  if (!st.req.rotation) return;
  const Rotation& r = e.rotation;
  st.qang.reduce(eg.rotation.query_angles, B, H, by_batch_head(r.query_angles));
  st.kang.reduce(eg.rotation.key_angles, B, H, by_batch_head(r.key_angles));
  if (st.qls.on()) st.qls.reduce(eg.rotation.query_log_scale, B, H, by_batch_head(r.query_log_scale));
  if (st.kls.on()) st.kls.reduce(eg.rotation.key_log_scale, B, H, by_batch_head(r.key_log_scale));
  double mag = 0;
  for (const auto& s : st.mag.task) mag += s[0];
  eg.rotation.magnitude = mag;
}

void backward_task(State& st, std::size_t b, std::size_t h, TaskBuffers& tb) {
  const Plan& p = st.p;
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const std::size_t task = b * dm.heads + h;
  HeadContext ctx;
  if (!e.position_content.empty()) build_head_context(p, b, h, ctx);
  tb.gq.assign(dm.nq * dm.d, 0.0f);
  tb.gk.assign(dm.nk * dm.d, 0.0f);
  tb.dqraw.assign(dm.nq * dm.d, 0.0f);
  tb.dkraw.assign(dm.nk * dm.d, 0.0f);
  tb.colsum.assign(dm.nk, 0.0f);
  if (st.dv_h) std::fill_n(st.dv_h + task * dm.nk * dm.dv, dm.nk * dm.dv, 0.0f);  // dV accumulates over blocks
  tb.gc.resize(e.content_position.size());
  tb.wv.resize(e.value.size());
  tb.tv.resize(e.value.size());
  tb.hp.resize(e.position_content.size());
  for (std::size_t t = 0; t < e.position_content.size(); ++t)
    tb.hp[t].assign(dm.nk * rel_size(e.position_content[t].relation), 0.0f);
  BlockRows last;
  for (std::size_t i0 = 0; i0 < dm.nq; i0 += p.bq) {
    last = prepare_block(p, b, h, i0, std::min(dm.nq, i0 + p.bq), tb.w);
    backward_block(st, ctx, last, tb, task);
  }
  task_epilogue(st, last, tb, task);
}

}  // namespace

AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e,
                                  const AttentionOptions& opts, const Tensor& out, const AttentionStats& stats,
                                  const Tensor& d_out, const GradRequest& req) {
  const char* fn = "attention_backward";
  const Dims dm = check_attention(fn, q, k, &v, e, opts);
  check_backward(fn, dm, e, out, stats, d_out, req, true);
  AttentionGrads g = zero_grads(dm, e, req, false);  // every task writes (dq, dk) or clears (dv) its own rows
  const SingleThreadedBlas blas_guard;
  init_small_products();  // before the tiles' parallel region
  const int threads = thread_count(opts.threads);
  const Plan plan = make_plan(dm, q, k, &v, e, opts, threads);
  const std::size_t tasks = dm.batch * dm.heads, group = dm.heads / dm.kv_heads;
  State st{plan, req, out.data(), d_out.data(), stats.log_sum_exp.data(), tasks, {}, {}, {}, {}, {}, {}, {},
           {}, {}, {}, {}, {}, {}, nullptr, nullptr, nullptr};
  init_slots(st, g.encoding);
  std::vector<float> dk_h, dv_h;
  if (req.inputs) {
    st.dq = g.dq.data();
    if (group == 1) {
      st.dk_h = g.dk.data();
      st.dv_h = g.dv.data();
    } else {
      dk_h.resize(dm.batch * dm.heads * dm.nk * dm.d);
      dv_h.resize(dm.batch * dm.heads * dm.nk * dm.dv);
      st.dk_h = dk_h.data();
      st.dv_h = dv_h.data();
    }
  }
#pragma omp parallel num_threads(threads)
  {
    const FlushToZero ftz;
    TaskBuffers tb;
#pragma omp for schedule(dynamic, 1)
    for (std::ptrdiff_t task = 0; task < static_cast<std::ptrdiff_t>(tasks); ++task)
      backward_task(st, static_cast<std::size_t>(task) / dm.heads, static_cast<std::size_t>(task) % dm.heads, tb);
  }
  const FlushToZero ftz;  // for the sums below; not across a parallel region's start
  if (req.inputs && group > 1) {  // query heads sharing a key head, summed in head order
    const std::size_t nkd = dm.nk * dm.d, nkv = dm.nk * dm.dv;
    std::fill(g.dk.begin(), g.dk.end(), 0.0f);
    std::fill(g.dv.begin(), g.dv.end(), 0.0f);
    for (std::size_t b = 0; b < dm.batch; ++b)
      for (std::size_t h = 0; h < dm.heads; ++h) {
        const std::size_t kvh = h / group;
        float* dk = g.dk.data() + (b * dm.kv_heads + kvh) * nkd;
        float* dvv = g.dv.data() + (b * dm.kv_heads + kvh) * nkv;
        for (std::size_t x = 0; x < nkd; ++x) dk[x] += dk_h[(b * dm.heads + h) * nkd + x];
        for (std::size_t x = 0; x < nkv; ++x) dvv[x] += dv_h[(b * dm.heads + h) * nkv + x];
      }
  }
  reduce_slots(st, g.encoding);
  return g;
}

}  // namespace posenc
