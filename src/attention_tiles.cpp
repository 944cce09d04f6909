// The tile machinery shared by the streaming forward and backward
// (detail/attention_tiles.hpp).
#include "detail/attention_tiles.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/gemm.hpp"
#include "detail/memory.hpp"
#include "detail/relation_eval.hpp"

namespace posenc::detail {

void gemm_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  serial_sgemm(false, true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  serial_sgemm(false, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm_tn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  serial_sgemm(true, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

Plan make_plan(const Dims& dm, const Tensor& q, const Tensor& k, const Tensor* v, const Encoding& e,
               const AttentionOptions& opts, int threads) {
  Plan p;
  p.dm = dm;
  p.enc = &e;
  p.mask = &opts.mask;
  p.q = q.data();
  p.k = k.data();
  p.v = v ? v->data() : nullptr;
  p.bq = opts.query_block;
  p.bk = opts.key_block;
  if (e.rotation.empty()) return p;
  p.rotated = true;
  p.tq = rotary_table(e.rotation, RotarySide::query);
  p.tk = rotary_table(e.rotation, RotarySide::key);
  p.rot_heads = p.tk.heads == 1 ? dm.kv_heads : dm.heads;
  p.k_rot = fresh_tensor<Tensor>(Shape{dm.batch, p.rot_heads, dm.nk, dm.d});
  const auto& t = p.tk;
  const std::size_t rows = dm.batch * p.rot_heads * dm.nk;
#pragma omp parallel num_threads(threads)
  {
    const FlushToZero ftz;
#pragma omp for schedule(static)
    for (std::ptrdiff_t row = 0; row < static_cast<std::ptrdiff_t>(rows); ++row) {
      const std::size_t j = static_cast<std::size_t>(row) % dm.nk;
      const std::size_t rh = (static_cast<std::size_t>(row) / dm.nk) % p.rot_heads;
      const std::size_t b = static_cast<std::size_t>(row) / (dm.nk * p.rot_heads);
      const std::size_t kvh = p.rot_heads == dm.heads ? rh / (dm.heads / dm.kv_heads) : rh;
      const std::size_t trow = (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : rh)) * t.tokens + j) * t.pairs;
      rotate_row(p.k + ((b * dm.kv_heads + kvh) * dm.nk + j) * dm.d,
                 p.k_rot.data() + static_cast<std::size_t>(row) * dm.d, t.cos.data() + trow, t.sin.data() + trow,
                 t.pairs, dm.d, t.layout);
    }
  }
  return p;
}

void build_head_context(const Plan& p, std::size_t b, std::size_t h, HeadContext& ctx) {
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  ctx.ka.resize(e.position_content.size());
  const std::size_t kvh = h / (dm.heads / dm.kv_heads);
  const float* kb = p.k + (b * dm.kv_heads + kvh) * dm.nk * dm.d;
  for (std::size_t t = 0; t < e.position_content.size(); ++t) {
    const auto& pc = e.position_content[t];
    const std::size_t r = static_cast<std::size_t>(pc.relation.size);
    ctx.ka[t].assign(dm.nk * r, 0.0f);
    const float* a = pc.table.data() + head_of(pc.table, h) * r * dm.d;
    gemm_nt(dm.nk, r, dm.d, 1.0f, kb, dm.d, a, dm.d, 0.0f, ctx.ka[t].data(), r);
  }
}

BlockRows prepare_block(const Plan& p, std::size_t b, std::size_t h, std::size_t i0, std::size_t i1, Scratch& w) {
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  BlockRows r;
  r.b = b;
  r.h = h;
  r.i0 = i0;
  r.i1 = i1;
  r.kvh = h / (dm.heads / dm.kv_heads);
  const std::size_t nb = i1 - i0, d = dm.d;
  const float scale = static_cast<float>(dm.scale);
  r.qraw = p.q + ((b * dm.heads + h) * dm.nq + i0) * d;
  r.kraw = p.k + (b * dm.kv_heads + r.kvh) * dm.nk * d;
  r.qrow = r.qraw;
  r.krot = r.kraw;
  if (p.rotated) {
    w.qrot.resize(nb * d);
    const auto& t = p.tq;
    for (std::size_t i = 0; i < nb; ++i) {
      const std::size_t trow =
          (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : h)) * t.tokens + i0 + i) * t.pairs;
      rotate_row(r.qraw + i * d, w.qrot.data() + i * d, t.cos.data() + trow, t.sin.data() + trow, t.pairs, d,
                 t.layout);
    }
    r.qrow = w.qrot.data();
    const std::size_t rh = p.rot_heads == dm.heads ? h : r.kvh;
    r.krot = p.k_rot.data() + (b * p.rot_heads + rh) * dm.nk * d;
  }
  w.qa.resize(e.content_position.size());
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const auto& cp = e.content_position[t];
    const std::size_t rr = static_cast<std::size_t>(cp.relation.size);
    const float* a = cp.table.data() + head_of(cp.table, h) * rr * d;
    const float* qsrc = r.qraw;
    if (is_set(cp.query_bias)) {
      w.qbias.resize(nb * d);
      const float* c = cp.query_bias.data() + head_of(cp.query_bias, h) * d;
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t ch = 0; ch < d; ++ch) w.qbias[i * d + ch] = r.qraw[i * d + ch] + c[ch];
      qsrc = w.qbias.data();
    }
    // Only the table rows the block's tiles can read (causal Transformer-XL without memory:
    // distances 0 .. i1 - 1).
    std::size_t lo = 0, hi = 0;
    const std::size_t j_end = visible_key_end(p, r);
    if (j_end > 0) relation_index_range(cp.relation, b, i0, i1, 0, j_end, lo, hi);
    w.qa[t].resize(nb * rr);
    if (hi > lo) gemm_nt(nb, hi - lo, d, scale, qsrc, d, a + lo * d, d, 0.0f, w.qa[t].data() + lo, rr);  // pre-scaled
  }
  r.ubias = is_set(e.content_bias) ? e.content_bias.data() + head_of(e.content_bias, h) * d : nullptr;
  return r;
}

