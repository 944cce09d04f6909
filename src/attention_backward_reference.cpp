// The reference backward: the gradient of the four-term formula of
// posenc/encoding.hpp, written element by element in double (the oracle of
// the streaming backward). See posenc/gradients.hpp for the formulas.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/attention_common.hpp"
#include "detail/check.hpp"
#include "detail/relation_eval.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

namespace {

using detail::Dims;
using detail::head_of;
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

std::size_t batch_of(const auto& t, std::size_t b) { return t.shape()[0] == 1 ? 0 : b; }

/// Channel indices of rotated pair k.
std::pair<std::size_t, std::size_t> pair_channels(const Rotation& r, std::size_t k) {
  const std::size_t pairs = static_cast<std::size_t>(r.pairs);
  return r.layout == PairLayout::halves ? std::pair{k, k + pairs} : std::pair{2 * k, 2 * k + 1};
}

/// Rotation factor of pair k of token n: magnitude * exp(log_scale) and the angle.
std::pair<double, double> pair_factor(const Rotation& r, const DTensor& angles, const DTensor& log_scale,
                                      std::size_t b, std::size_t h, std::size_t n, std::size_t k) {
  const std::size_t bb = angles.shape()[0] == 1 ? 0 : b, hh = angles.shape()[1] == 1 ? 0 : h;
  const double mag = r.magnitude * (is_set(log_scale) ? std::exp(log_scale(bb, hh, n, k)) : 1.0);
  return {mag, angles(bb, hh, n, k)};
}

std::vector<double> rotate(const float* x, std::size_t d, const Rotation& r, const DTensor& angles,
                           const DTensor& log_scale, std::size_t b, std::size_t h, std::size_t n) {
  std::vector<double> out(x, x + d);
  for (std::size_t k = 0; k < static_cast<std::size_t>(r.pairs); ++k) {
    const auto [mag, t] = pair_factor(r, angles, log_scale, b, h, n, k);
    const auto [ia, ib] = pair_channels(r, k);
    out[ia] = mag * (x[ia] * std::cos(t) - x[ib] * std::sin(t));
    out[ib] = mag * (x[ia] * std::sin(t) + x[ib] * std::cos(t));
  }
  return out;
}

/// Back through the rotation of one token: g (gradient of the rotated row xr) -> gradient of the raw
/// row (added to dx); with dangles, also the angle, log-scale (when dlog is non-empty) and magnitude
/// gradients, accumulated into flat vectors with the shape of the angle table.
void unrotate(const std::vector<double>& xr, const std::vector<double>& g, const Rotation& r, const DTensor& angles,
              const DTensor& log_scale, std::size_t b, std::size_t h, std::size_t n, double* dx,
              std::vector<double>* dangles, std::vector<double>* dlog, double* dmag) {
  std::vector<double> raw(g);
  const std::size_t pairs = static_cast<std::size_t>(r.pairs);
  auto row_of = [&](const DTensor& t) {  // flat offset of token n's pairs in a [B|1, H|1, N, pairs] table
    if (t.dimension() != 4) return std::size_t{0};
    const std::size_t bb = t.shape()[0] != 1 ? b : 0, hh = t.shape()[1] != 1 ? h : 0;
    return ((bb * t.shape()[1] + hh) * t.shape()[2] + n) * pairs;
  };
  const std::size_t row = row_of(angles), lrow = row_of(log_scale);
  for (std::size_t k = 0; k < pairs; ++k) {
    const auto [mag, t] = pair_factor(r, angles, log_scale, b, h, n, k);
    const auto [ia, ib] = pair_channels(r, k);
    raw[ia] = mag * (g[ia] * std::cos(t) + g[ib] * std::sin(t));
    raw[ib] = mag * (-g[ia] * std::sin(t) + g[ib] * std::cos(t));
    if (!dangles) continue;
    (*dangles)[row + k] += xr[ia] * g[ib] - xr[ib] * g[ia];
    const double radial = xr[ia] * g[ia] + xr[ib] * g[ib];
    if (dlog && !dlog->empty()) (*dlog)[lrow + k] += radial;
    *dmag += radial / r.magnitude;
  }
  for (std::size_t c = 0; c < g.size(); ++c) dx[c] += raw[c];
}

/// Double accumulators with a part's shape.
struct Acc {
  std::vector<double> v;
  void init(std::size_t n) { v.assign(n, 0.0); }
  void to(Tensor& t) const {
    if (!v.empty()) std::transform(v.begin(), v.end(), t.data(), [](double x) { return static_cast<float>(x); });
  }
};

std::size_t idx(const Relation& rel, std::size_t b, std::size_t i, std::size_t j) {
  return static_cast<std::size_t>(detail::relation_index(rel, b, i, j));
}

/// Everything one call accumulates, in double.
struct RefState {
  const Encoding& e;
  const Dims& dm;
  const GradRequest& req;
  std::vector<double> dq, dk, dv;
  std::vector<Acc> cw, cp, cpb, pc, val, bias, mul;
  Acc u;
  std::vector<double> dqa, dka, dqls, dkls;  // angle / log-scale gradients (flat, part shapes)
  double dmag = 0.0;
};

/// The logit pieces of one (b, h): rotated rows, content weights, pre-activation, g, multiplier product.
struct HeadPieces {
  std::vector<std::vector<double>> qr, kr, w;
  std::vector<double> pre, gact, mprod, s;
};

HeadPieces head_pieces(const RefState& st, const float* qb, const float* kb, const Mask& mask, std::size_t b,
                       std::size_t h) {
  const Encoding& e = st.e;
  const Dims& dm = st.dm;
  const std::size_t d = dm.d, nn = dm.nq * dm.nk;
  HeadPieces hp;
  const Rotation& rot = e.rotation;
  for (std::size_t i = 0; i < dm.nq; ++i) hp.qr.push_back(rotate(qb + i * d, d, rot, rot.query_angles, rot.query_log_scale, b, h, i));
  for (std::size_t j = 0; j < dm.nk; ++j) hp.kr.push_back(rotate(kb + j * d, d, rot, rot.key_angles, rot.key_log_scale, b, h, j));
  hp.pre.resize(nn);
  hp.gact.resize(nn);
  hp.mprod.resize(nn);
  hp.s.resize(nn);
  hp.w.assign(e.content_weights.empty() ? 0 : nn, {});
  for (std::size_t i = 0; i < dm.nq; ++i)
    for (std::size_t j = 0; j < dm.nk; ++j) {
      const std::size_t x = i * dm.nk + j;
      std::vector<double> w(d, 1.0);
      for (const auto& cw : e.content_weights)
        for (std::size_t c = 0; c < d; ++c) w[c] *= cw.table(head_of(cw.table, h), idx(cw.relation, b, i, j), c);
      double acc = 0;
      for (std::size_t c = 0; c < d; ++c) acc += hp.qr[i][c] * hp.kr[j][c] * w[c];
      if (!hp.w.empty()) hp.w[x] = w;
      for (const auto& cp : e.content_position)
        for (std::size_t c = 0; c < d; ++c)
          acc += (double(qb[i * d + c]) + (is_set(cp.query_bias) ? cp.query_bias(head_of(cp.query_bias, h), c) : 0.0f)) *
                 cp.table(head_of(cp.table, h), idx(cp.relation, b, i, j), c);
      for (const auto& pc : e.position_content)
        for (std::size_t c = 0; c < d; ++c) acc += double(kb[j * d + c]) * pc.table(head_of(pc.table, h), idx(pc.relation, b, i, j), c);
      if (is_set(e.content_bias))
        for (std::size_t c = 0; c < d; ++c) acc += double(e.content_bias(head_of(e.content_bias, h), c)) * kb[j * d + c];
      double sij = dm.scale * acc;
      for (const auto& bias : e.biases) {
        if (bias.kind == BiasKind::slope)
          sij -= double(bias.slopes(head_of(bias.slopes, h))) * detail::relation_value(bias.relation, b, i, j);
        else if (bias.kind == BiasKind::table)
          sij += bias.table(head_of(bias.table, h), idx(bias.relation, b, i, j));
        else
          sij += bias.dense(batch_of(bias.dense, b), bias.dense.shape()[1] == 1 ? 0 : h, i, j);
      }
      hp.pre[x] = sij;
      hp.gact[x] = e.score_relu ? std::max(sij, 0.0) : sij;
      hp.mprod[x] = 1.0;
      for (const auto& m : e.multipliers) hp.mprod[x] *= m.table(head_of(m.table, h), idx(m.relation, b, i, j));
      hp.s[x] = detail::visible(mask, dm, b, i, j) ? hp.gact[x] * hp.mprod[x] : kMinusInf;
    }
  return hp;
}

/// Gradients of the parts that act after the scaled content terms (multipliers, ReLU, biases):
/// returns dpre for the logit gradient ds of (i, j).
double backward_after_content(RefState& st, const HeadPieces& hp, std::size_t b, std::size_t h, std::size_t i,
                              std::size_t j, double ds) {
  const Encoding& e = st.e;
  const Dims& dm = st.dm;
  const std::size_t x = i * dm.nk + j;
  for (std::size_t t = 0; t < e.multipliers.size() && st.req.multipliers; ++t) {
    const auto& m = e.multipliers[t];
    double others = hp.gact[x];
    for (std::size_t u = 0; u < e.multipliers.size(); ++u)
      if (u != t) others *= e.multipliers[u].table(head_of(e.multipliers[u].table, h), idx(e.multipliers[u].relation, b, i, j));
    st.mul[t].v[head_of(m.table, h) * static_cast<std::size_t>(m.relation.size) + idx(m.relation, b, i, j)] += ds * others;
  }
  const double dpre = ds * hp.mprod[x] * (e.score_relu && !(hp.pre[x] > 0) ? 0.0 : 1.0);
  for (std::size_t t = 0; t < e.biases.size() && st.req.biases; ++t) {
    const Bias& bs = e.biases[t];
    if (bs.kind == BiasKind::slope)
      st.bias[t].v[head_of(bs.slopes, h)] -= dpre * detail::relation_value(bs.relation, b, i, j);
    else if (bs.kind == BiasKind::table)
      st.bias[t].v[head_of(bs.table, h) * static_cast<std::size_t>(bs.relation.size) + idx(bs.relation, b, i, j)] += dpre;
    else
      st.bias[t].v[((batch_of(bs.dense, b) * bs.dense.shape()[1] + (bs.dense.shape()[1] == 1 ? 0 : h)) * dm.nq + i) * dm.nk + j] += dpre;
  }
  return dpre;
}

/// Gradients of the content terms for dA = d(acc) of (i, j): rotated rows into gqr / gkr, raw rows into st.dq / st.dk.
void backward_content(RefState& st, const HeadPieces& hp, const float* qb, const float* kb, std::size_t b,
                      std::size_t h, std::size_t i, std::size_t j, double da, std::vector<double>& gqr,
                      std::vector<double>& gkr) {
  const Encoding& e = st.e;
  const Dims& dm = st.dm;
  const std::size_t d = dm.d, x = i * dm.nk + j, kvh = h / (dm.heads / dm.kv_heads);
  const bool tables = st.req.relative;
  for (std::size_t c = 0; c < d; ++c) {
    const double w = hp.w.empty() ? 1.0 : hp.w[x][c];
    gqr[c] += da * hp.kr[j][c] * w;
    gkr[c] += da * hp.qr[i][c] * w;
  }
  for (std::size_t t = 0; t < e.content_weights.size() && tables; ++t) {
    const auto& cw = e.content_weights[t];
    const std::size_t off = (head_of(cw.table, h) * static_cast<std::size_t>(cw.relation.size) + idx(cw.relation, b, i, j)) * d;
    for (std::size_t c = 0; c < d; ++c) {
      double others = 1.0;  // product of the other tables' channel c
      for (std::size_t u = 0; u < e.content_weights.size(); ++u)
        if (u != t) others *= e.content_weights[u].table(head_of(e.content_weights[u].table, h), idx(e.content_weights[u].relation, b, i, j), c);
      st.cw[t].v[off + c] += da * hp.qr[i][c] * hp.kr[j][c] * others;
    }
  }
  double* dqi = st.dq.data() + ((b * dm.heads + h) * dm.nq + i) * d;
  double* dkj = st.dk.data() + ((b * dm.kv_heads + kvh) * dm.nk + j) * d;
  for (std::size_t t = 0; t < e.content_position.size(); ++t) {
    const auto& cp = e.content_position[t];
    const std::size_t off = (head_of(cp.table, h) * static_cast<std::size_t>(cp.relation.size) + idx(cp.relation, b, i, j)) * d;
    for (std::size_t c = 0; c < d; ++c) {
      const double a = cp.table.data()[off + c];
      dqi[c] += da * a;
      if (!tables) continue;
      const double cb = is_set(cp.query_bias) ? cp.query_bias(head_of(cp.query_bias, h), c) : 0.0f;
      st.cp[t].v[off + c] += da * (qb[i * d + c] + cb);
      if (is_set(cp.query_bias)) st.cpb[t].v[head_of(cp.query_bias, h) * d + c] += da * a;
    }
  }
  for (std::size_t t = 0; t < e.position_content.size(); ++t) {
    const auto& pc = e.position_content[t];
    const std::size_t off = (head_of(pc.table, h) * static_cast<std::size_t>(pc.relation.size) + idx(pc.relation, b, i, j)) * d;
    for (std::size_t c = 0; c < d; ++c) {
      dkj[c] += da * pc.table.data()[off + c];
      if (tables) st.pc[t].v[off + c] += da * kb[j * d + c];
    }
  }
  if (is_set(e.content_bias))
    for (std::size_t c = 0; c < d; ++c) {
      dkj[c] += da * e.content_bias(head_of(e.content_bias, h), c);
      if (tables) st.u.v[head_of(e.content_bias, h) * d + c] += da * kb[j * d + c];
    }
}

/// One (b, h): softmax, dS, and everything it feeds.
void backward_head(RefState& st, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& d_out,
                   const Mask& mask, std::size_t b, std::size_t h) {
  const Encoding& e = st.e;
  const Dims& dm = st.dm;
  const std::size_t d = dm.d, dvw = dm.dv, kvh = h / (dm.heads / dm.kv_heads);
  const float* qb = q.data() + (b * dm.heads + h) * dm.nq * d;
  const float* kb = k.data() + (b * dm.kv_heads + kvh) * dm.nk * d;
  const float* vb = v.data() + (b * dm.kv_heads + kvh) * dm.nk * dvw;
  const float* gob = d_out.data() + (b * dm.heads + h) * dm.nq * dvw;
  const HeadPieces hp = head_pieces(st, qb, kb, mask, b, h);
  std::vector<std::vector<double>> gqr(dm.nq, std::vector<double>(d, 0.0)), gkr(dm.nk, std::vector<double>(d, 0.0));
  for (std::size_t i = 0; i < dm.nq; ++i) {
    const double* srow = hp.s.data() + i * dm.nk;
    const double mx = *std::max_element(srow, srow + dm.nk);
    if (mx == kMinusInf) continue;  // fully masked row: zero output, zero gradient
    std::vector<double> p(dm.nk), dp(dm.nk, 0.0);
    double sum = 0;
    for (std::size_t j = 0; j < dm.nk; ++j) sum += (p[j] = std::exp(srow[j] - mx));
    const float* go = gob + i * dvw;
    double dsum = 0;
    for (std::size_t j = 0; j < dm.nk; ++j) {
      p[j] /= sum;
      if (p[j] == 0) continue;
      for (std::size_t c = 0; c < dvw; ++c) {
        dp[j] += double(go[c]) * vb[j * dvw + c];
        st.dv[((b * dm.kv_heads + kvh) * dm.nk + j) * dvw + c] += p[j] * go[c];
      }
      for (std::size_t t = 0; t < e.value.size(); ++t) {
        const auto& vt = e.value[t];
        const std::size_t off = (head_of(vt.table, h) * static_cast<std::size_t>(vt.relation.size) + idx(vt.relation, b, i, j)) * dvw;
        for (std::size_t c = 0; c < dvw; ++c) {
          dp[j] += double(go[c]) * vt.table.data()[off + c];
          if (st.req.relative) st.val[t].v[off + c] += p[j] * go[c];
        }
      }
      dsum += p[j] * dp[j];
    }
    for (std::size_t j = 0; j < dm.nk; ++j) {
      if (p[j] == 0) continue;
      const double dpre = backward_after_content(st, hp, b, h, i, j, p[j] * (dp[j] - dsum));
      backward_content(st, hp, qb, kb, b, h, i, j, dm.scale * dpre, gqr[i], gkr[j]);
    }
  }
  // back through the rotation, once per token
  const Rotation& rot = e.rotation;
  const bool rg = st.req.rotation;
  for (std::size_t i = 0; i < dm.nq; ++i)
    unrotate(hp.qr[i], gqr[i], rot, rot.query_angles, rot.query_log_scale, b, h, i,
             st.dq.data() + ((b * dm.heads + h) * dm.nq + i) * d, rg ? &st.dqa : nullptr, &st.dqls, &st.dmag);
  for (std::size_t j = 0; j < dm.nk; ++j)
    unrotate(hp.kr[j], gkr[j], rot, rot.key_angles, rot.key_log_scale, b, h, j,
             st.dk.data() + ((b * dm.kv_heads + kvh) * dm.nk + j) * d, rg ? &st.dka : nullptr, &st.dkls, &st.dmag);
}

std::vector<Acc> part_accs(const auto& parts, bool on, auto member) {
  std::vector<Acc> a(parts.size());
  if (on)
    for (std::size_t t = 0; t < parts.size(); ++t) a[t].init((parts[t].*member).size());
  return a;
}

}  // namespace

