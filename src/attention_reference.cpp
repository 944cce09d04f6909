// The reference attention: the four-term formula of posenc/encoding.hpp in
// plain loops with double accumulation. It is the oracle of the test suite
// and the implementation of attention_scores / attention_weights.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/attention_common.hpp"
#include "detail/check.hpp"
#include "detail/reference.hpp"
#include "detail/relation_eval.hpp"

namespace posenc {

namespace detail {

Dims check_attention(const char* fn, const Tensor& q, const Tensor& k, const Tensor* v, const Encoding& enc,
                     const AttentionOptions& opts) {
  if (q.dimension() != 4) fail(fn, "parameter 'q' must be [B, H, Nq, d], got ", shape_string(q));
  if (k.dimension() != 4) fail(fn, "parameter 'k' must be [B, Hk, Nk, d], got ", shape_string(k));
  Dims dm{};
  dm.batch = q.shape()[0];
  dm.heads = q.shape()[1];
  dm.nq = q.shape()[2];
  dm.d = q.shape()[3];
  dm.kv_heads = k.shape()[1];
  dm.nk = k.shape()[2];
  if (dm.batch == 0 || dm.heads == 0 || dm.nq == 0 || dm.d == 0)
    fail(fn, "parameter 'q' has an empty axis: shape ", shape_string(q), " (zero batch, heads, tokens or dim)");
  if (dm.kv_heads == 0 || dm.nk == 0) fail(fn, "parameter 'k' has an empty axis: shape ", shape_string(k));
  if (k.shape()[0] != dm.batch || k.shape()[3] != dm.d)
    fail(fn, "parameters 'q' ", shape_string(q), " and 'k' ", shape_string(k), " disagree in batch or head dim");
  if (dm.heads % dm.kv_heads != 0)
    fail(fn, "key heads (", dm.kv_heads, ") must divide query heads (", dm.heads, ")");
  if (v) {
    if (v->dimension() != 4) fail(fn, "parameter 'v' must be [B, Hk, Nk, dv], got ", shape_string(*v));
    if (v->shape()[0] != dm.batch || v->shape()[1] != dm.kv_heads || v->shape()[2] != dm.nk)
      fail(fn, "parameters 'k' ", shape_string(k), " and 'v' ", shape_string(*v), " disagree in batch, heads or tokens");
    dm.dv = v->shape()[3];
    if (dm.dv == 0) fail(fn, "parameter 'v' has zero value dim");
  } else {
    dm.dv = dm.d;
  }
  const Mask& m = opts.mask;
  if (!m.key_lengths.empty()) {
    if (m.key_lengths.size() != dm.batch)
      fail(fn, "mask.key_lengths has ", m.key_lengths.size(), " entries but the batch is ", dm.batch);
    for (auto len : m.key_lengths)
      if (len < 0 || static_cast<std::size_t>(len) > dm.nk)
        fail(fn, "mask.key_lengths holds ", len, " outside [0, ", dm.nk, "]");
  }
  if (is_set(m.query_segments) != is_set(m.key_segments))
    fail(fn, "mask.query_segments and mask.key_segments must be given together");
  if (is_set(m.query_segments)) {
    auto check_seg = [&](const ITensor& s, const char* name, std::size_t n) {
      if (s.dimension() != 2 || (s.shape()[0] != 1 && s.shape()[0] != dm.batch) || s.shape()[1] != n)
        fail(fn, "mask.", name, " must be [B|1, ", n, "], got ", shape_string(s));
    };
    check_seg(m.query_segments, "query_segments", dm.nq);
    check_seg(m.key_segments, "key_segments", dm.nk);
  }
  validate(enc, dm.batch, dm.heads, dm.nq, dm.nk, dm.d, dm.dv, fn);
  if (opts.scale && (!(*opts.scale > 0) || !std::isfinite(*opts.scale)))
    fail(fn, "parameter 'scale' must be positive and finite, got ", *opts.scale);
  dm.scale = opts.scale ? *opts.scale : (enc.scale ? *enc.scale : 1.0 / std::sqrt(static_cast<double>(dm.d)));
  if (opts.query_block == 0 || opts.key_block == 0)
    fail(fn, "tile sizes must be positive, got query_block=", opts.query_block, " key_block=", opts.key_block);
  return dm;
}

}  // namespace detail

namespace {

using detail::Dims;
using detail::head_of;


// Rotate one token's row in double, straight from the angle definition.
std::vector<double> rotate_reference(const float* x, std::size_t d, const Rotation& r, const DTensor& angles,
                                     const DTensor& log_scale, std::size_t b, std::size_t h, std::size_t n) {
  std::vector<double> out(x, x + d);
  if (r.empty()) return out;
  const std::size_t pairs = static_cast<std::size_t>(r.pairs);
  const std::size_t bb = angles.shape()[0] == 1 ? 0 : b, hh = angles.shape()[1] == 1 ? 0 : h;
  for (std::size_t k = 0; k < pairs; ++k) {
    const double t = angles(bb, hh, n, k);
    const double mag = r.magnitude * (is_set(log_scale) ? std::exp(log_scale(bb, hh, n, k)) : 1.0);
    const std::size_t ia = r.layout == PairLayout::halves ? k : 2 * k;
    const std::size_t ib = r.layout == PairLayout::halves ? k + pairs : 2 * k + 1;
    const double a = x[ia], c = x[ib];
    out[ia] = mag * (a * std::cos(t) - c * std::sin(t));
    out[ib] = mag * (a * std::sin(t) + c * std::cos(t));
  }
  return out;
}

// Full logits s_ij of one (b, h) with the mask applied as -inf; rows of length nk.
std::vector<double> reference_logits(const Tensor& q, const Tensor& k, const Encoding& e, const Dims& dm,
                                     const Mask& mask, std::size_t b, std::size_t h, bool apply_mask) {
  const std::size_t kvh = h / (dm.heads / dm.kv_heads);
  const float* qb = q.data() + (b * dm.heads + h) * dm.nq * dm.d;
  const float* kb = k.data() + (b * dm.kv_heads + kvh) * dm.nk * dm.d;
  std::vector<std::vector<double>> qr(dm.nq), kr(dm.nk);
  for (std::size_t i = 0; i < dm.nq; ++i)
    qr[i] = rotate_reference(qb + i * dm.d, dm.d, e.rotation, e.rotation.query_angles, e.rotation.query_log_scale, b,
                             h, i);
  for (std::size_t j = 0; j < dm.nk; ++j)
    kr[j] = rotate_reference(kb + j * dm.d, dm.d, e.rotation, e.rotation.key_angles, e.rotation.key_log_scale, b, h,
                             j);
  std::vector<double> s(dm.nq * dm.nk);
  for (std::size_t i = 0; i < dm.nq; ++i) {
    const float* qi = qb + i * dm.d;
    for (std::size_t j = 0; j < dm.nk; ++j) {
      const float* kj = kb + j * dm.d;
      double acc = 0;
      if (e.content_weights.empty()) {
        for (std::size_t c = 0; c < dm.d; ++c) acc += qr[i][c] * kr[j][c];
      } else {
        std::vector<double> w(dm.d, 1.0);
        for (const auto& cw : e.content_weights) {
          const auto r = static_cast<std::size_t>(detail::relation_index(cw.relation, b, i, j));
          for (std::size_t c = 0; c < dm.d; ++c) w[c] *= cw.table(head_of(cw.table, h), r, c);
        }
        for (std::size_t c = 0; c < dm.d; ++c) acc += qr[i][c] * kr[j][c] * w[c];
      }
      for (const auto& cp : e.content_position) {
        const auto r = static_cast<std::size_t>(detail::relation_index(cp.relation, b, i, j));
        const std::size_t th = head_of(cp.table, h);
        for (std::size_t c = 0; c < dm.d; ++c) {
          const double qc = qi[c] + (is_set(cp.query_bias) ? cp.query_bias(head_of(cp.query_bias, h), c) : 0.0f);
          acc += qc * cp.table(th, r, c);
        }
      }
      for (const auto& pc : e.position_content) {
        const auto r = static_cast<std::size_t>(detail::relation_index(pc.relation, b, i, j));
        const std::size_t th = head_of(pc.table, h);
        for (std::size_t c = 0; c < dm.d; ++c) acc += static_cast<double>(kj[c]) * pc.table(th, r, c);
      }
      if (is_set(e.content_bias))
        for (std::size_t c = 0; c < dm.d; ++c)
          acc += static_cast<double>(e.content_bias(head_of(e.content_bias, h), c)) * kj[c];
      double sij = dm.scale * acc;
      for (const auto& bias : e.biases) {
        switch (bias.kind) {
          case BiasKind::slope:
            sij -= static_cast<double>(bias.slopes(head_of(bias.slopes, h))) *
                   detail::relation_value(bias.relation, b, i, j);
            break;
          case BiasKind::table:
            sij += bias.table(head_of(bias.table, h),
                              static_cast<std::size_t>(detail::relation_index(bias.relation, b, i, j)));
            break;
          case BiasKind::dense:
            sij += bias.dense(bias.dense.shape()[0] == 1 ? 0 : b, bias.dense.shape()[1] == 1 ? 0 : h, i, j);
            break;
        }
      }
      if (e.score_relu) sij = std::max(sij, 0.0);
      for (const auto& m : e.multipliers)
        sij *= m.table(head_of(m.table, h), static_cast<std::size_t>(detail::relation_index(m.relation, b, i, j)));
      if (apply_mask && !detail::visible(mask, dm, b, i, j)) sij = -std::numeric_limits<double>::infinity();
      s[i * dm.nk + j] = sij;
    }
  }
  return s;
}

// Softmax of each row in place; lse (when given) receives log sum_j exp(row_j).
void softmax_rows(std::vector<double>& s, std::size_t rows, std::size_t cols, double* lse = nullptr) {
  for (std::size_t i = 0; i < rows; ++i) {
    double* row = s.data() + i * cols;
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < cols; ++j) mx = std::max(mx, row[j]);
    if (mx == -std::numeric_limits<double>::infinity()) {  // every key hidden: zeros, not NaN
      std::fill(row, row + cols, 0.0);
      if (lse) lse[i] = mx;
      continue;
    }
    double sum = 0;
    for (std::size_t j = 0; j < cols; ++j) sum += (row[j] = std::exp(row[j] - mx));
    for (std::size_t j = 0; j < cols; ++j) row[j] /= sum;
    if (lse) lse[i] = mx + std::log(sum);
  }
}

}  // namespace

