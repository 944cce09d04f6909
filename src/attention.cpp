// The streaming attention core: key tiles with an online softmax.
//
// Order of operations for one (batch b, head h, block of query rows):
//   1. rotate (and XPos-scale) the query rows; content-position tables
//      QA_c[i, r] = (q_i + c_h) . aK_c[h, r] for every distinct r (one sgemm);
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
// operations whatever the number of threads.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <cblas.h>

#include "detail/attention_common.hpp"
#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "detail/relation_eval.hpp"
#include "detail/vmath.hpp"
#include "posenc/rotary.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace posenc {

namespace detail {
void rotate_row(const float* x, float* out, const float* c, const float* s, std::size_t pairs, std::size_t dim,
                PairLayout layout);
}

namespace {

using detail::Dims;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// BLAS is called from inside OpenMP threads: each call runs single-threaded
// for the duration of attention(), and the caller's setting is restored after.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    if (openblas_get_num_threads && openblas_set_num_threads) {
      saved_ = openblas_get_num_threads();
      if (saved_ != 1) openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_ = 0;
};

// C[m x n] = alpha * A[m x k] B[n x k]^T + beta * C
void gemm_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
// C[m x n] = alpha * A[m x k] B[k x n] + beta * C
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
              static_cast<int>(ldc));
}

template <class T>
std::size_t head_of(const xt::xarray<T>& t, std::size_t h) {
  return t.shape()[0] == 1 ? 0 : h;
}

/// Everything the per-block kernel reads, prepared once per call.
struct Plan {
  Dims dm;
  const Encoding* enc;
  const Mask* mask;
  const float* q;
  const float* k;
  const float* v;
  // rotation
  bool rotated = false;
  RotaryTable tq, tk;
  Tensor k_rot;  // [B, Hr, Nk, d]
  std::size_t rot_heads = 0;  // Hr: H when angles differ per head, else Hk
  std::size_t bq = 64, bk = 256;
  std::size_t max_rel = 0;  // widest content-position / value relation
};

/// Per-(b, h) data shared by the query blocks of that head.
struct HeadContext {
  std::vector<std::vector<float>> ka;  // position-content tables [Nk, R_p]
};

/// Scratch of one thread.
struct Scratch {
  std::vector<float> qrot, qbias, s, tmp, o, m, l, wrow;
  std::vector<std::int32_t> idx, cw;
  std::vector<std::vector<float>> qa;  // content-position tables [bq, R_c]
  std::vector<std::vector<float>> wv;  // value-term histograms [bq, R_v]
};

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