std::size_t visible_key_end(const Plan& p, const BlockRows& r) {
  const Dims& dm = p.dm;
  const Mask& mask = *p.mask;
  std::size_t j_end = dm.nk;
  if (mask.causal) {
    const std::int64_t last = static_cast<std::int64_t>(r.i1 - 1) + static_cast<std::int64_t>(dm.nk) -
                              static_cast<std::int64_t>(dm.nq);
    j_end = last < 0 ? 0 : std::min<std::size_t>(j_end, static_cast<std::size_t>(last) + 1);
  }
  if (!mask.key_lengths.empty()) j_end = std::min<std::size_t>(j_end, static_cast<std::size_t>(mask.key_lengths[r.b]));
  return j_end;
}

std::size_t causal_columns(const Plan& p, const BlockRows& r, std::size_t rows, std::size_t j0, std::size_t nt) {
  if (!p.mask->causal) return nt;
  // Row i0 + rows - 1 sees keys up to i0 + rows - 1 + (Nk - Nq).
  const std::int64_t seen = static_cast<std::int64_t>(r.i0 + rows) + static_cast<std::int64_t>(p.dm.nk) -
                            static_cast<std::int64_t>(p.dm.nq) - static_cast<std::int64_t>(j0);
  return static_cast<std::size_t>(std::clamp<std::int64_t>(seen, 0, static_cast<std::int64_t>(nt)));
}

std::size_t causal_shared_columns(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t nt) {
  const std::size_t all = causal_columns(p, r, 1, j0, nt);
  return all == nt ? nt : all / 16 * 16;
}

bool tile_hidden_by_segments(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t j1) {
  const Mask& mask = *p.mask;
  if (!is_set(mask.query_segments)) return false;
  const std::int64_t* qseg = mask.query_segments.data() + (mask.query_segments.shape()[0] == 1 ? 0 : r.b) * p.dm.nq;
  const std::int64_t* kseg = mask.key_segments.data() + (mask.key_segments.shape()[0] == 1 ? 0 : r.b) * p.dm.nk;
  const std::int64_t qs_min = *std::min_element(qseg + r.i0, qseg + r.i1);
  const std::int64_t qs_max = *std::max_element(qseg + r.i0, qseg + r.i1);
  const std::int64_t ks_min = *std::min_element(kseg + j0, kseg + j1);
  const std::int64_t ks_max = *std::max_element(kseg + j0, kseg + j1);
  return ks_max < qs_min || ks_min > qs_max;
}