namespace detail {

std::vector<double> attention_reference_f64(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e,
                                            const AttentionOptions& opts, std::vector<double>* lse_out) {
  const Dims dm = check_attention("attention_reference", q, k, &v, e, opts);
  std::vector<double> out(dm.batch * dm.heads * dm.nq * dm.dv, 0.0);
  if (lse_out) lse_out->assign(dm.batch * dm.heads * dm.nq, 0.0);
  std::vector<double> lse(dm.nq);
  for (std::size_t b = 0; b < dm.batch; ++b)
    for (std::size_t h = 0; h < dm.heads; ++h) {
      std::vector<double> p = reference_logits(q, k, e, dm, opts.mask, b, h, true);
      softmax_rows(p, dm.nq, dm.nk, lse.data());
      if (lse_out) std::copy(lse.begin(), lse.end(), lse_out->begin() + static_cast<std::ptrdiff_t>((b * dm.heads + h) * dm.nq));
      const std::size_t kvh = h / (dm.heads / dm.kv_heads);
      const float* vb = v.data() + (b * dm.kv_heads + kvh) * dm.nk * dm.dv;
      for (std::size_t i = 0; i < dm.nq; ++i) {
        double* acc = out.data() + ((b * dm.heads + h) * dm.nq + i) * dm.dv;
        for (std::size_t j = 0; j < dm.nk; ++j) {
          const double pij = p[i * dm.nk + j];
          if (pij == 0) continue;
          for (std::size_t c = 0; c < dm.dv; ++c) acc[c] += pij * vb[j * dm.dv + c];
          for (const auto& vt : e.value) {
            const auto r = static_cast<std::size_t>(relation_index(vt.relation, b, i, j));
            for (std::size_t c = 0; c < dm.dv; ++c) acc[c] += pij * vt.table(head_of(vt.table, h), r, c);
          }
        }
      }
    }
  return out;
}

}  // namespace detail

Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e,
                           const AttentionOptions& opts, AttentionStats* stats) {
  std::vector<double> lse;
  const std::vector<double> o = detail::attention_reference_f64(q, k, v, e, opts, stats ? &lse : nullptr);
  Tensor out = Tensor::from_shape({q.shape()[0], q.shape()[1], q.shape()[2], v.shape()[3]});
  std::transform(o.begin(), o.end(), out.data(), [](double x) { return static_cast<float>(x); });
  if (stats) {
    stats->log_sum_exp = Tensor::from_shape({q.shape()[0], q.shape()[1], q.shape()[2]});
    std::transform(lse.begin(), lse.end(), stats->log_sum_exp.data(), [](double x) { return static_cast<float>(x); });
  }
  return out;
}