void process_block(const Plan& p, const HeadContext& ctx, std::size_t b, std::size_t h, std::size_t i0,
                   std::size_t i1, Scratch& w, float* out) {
  const Encoding& e = *p.enc;
  const Dims& dm = p.dm;
  const Mask& mask = *p.mask;
  const std::size_t nb = i1 - i0;
  const std::size_t d = dm.d, dv = dm.dv;
  const std::size_t kvh = h / (dm.heads / dm.kv_heads);
  const float scale = static_cast<float>(dm.scale);
  const float* qraw = p.q + ((b * dm.heads + h) * dm.nq + i0) * d;
  const float* kraw = p.k + (b * dm.kv_heads + kvh) * dm.nk * d;
  const float* vb = p.v + (b * dm.kv_heads + kvh) * dm.nk * dv;

  // 1. Queries: rotated rows, and content-position tables.
  const float* qrow = qraw;
  const float* krot = kraw;
  if (p.rotated) {
    w.qrot.resize(nb * d);
    const auto& t = p.tq;
    for (std::size_t i = 0; i < nb; ++i) {
      const std::size_t trow =
          (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : h)) * t.tokens + i0 + i) * t.pairs;
      detail::rotate_row(qraw + i * d, w.qrot.data() + i * d, t.cos.data() + trow, t.sin.data() + trow, t.pairs, d,
                         t.layout);
    }
    qrow = w.qrot.data();
    const std::size_t rh = p.rot_heads == dm.heads ? h : kvh;
    krot = p.k_rot.data() + (b * p.rot_heads + rh) * dm.nk * d;
  }
  w.qa.resize(e.content_position.size());
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const auto& cp = e.content_position[t];
    const std::size_t r = static_cast<std::size_t>(cp.relation.size);
    const float* a = cp.table.data() + head_of(cp.table, h) * r * d;
    const float* qsrc = qraw;
    if (is_set(cp.query_bias)) {
      w.qbias.resize(nb * d);
      const float* c = cp.query_bias.data() + head_of(cp.query_bias, h) * d;
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t ch = 0; ch < d; ++ch) w.qbias[i * d + ch] = qraw[i * d + ch] + c[ch];
      qsrc = w.qbias.data();
    }
    w.qa[t].resize(nb * r);
    gemm_nt(nb, r, d, scale, qsrc, d, a, d, 0.0f, w.qa[t].data(), r);  // pre-scaled
  }
  const float* ubias = is_set(e.content_bias) ? e.content_bias.data() + head_of(e.content_bias, h) * d : nullptr;

  // Online-softmax state.
  w.o.assign(nb * dv, 0.0f);
  w.m.assign(nb, kNegInf);
  w.l.assign(nb, 0.0f);
  w.wv.resize(e.value.size());
  for (std::size_t t = 0; t < e.value.size(); ++t) w.wv[t].assign(nb * static_cast<std::size_t>(e.value[t].relation.size), 0.0f);

  // Key range that the mask can leave visible for this block.
  std::size_t j_end = dm.nk;
  if (mask.causal) {
    const std::int64_t last = static_cast<std::int64_t>(i1 - 1) + static_cast<std::int64_t>(dm.nk) -
                              static_cast<std::int64_t>(dm.nq);
    if (last < 0) j_end = 0;
    else j_end = std::min<std::size_t>(j_end, static_cast<std::size_t>(last) + 1);
  }
  if (!mask.key_lengths.empty()) j_end = std::min<std::size_t>(j_end, static_cast<std::size_t>(mask.key_lengths[b]));
  const bool segmented = is_set(mask.query_segments);
  const std::int64_t* qseg = nullptr;
  const std::int64_t* kseg = nullptr;
  std::int64_t qs_min = 0, qs_max = 0;
  if (segmented) {
    qseg = mask.query_segments.data() + (mask.query_segments.shape()[0] == 1 ? 0 : b) * dm.nq;
    kseg = mask.key_segments.data() + (mask.key_segments.shape()[0] == 1 ? 0 : b) * dm.nk;
    qs_min = *std::min_element(qseg + i0, qseg + i1);
    qs_max = *std::max_element(qseg + i0, qseg + i1);
  }

  const std::size_t bk = p.bk;
  w.s.resize(nb * bk);
  w.idx.resize(nb * bk);
  w.tmp.resize(std::max(nb * bk, bk));
  for (std::size_t j0 = 0; j0 < j_end; j0 += bk) {
    const std::size_t j1 = std::min(j_end, j0 + bk);
    const std::size_t nt = j1 - j0;
    if (segmented) {
      const std::int64_t ks_min = *std::min_element(kseg + j0, kseg + j1);
      const std::int64_t ks_max = *std::max_element(kseg + j0, kseg + j1);
      if (ks_max < qs_min || ks_min > qs_max) continue;  // no document in common
    }
    float* s = w.s.data();
    // 2a. content-content (per-channel weights, Huang method 3, cannot go through BLAS)
    if (e.content_weights.empty()) {
      gemm_nt(nb, nt, d, scale, qrow, d, krot + j0 * d, d, 0.0f, s, nt);
    } else {
      w.cw.resize(e.content_weights.size() * nb * nt);
      for (std::size_t t = 0; t < e.content_weights.size(); ++t)
        detail::relation_index_tile(e.content_weights[t].relation, b, i0, i1, j0, j1, w.cw.data() + t * nb * nt);
      w.wrow.resize(d);
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) {
          const float* qi = qrow + i * d;
          const float* kj = krot + (j0 + j) * d;
          for (std::size_t c = 0; c < d; ++c) w.wrow[c] = qi[c] * kj[c];
          for (std::size_t t = 0; t < e.content_weights.size(); ++t) {
            const auto& cw = e.content_weights[t];
            const float* tab = cw.table.data() +
                               (head_of(cw.table, h) * static_cast<std::size_t>(cw.relation.size) +
                                static_cast<std::size_t>(w.cw[t * nb * nt + i * nt + j])) * d;
            for (std::size_t c = 0; c < d; ++c) w.wrow[c] *= tab[c];
          }
          float acc = 0;
          for (std::size_t c = 0; c < d; ++c) acc += w.wrow[c];
          s[i * nt + j] = scale * acc;
        }
    }
    // 2b. content-position and position-content gathers
    for (std::size_t t = 0; t < e.content_position.size(); ++t) {
      const auto& rel = e.content_position[t].relation;
      const std::size_t r = static_cast<std::size_t>(rel.size);
      detail::relation_index_tile(rel, b, i0, i1, j0, j1, w.idx.data());
      const float* qa = w.qa[t].data();
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += qa[i * r + w.idx[i * nt + j]];
    }
    for (std::size_t t = 0; t < e.position_content.size(); ++t) {
      const auto& rel = e.position_content[t].relation;
      const std::size_t r = static_cast<std::size_t>(rel.size);
      detail::relation_index_tile(rel, b, i0, i1, j0, j1, w.idx.data());
      const float* ka = ctx.ka[t].data();
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += scale * ka[(j0 + j) * r + w.idx[i * nt + j]];
    }
    if (ubias) {
      float* uk = w.tmp.data();
      gemm_nt(1, nt, d, scale, ubias, d, kraw + j0 * d, d, 0.0f, uk, nt);
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += uk[j];
    }
    // 2c. position-position biases
    for (const auto& bias : e.biases) {
      switch (bias.kind) {
        case BiasKind::slope: {
          const float slope = bias.slopes(head_of(bias.slopes, h));
          float* val = w.tmp.data();
          detail::relation_value_tile(bias.relation, b, i0, i1, j0, j1, val);
          for (std::size_t x = 0; x < nb * nt; ++x) s[x] -= slope * val[x];
          break;
        }
        case BiasKind::table: {
          const std::size_t r = static_cast<std::size_t>(bias.relation.size);
          const float* tab = bias.table.data() + head_of(bias.table, h) * r;
          detail::relation_index_tile(bias.relation, b, i0, i1, j0, j1, w.idx.data());
          for (std::size_t x = 0; x < nb * nt; ++x) s[x] += tab[w.idx[x]];
          break;
        }
        case BiasKind::dense: {
          const auto& dn = bias.dense;
          const float* base = dn.data() + ((dn.shape()[0] == 1 ? 0 : b) * dn.shape()[1] + (dn.shape()[1] == 1 ? 0 : h)) *
                                              dm.nq * dm.nk;
          for (std::size_t i = 0; i < nb; ++i)
            for (std::size_t j = 0; j < nt; ++j) s[i * nt + j] += base[(i0 + i) * dm.nk + j0 + j];
          break;
        }
      }
    }
    // 2d. multiplicative terms
    if (e.score_relu)
      for (std::size_t x = 0; x < nb * nt; ++x) s[x] = std::max(s[x], 0.0f);
    for (const auto& mul : e.multipliers) {
      const std::size_t r = static_cast<std::size_t>(mul.relation.size);
      const float* tab = mul.table.data() + head_of(mul.table, h) * r;
      detail::relation_index_tile(mul.relation, b, i0, i1, j0, j1, w.idx.data());
      for (std::size_t x = 0; x < nb * nt; ++x) s[x] *= tab[w.idx[x]];
    }
    // 2e. mask
    if (mask.causal) {
      const std::int64_t shift = static_cast<std::int64_t>(dm.nk) - static_cast<std::int64_t>(dm.nq);
      for (std::size_t i = 0; i < nb; ++i) {
        const std::int64_t last = static_cast<std::int64_t>(i0 + i) + shift;  // last visible key
        const std::int64_t from = std::max<std::int64_t>(last + 1 - static_cast<std::int64_t>(j0), 0);
        for (std::size_t j = static_cast<std::size_t>(std::min<std::int64_t>(from, static_cast<std::int64_t>(nt)));
             j < nt; ++j)
          s[i * nt + j] = kNegInf;
      }
    }
    if (segmented)
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j)
          if (qseg[i0 + i] != kseg[j0 + j]) s[i * nt + j] = kNegInf;
    // 2f. online softmax
    for (std::size_t i = 0; i < nb; ++i) {
      float* row = s + i * nt;
      const float mx = detail::max_of(row, nt, w.m[i]);
      if (mx == kNegInf) {  // nothing visible yet
        std::fill(row, row + nt, 0.0f);
        continue;
      }
      const float a = detail::exp_nonpositive(w.m[i] - mx);
      w.m[i] = mx;
      w.l[i] = w.l[i] * a + detail::exp_shift_sum(row, nt, mx);
      if (a != 1.0f) {
        for (std::size_t c = 0; c < dv; ++c) w.o[i * dv + c] *= a;
        for (auto& hist : w.wv) {
          const std::size_t r = hist.size() / nb;
          for (std::size_t c = 0; c < r; ++c) hist[i * r + c] *= a;
        }
      }
    }
    gemm_nn(nb, dv, nt, 1.0f, s, nt, vb + j0 * dv, dv, 1.0f, w.o.data(), dv);
    for (std::size_t t = 0; t < e.value.size(); ++t) {
      const auto& rel = e.value[t].relation;
      const std::size_t r = static_cast<std::size_t>(rel.size);
      detail::relation_index_tile(rel, b, i0, i1, j0, j1, w.idx.data());
      float* hist = w.wv[t].data();
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t j = 0; j < nt; ++j) hist[i * r + w.idx[i * nt + j]] += s[i * nt + j];
    }
  }

  // 3. normalise, value terms, write out.
  float* o = out + ((b * dm.heads + h) * dm.nq + i0) * dv;
  for (std::size_t i = 0; i < nb; ++i) {
    const float inv = w.l[i] > 0 ? 1.0f / w.l[i] : 0.0f;
    for (std::size_t c = 0; c < dv; ++c) o[i * dv + c] = w.o[i * dv + c] * inv;
    for (auto& hist : w.wv) {
      const std::size_t r = hist.size() / nb;
      for (std::size_t c = 0; c < r; ++c) hist[i * r + c] *= inv;
    }
  }
  for (std::size_t t = 0; t < e.value.size(); ++t) {
    const std::size_t r = static_cast<std::size_t>(e.value[t].relation.size);
    const float* a = e.value[t].table.data() + head_of(e.value[t].table, h) * r * dv;
    gemm_nn(nb, dv, r, 1.0f, w.wv[t].data(), r, a, dv, 1.0f, o, dv);
  }
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e, const AttentionOptions& opts) {
  const Dims dm = detail::check_attention("attention", q, k, &v, e, opts);
  const SingleThreadedBlas blas_guard;
  const int threads = detail::thread_count(opts.threads);
  Plan p;
  p.dm = dm;
  p.enc = &e;
  p.mask = &opts.mask;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.bq = opts.query_block;
  p.bk = opts.key_block;

  if (!e.rotation.empty()) {
    p.rotated = true;
    p.tq = rotary_table(e.rotation, RotarySide::query);
    p.tk = rotary_table(e.rotation, RotarySide::key);
    p.rot_heads = p.tk.heads == 1 ? dm.kv_heads : dm.heads;
    p.k_rot = detail::fresh_tensor<Tensor>(Shape{dm.batch, p.rot_heads, dm.nk, dm.d});
    const auto& t = p.tk;
    const std::size_t rows = dm.batch * p.rot_heads * dm.nk;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::ptrdiff_t row = 0; row < static_cast<std::ptrdiff_t>(rows); ++row) {
      const std::size_t j = static_cast<std::size_t>(row) % dm.nk;
      const std::size_t rh = (static_cast<std::size_t>(row) / dm.nk) % p.rot_heads;
      const std::size_t b = static_cast<std::size_t>(row) / (dm.nk * p.rot_heads);
      const std::size_t kvh = p.rot_heads == dm.heads ? rh / (dm.heads / dm.kv_heads) : rh;
      const std::size_t trow =
          (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : rh)) * t.tokens + j) * t.pairs;
      detail::rotate_row(p.k + ((b * dm.kv_heads + kvh) * dm.nk + j) * dm.d,
                         p.k_rot.data() + static_cast<std::size_t>(row) * dm.d, t.cos.data() + trow,
                         t.sin.data() + trow, t.pairs, dm.d, t.layout);
    }
  }

  Tensor out = detail::fresh_tensor<Tensor>(Shape{dm.batch, dm.heads, dm.nq, dm.dv});
  const std::size_t blocks = (dm.nq + p.bq - 1) / p.bq;
  const std::size_t heads_total = dm.batch * dm.heads;
  if (e.position_content.empty()) {
    // No per-head precomputation: one flat loop over (b, h, query block).
    const HeadContext none;
#pragma omp parallel num_threads(threads)
    {
      Scratch w;
#pragma omp for schedule(dynamic, 1)
      for (std::ptrdiff_t task = 0; task < static_cast<std::ptrdiff_t>(heads_total * blocks); ++task) {
        const std::size_t bh = static_cast<std::size_t>(task) / blocks, blk = static_cast<std::size_t>(task) % blocks;
        const std::size_t i0 = blk * p.bq, i1 = std::min(dm.nq, i0 + p.bq);
        process_block(p, none, bh / dm.heads, bh % dm.heads, i0, i1, w, out.data());
      }
    }
  } else {
    // Position-content tables are built once per (b, h), then its blocks run in parallel.
    HeadContext ctx;
    for (std::size_t bh = 0; bh < heads_total; ++bh) {
      build_head_context(p, bh / dm.heads, bh % dm.heads, ctx);
#pragma omp parallel num_threads(threads)
      {
        Scratch w;
#pragma omp for schedule(dynamic, 1)
        for (std::ptrdiff_t blk = 0; blk < static_cast<std::ptrdiff_t>(blocks); ++blk) {
          const std::size_t i0 = static_cast<std::size_t>(blk) * p.bq, i1 = std::min(dm.nq, i0 + p.bq);
          process_block(p, ctx, bh / dm.heads, bh % dm.heads, i0, i1, w, out.data());
        }
      }
    }
  }
  return out;
}

}  // namespace posenc