namespace {

// Per-channel content weights (Huang method 3): cannot go through BLAS.
void weighted_content(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t j1, Scratch& w, float* s) {
  const Encoding& e = *p.enc;
  const std::size_t nb = r.nb(), nt = j1 - j0, d = p.dm.d;
  const float scale = static_cast<float>(p.dm.scale);
  w.cw.resize(e.content_weights.size() * nb * nt);
  for (std::size_t t = 0; t < e.content_weights.size(); ++t)
    relation_index_tile(e.content_weights[t].relation, r.b, r.i0, r.i1, j0, j1, w.cw.data() + t * nb * nt);
  w.wrow.resize(d);
  for (std::size_t i = 0; i < nb; ++i)
    for (std::size_t j = 0; j < nt; ++j) {
      const float* qi = r.qrow + i * d;
      const float* kj = r.krot + (j0 + j) * d;
      for (std::size_t c = 0; c < d; ++c) w.wrow[c] = qi[c] * kj[c];
      for (std::size_t t = 0; t < e.content_weights.size(); ++t) {
        const auto& cw = e.content_weights[t];
        const float* tab = cw.table.data() + (head_of(cw.table, r.h) * static_cast<std::size_t>(cw.relation.size) +
                                              static_cast<std::size_t>(w.cw[t * nb * nt + i * nt + j])) * d;
        for (std::size_t c = 0; c < d; ++c) w.wrow[c] *= tab[c];
      }
      float acc = 0;
      for (std::size_t c = 0; c < d; ++c) acc += w.wrow[c];
      s[i * nt + j] = scale * acc;
    }
}

// scale * q_i . k_j; on a causal diagonal tile only the columns each group of rows can see (the
// others are set to 0 here and to -inf by apply_mask).
void content_scores(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t nt, float* s) {
  const std::size_t nb = r.nb(), d = p.dm.d;
  const float scale = static_cast<float>(p.dm.scale);
  const std::size_t full = causal_shared_columns(p, r, j0, nt);
  if (full > 0) gemm_nt(nb, full, d, scale, r.qrow, d, r.krot + j0 * d, d, 0.0f, s, nt);
  if (full == nt) return;
  for_causal_groups(p, r, j0, nt, [&](std::size_t g0, std::size_t g1, std::size_t seen) {
    if (seen > full)
      gemm_nt(g1 - g0, seen - full, d, scale, r.qrow + g0 * d, d, r.krot + (j0 + full) * d, d, 0.0f,
              s + g0 * nt + full, nt);
    for (std::size_t i = g0; i < g1; ++i) std::fill(s + i * nt + seen, s + (i + 1) * nt, 0.0f);
  });
}

void add_biases(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t j1, Scratch& w, float* s) {
  const Encoding& e = *p.enc;
  const std::size_t nb = r.nb(), nt = j1 - j0;
  w.bias_idx.resize(e.biases.size());
  w.bias_val.resize(e.biases.size());
  w.bias_diag.resize(e.biases.size());
  for (std::size_t t = 0; t < e.biases.size(); ++t) {
    const Bias& bias = e.biases[t];
    switch (bias.kind) {
      case BiasKind::slope: {
        const float slope = bias.slopes(head_of(bias.slopes, r.h));
        w.bias_val[t].resize(std::max(w.bias_val[t].size(), nb * nt));
        float* val = w.bias_val[t].data();
        w.bias_diag[t] = relation_value_diagonal(bias.relation, r.b, r.i0, r.i1, j0, j1, val);
        if (w.bias_diag[t]) {  // ALiBi over text positions: one value per diagonal
          for (std::size_t i = 0; i < nb; ++i) {
            const float* d = val + (nb - 1 - i);
            float* row = s + i * nt;
            for (std::size_t j = 0; j < nt; ++j) row[j] -= slope * d[j];
          }
          break;
        }
        relation_value_tile(bias.relation, r.b, r.i0, r.i1, j0, j1, val);
        for (std::size_t x = 0; x < nb * nt; ++x) s[x] -= slope * val[x];
        break;
      }
      case BiasKind::table: {
        const std::size_t rr = static_cast<std::size_t>(bias.relation.size);
        const float* tab = bias.table.data() + head_of(bias.table, r.h) * rr;
        w.bias_idx[t].build(bias.relation, r.b, r.i0, r.i1, j0, j1);
        w.bias_idx[t].apply_table(tab, s, w.diag_val, [](float& x, float v) { x += v; });
        break;
      }
      case BiasKind::dense: {
        const auto& dn = bias.dense;
        const float* base =
            dn.data() + ((dn.shape()[0] == 1 ? 0 : r.b) * dn.shape()[1] + (dn.shape()[1] == 1 ? 0 : r.h)) *
                            p.dm.nq * p.dm.nk;
        for (std::size_t i = 0; i < nb; ++i)
          for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += base[(r.i0 + i) * p.dm.nk + j0 + j];
        break;
      }
    }
  }
}

void apply_mask(const Plan& p, const BlockRows& r, std::size_t j0, std::size_t j1, float* s) {
  const Mask& mask = *p.mask;
  const std::size_t nb = r.nb(), nt = j1 - j0;
  if (mask.causal) {
    const std::int64_t shift = static_cast<std::int64_t>(p.dm.nk) - static_cast<std::int64_t>(p.dm.nq);
    for (std::size_t i = 0; i < nb; ++i) {
      const std::int64_t last = static_cast<std::int64_t>(r.i0 + i) + shift;  // last visible key
      const std::int64_t from = std::max<std::int64_t>(last + 1 - static_cast<std::int64_t>(j0), 0);
      for (std::size_t j = static_cast<std::size_t>(std::min<std::int64_t>(from, static_cast<std::int64_t>(nt)));
           j < nt; ++j)
        s[i * nt + j] = kNegInf;
    }
  }
  if (is_set(mask.query_segments)) {
    const std::int64_t* qseg = mask.query_segments.data() + (mask.query_segments.shape()[0] == 1 ? 0 : r.b) * p.dm.nq;
    const std::int64_t* kseg = mask.key_segments.data() + (mask.key_segments.shape()[0] == 1 ? 0 : r.b) * p.dm.nk;
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < nt; ++j)
        if (qseg[r.i0 + i] != kseg[j0 + j]) s[i * nt + j] = kNegInf;
  }
}

}  // namespace