Tensor attention_scores(const Tensor& q, const Tensor& k, const Encoding& e, const AttentionOptions& opts) {
  const Dims dm = detail::check_attention("attention_scores", q, k, nullptr, e, opts);
  Tensor out = Tensor::from_shape({dm.batch, dm.heads, dm.nq, dm.nk});
  for (std::size_t b = 0; b < dm.batch; ++b)
    for (std::size_t h = 0; h < dm.heads; ++h) {
      const auto s = reference_logits(q, k, e, dm, opts.mask, b, h, false);
      std::copy(s.begin(), s.end(), out.data() + (b * dm.heads + h) * dm.nq * dm.nk);
    }
  return out;
}

Tensor attention_weights(const Tensor& q, const Tensor& k, const Encoding& e, const AttentionOptions& opts) {
  const Dims dm = detail::check_attention("attention_weights", q, k, nullptr, e, opts);
  Tensor out = Tensor::from_shape({dm.batch, dm.heads, dm.nq, dm.nk});
  for (std::size_t b = 0; b < dm.batch; ++b)
    for (std::size_t h = 0; h < dm.heads; ++h) {
      auto s = reference_logits(q, k, e, dm, opts.mask, b, h, true);
      softmax_rows(s, dm.nq, dm.nk);
      std::copy(s.begin(), s.end(), out.data() + (b * dm.heads + h) * dm.nq * dm.nk);
    }
  return out;
}

}  // namespace posenc