AttentionGrads attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e,
                                            const AttentionOptions& opts, const Tensor& out,
                                            const AttentionStats& stats, const Tensor& d_out,
                                            const GradRequest& req) {
  const char* fn = "attention_backward_reference";
  const Dims dm = detail::check_attention(fn, q, k, &v, e, opts);
  detail::check_backward(fn, dm, e, out, stats, d_out, req, false);
  AttentionGrads g = detail::zero_grads(dm, e, req);
  EncodingGrad& eg = g.encoding;
  RefState st{e, dm, req, std::vector<double>(q.size(), 0.0), std::vector<double>(k.size(), 0.0),
              std::vector<double>(v.size(), 0.0), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  st.cw = part_accs(eg.content_weights, req.relative, &RelativeVectorsGrad::table);
  st.cp = part_accs(eg.content_position, req.relative, &RelativeVectorsGrad::table);
  st.cpb = part_accs(eg.content_position, req.relative, &RelativeVectorsGrad::query_bias);
  st.pc = part_accs(eg.position_content, req.relative, &RelativeVectorsGrad::table);
  st.val = part_accs(eg.value, req.relative, &RelativeVectorsGrad::table);
  if (req.relative && is_set(e.content_bias)) st.u.init(e.content_bias.size());
  st.bias.resize(e.biases.size());
  st.mul.resize(e.multipliers.size());
  for (std::size_t t = 0; t < e.biases.size() && req.biases; ++t) {
    const BiasGrad& bg = eg.biases[t];
    st.bias[t].init(bg.slopes.size() * is_set(bg.slopes) + bg.table.size() * is_set(bg.table) + bg.dense.size() * is_set(bg.dense));
  }
  for (std::size_t t = 0; t < e.multipliers.size() && req.multipliers; ++t) st.mul[t].init(e.multipliers[t].table.size());
  if (req.rotation) {
    st.dqa.assign(e.rotation.query_angles.size(), 0.0);
    st.dka.assign(e.rotation.key_angles.size(), 0.0);
    if (is_set(e.rotation.query_log_scale)) st.dqls.assign(e.rotation.query_log_scale.size(), 0.0);
    if (is_set(e.rotation.key_log_scale)) st.dkls.assign(e.rotation.key_log_scale.size(), 0.0);
  }
  for (std::size_t b = 0; b < dm.batch; ++b)
    for (std::size_t h = 0; h < dm.heads; ++h) backward_head(st, q, k, v, d_out, opts.mask, b, h);

  auto to_float = [](const std::vector<double>& src, Tensor& dst) {
    std::transform(src.begin(), src.end(), dst.data(), [](double x) { return static_cast<float>(x); });
  };
  if (req.inputs) {
    to_float(st.dq, g.dq);
    to_float(st.dk, g.dk);
    to_float(st.dv, g.dv);
  }
  for (std::size_t t = 0; t < st.cw.size(); ++t) st.cw[t].to(eg.content_weights[t].table);
  for (std::size_t t = 0; t < st.cp.size(); ++t) {
    st.cp[t].to(eg.content_position[t].table);
    st.cpb[t].to(eg.content_position[t].query_bias);
  }
  for (std::size_t t = 0; t < st.pc.size(); ++t) st.pc[t].to(eg.position_content[t].table);
  for (std::size_t t = 0; t < st.val.size(); ++t) st.val[t].to(eg.value[t].table);
  st.u.to(eg.content_bias);
  for (std::size_t t = 0; t < st.bias.size(); ++t) {
    BiasGrad& bg = eg.biases[t];
    st.bias[t].to(is_set(bg.slopes) ? bg.slopes : is_set(bg.table) ? bg.table : bg.dense);
  }
  for (std::size_t t = 0; t < st.mul.size(); ++t) st.mul[t].to(eg.multipliers[t].table);
  if (req.rotation) {
    std::copy(st.dqa.begin(), st.dqa.end(), eg.rotation.query_angles.begin());
    std::copy(st.dka.begin(), st.dka.end(), eg.rotation.key_angles.begin());
    if (!st.dqls.empty()) std::copy(st.dqls.begin(), st.dqls.end(), eg.rotation.query_log_scale.begin());
    if (!st.dkls.empty()) std::copy(st.dkls.begin(), st.dkls.end(), eg.rotation.key_log_scale.begin());
    eg.rotation.magnitude = st.dmag;
  }
  return g;
}

}  // namespace posenc