void score_tile(const Plan& p, const HeadContext& ctx, const BlockRows& r, std::size_t j0, std::size_t j1,
                Scratch& w, float* s, float* pre) {
  const Encoding& e = *p.enc;
  const std::size_t nb = r.nb(), nt = j1 - j0, d = p.dm.d;
  const float scale = static_cast<float>(p.dm.scale);
  w.tmp.resize(std::max(w.tmp.size(), std::max(nb * nt, nt)));
  // content-content
  if (e.content_weights.empty())
    content_scores(p, r, j0, nt, s);
  else
    weighted_content(p, r, j0, j1, w, s);
  // content-position and position-content gathers, content bias
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const auto& rel = e.content_position[t].relation;
    const std::size_t rr = static_cast<std::size_t>(rel.size);
    w.rel_idx.build(rel, r.b, r.i0, r.i1, j0, j1);
    const float* qa = w.qa[t].data();
    for (std::size_t i = 0; i < nb; ++i) w.rel_idx.gather_add(i, qa + i * rr, s + i * nt, 1.0f);
  }
  for (std::size_t t = 0; t < e.position_content.size(); ++t) {
    const auto& rel = e.position_content[t].relation;
    const std::size_t rr = static_cast<std::size_t>(rel.size);
    w.rel_idx.build(rel, r.b, r.i0, r.i1, j0, j1);
    const float* ka = ctx.ka[t].data();
    for (std::size_t i = 0; i < nb; ++i) {
      const std::int32_t* ix = w.rel_idx.row(i);
      for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += scale * ka[(j0 + j) * rr + ix[j]];
    }
  }
  if (r.ubias) {
    float* uk = w.tmp.data();
    gemm_nt(1, nt, d, scale, r.ubias, d, r.kraw + j0 * d, d, 0.0f, uk, nt);
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += uk[j];
  }
  add_biases(p, r, j0, j1, w, s);
  if (pre) std::copy(s, s + nb * nt, pre);
  // multiplicative terms
  if (e.score_relu)
    for (std::size_t x = 0; x < nb * nt; ++x) s[x] = std::max(s[x], 0.0f);
  w.mul_idx.resize(e.multipliers.size());
  for (std::size_t t = 0; t < e.multipliers.size(); ++t) {
    const Multiplier& mul = e.multipliers[t];
    const std::size_t rr = static_cast<std::size_t>(mul.relation.size);
    const float* tab = mul.table.data() + head_of(mul.table, r.h) * rr;
    w.mul_idx[t].build(mul.relation, r.b, r.i0, r.i1, j0, j1);
    w.mul_idx[t].apply_table(tab, s, w.diag_val, [](float& x, float v) { x *= v; });
  }
  apply_mask(p, r, j0, j1, s);
}

}  // namespace posenc::detail

namespace posenc::detail {

void unrotate_row(const float* g, float* out, const float* c, const float* s, std::size_t pairs, std::size_t dim,
                  PairLayout layout) {
  const std::size_t ia = layout == PairLayout::halves ? 1 : 2;  // stride of the first channel
  for (std::size_t k = 0; k < pairs; ++k) {
    const std::size_t a = ia * k, b = layout == PairLayout::halves ? k + pairs : 2 * k + 1;
    const float ga = g[a], gb = g[b];
    out[a] = ga * c[k] + gb * s[k];
    out[b] = gb * c[k] - ga * s[k];
  }
  for (std::size_t ch = 2 * pairs; ch < dim; ++ch) out[ch] = g[ch];
}

}  // namespace posenc::detail
