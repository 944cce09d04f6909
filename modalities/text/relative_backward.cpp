// Backward passes of the relative and learnable text family of
// posenc/relative.hpp. Each maps the EncodingGrad of the builder's own
// Encoding (parts in the order the builder fills them) to the gradients of its
// parameters, recomputing what it needs from the forward. Sums run in double;
// results are float like the parameters.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "detail/activation.hpp"
#include "detail/check.hpp"
#include "detail/grad_parts.hpp"
#include "posenc/gradients.hpp"
#include "posenc/relative.hpp"

namespace posenc {

namespace {

using detail::activate;
using detail::activate_grad;
using detail::float_grad;
using detail::part_entry;
using detail::part_grad;
using detail::part_shape;
using detail::sigmoid;
using detail::softplus;

/// Positions [B|1, N, m] (finite) and d_encoding [B'|1, N, d] with B' = B or positions shared
/// (B = 1). Returns d_encoding summed down to the positions' batch: [B, N, d].
Tensor mlp_output_grad(const char* fn, const DTensor& positions, std::size_t m, const Tensor& d_encoding,
                       std::size_t d) {
  if (positions.dimension() != 3 || positions.shape()[2] != m || positions.shape()[1] == 0)
    detail::fail(fn, "parameter 'positions' must be [B|1, tokens, ", m, "], got ", shape_string(positions));
  for (double v : positions)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'positions' holds a non-finite value ", v);
  return part_grad(fn, "input_add (d_encoding)", d_encoding, {positions.shape()[0], positions.shape()[1], d});
}

/// Two-layer MLP backward for one row: given the input x [in], the pre-activation z [h] and the
/// output gradient g [out], accumulate d W_2, d b_2, d W_1, d b_1 and (when dx is not null)
/// write the input gradient W_1^T dz to dx. a_z and dz are [h] scratch.
struct MlpSlices {
  const float* w1;  // [h, in]
  const float* w2;  // [out, h]
  double *dw1, *db1, *dw2, *db2;
};

void mlp_row_backward(const MlpSlices& s, Activation act, const double* x, const double* z, const float* g,
                      std::size_t in, std::size_t h, std::size_t out, std::vector<double>& a_z,
                      std::vector<double>& dz, double* dx) {
  for (std::size_t k = 0; k < h; ++k) a_z[k] = activate(act, z[k]);
  for (std::size_t o = 0; o < out; ++o) {
    const double go = g[o];
    s.db2[o] += go;
    double* row = s.dw2 + o * h;
    for (std::size_t k = 0; k < h; ++k) row[k] += go * a_z[k];
  }
  for (std::size_t k = 0; k < h; ++k) {
    double a = 0;
    for (std::size_t o = 0; o < out; ++o) a += static_cast<double>(s.w2[o * h + k]) * g[o];
    dz[k] = a * activate_grad(act, z[k]);
  }
  for (std::size_t k = 0; k < h; ++k) {
    s.db1[k] += dz[k];
    double* row = s.dw1 + k * in;
    for (std::size_t i = 0; i < in; ++i) row[i] += dz[k] * x[i];
  }
  if (dx != nullptr)
    for (std::size_t i = 0; i < in; ++i) {
      double a = 0;
      for (std::size_t k = 0; k < h; ++k) a += static_cast<double>(s.w1[k * in + i]) * dz[k];
      dx[i] = a;
    }
}

using detail::affine;

}  // namespace

// ====================================================================== Shaw

ShawTables shaw_backward(const DTensor& qp, const DTensor& kp, const ShawTables& tables, const ShawOptions& options,
                         const EncodingGrad& grad) {
  const char* fn = "shaw_backward";
  const Encoding e = shaw(qp, kp, tables, options);  // validates the arguments
  ShawTables d;
  if (!e.content_position.empty())
    d.key = part_grad(fn, "content_position[0].table", part_entry(fn, "content_position", grad.content_position).table,
                      part_shape(e.content_position[0].table));
  if (!e.value.empty())
    d.value = part_grad(fn, "value[0].table", part_entry(fn, "value", grad.value).table, part_shape(e.value[0].table));
  return d;
}

// ====================================================================== Transformer-XL

TransformerXLParams transformer_xl_backward(const DTensor& qp, const DTensor& kp, const TransformerXLParams& params,
                                            const TransformerXLOptions& options, const EncodingGrad& grad) {
  const char* fn = "transformer_xl_backward";
  const Encoding e = transformer_xl(qp, kp, params, options);  // validates; gives the table's rows
  const RelativeVectors& part = e.content_position[0];
  const RelativeVectorsGrad& g = part_entry(fn, "content_position", grad.content_position);
  const Tensor da = part_grad(fn, "content_position[0].table", g.table, part_shape(part.table));
  TransformerXLParams d;
  d.v = part_grad(fn, "content_position[0].query_bias", g.query_bias, part_shape(part.query_bias));
  d.u = part_grad(fn, "content_bias", grad.content_bias, part_shape(e.content_bias));
  const auto h = static_cast<std::size_t>(options.heads), dh = static_cast<std::size_t>(options.head_dim),
             dm = static_cast<std::size_t>(options.d_model), rows = part.table.shape()[1];
  const Tensor r = transformer_xl_sinusoid(static_cast<std::int64_t>(rows), options.d_model);
  // d W_R[hh dh + c, m] = sum_row da[hh, row, c] R[row, m]
  std::vector<double> acc(h * dh * dm, 0.0);
  for (std::size_t hh = 0; hh < h; ++hh)
    for (std::size_t row = 0; row < rows; ++row) {
      const float* rr = r.data() + row * dm;
      for (std::size_t c = 0; c < dh; ++c) {
        const double gc = da(hh, row, c);
        if (gc == 0) continue;
        double* out = acc.data() + (hh * dh + c) * dm;
        for (std::size_t m = 0; m < dm; ++m) out[m] += gc * rr[m];
      }
    }
  d.w_r = float_grad(acc, {h * dh, dm});
  return d;
}

// ====================================================================== TENER

TenerParams tener_backward(const DTensor& qp, const DTensor& kp, const TenerParams& params, const TenerOptions& options,
                           const EncodingGrad& grad) {
  const char* fn = "tener_backward";
  const Encoding e = tener(qp, kp, params, options);  // validates the arguments
  const RelativeVectorsGrad& g = part_entry(fn, "content_position", grad.content_position);
  const Tensor d_content = part_grad(fn, "content_bias", grad.content_bias, part_shape(e.content_bias));
  const Tensor d_query = part_grad(fn, "content_position[0].query_bias", g.query_bias,
                                   part_shape(e.content_position[0].query_bias));
  // Code form: content_bias = v, query bias = u. Paper form: content_bias = u, query bias = v.
  if (options.paper_form) return {d_content, d_query};
  return {d_query, d_content};
}

// ====================================================================== Huang et al.

Tensor huang_backward(const DTensor& qp, const DTensor& kp, const Tensor& table, const HuangOptions& options,
                      const EncodingGrad& grad) {
  const char* fn = "huang_backward";
  const Encoding e = huang(qp, kp, table, options);  // validates the arguments
  const Shape s = part_shape(table);
  switch (options.method) {
    case 1:
    case 2: return part_grad(fn, "multipliers[0].table", part_entry(fn, "multipliers", grad.multipliers).table, s);
    case 3:
      return part_grad(fn, "content_weights[0].table",
                       part_entry(fn, "content_weights", grad.content_weights).table, s);
    default: {
      const Tensor a = part_grad(fn, "content_position[0].table",
                                 part_entry(fn, "content_position", grad.content_position).table, s);
      const Tensor b = part_grad(fn, "position_content[0].table",
                                 part_entry(fn, "position_content", grad.position_content).table, s);
      Tensor out = Tensor::from_shape(s);
      for (std::size_t t = 0; t < out.size(); ++t)
        out.data()[t] = static_cast<float>(static_cast<double>(a.data()[t]) + static_cast<double>(b.data()[t]));
      return out;
    }
  }
}

// ====================================================================== DA-Transformer

DaParams da_transformer_backward(const DTensor& qp, const DTensor& kp, const DaParams& params,
                                 const EncodingGrad& grad) {
  const char* fn = "da_transformer_backward";
  const Encoding e = da_transformer(qp, kp, params);  // validates; gives the tabulated distances
  const Tensor g = part_grad(fn, "multipliers[0].table", part_entry(fn, "multipliers", grad.multipliers).table,
                             part_shape(e.multipliers[0].table));
  const std::size_t heads = g.shape()[0], rows = g.shape()[1];
  DaParams d{Tensor::from_shape({heads}), Tensor::from_shape({heads})};
  for (std::size_t h = 0; h < heads; ++h) {
    const double v = params.v(h), w = params.w(h);
    double dv = 0, dw = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      // ln R = softplus(v) - softplus(v - w r): d lnR/dv = s(v) - s(v - w r), d lnR/dw = r s(v - w r).
      const double dist = static_cast<double>(r), x = v - w * dist;
      const double big_r = std::exp(softplus(v) - softplus(x));
      const double gr = static_cast<double>(g(h, r)) * big_r;
      dv += gr * (sigmoid(v) - sigmoid(x));
      dw += gr * dist * sigmoid(x);
    }
    d.v(h) = static_cast<float>(dv);
    d.w(h) = static_cast<float>(dw);
  }
  return d;
}

// ====================================================================== Reformer axial

std::vector<Tensor> reformer_axial_backward(const std::vector<Tensor>& tables, const DTensor& positions,
                                            const EncodingGrad& grad) {
  const char* fn = "reformer_axial_backward";
  const Encoding e = reformer_axial(tables, positions);  // validates the tables and the positions
  const Tensor g = part_grad(fn, "input_add", grad.input_add, part_shape(e.input_add));
  const std::size_t width = g.shape()[2];
  std::vector<std::vector<double>> acc;
  for (const auto& t : tables) acc.emplace_back(t.size(), 0.0);
  std::vector<std::size_t> digit(tables.size());
  for (std::size_t row = 0; row < positions.size(); ++row) {
    auto rest = static_cast<std::uint64_t>(positions.data()[row]);
    for (std::size_t a = tables.size(); a-- > 0;) {  // mixed radix, first axis slowest
      digit[a] = rest % tables[a].shape()[0];
      rest /= tables[a].shape()[0];
    }
    const float* src = g.data() + row * width;
    for (std::size_t a = 0; a < tables.size(); ++a) {
      const std::size_t da = tables[a].shape()[1];
      double* dst = acc[a].data() + digit[a] * da;
      for (std::size_t c = 0; c < da; ++c) dst[c] += src[c];
      src += da;
    }
  }
  std::vector<Tensor> out;
  for (std::size_t a = 0; a < tables.size(); ++a) out.push_back(float_grad(acc[a], part_shape(tables[a])));
  return out;
}

// ====================================================================== continuous MLP

ContinuousMlpGrads ContinuousMlp::backward(const DTensor& positions, const Tensor& d_encoding) const {
  const char* fn = "ContinuousMlp::backward";
  const auto m = static_cast<std::size_t>(config_.input_dim), h = static_cast<std::size_t>(config_.hidden),
             d = static_cast<std::size_t>(config_.output_dim);
  const Tensor g = mlp_output_grad(fn, positions, m, d_encoding, d);
  std::vector<double> dw1(h * m, 0.0), db1(h, 0.0), dw2(d * h, 0.0), db2(d, 0.0);
  const MlpSlices s{w1.data(), w2.data(), dw1.data(), db1.data(), dw2.data(), db2.data()};
  std::vector<double> x(m), z(h), a_z(h), dz(h);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t a = 0; a < m; ++a) {
      const double p = positions.data()[r * m + a];
      x[a] = config_.scaling == PositionScaling::none     ? p
             : config_.scaling == PositionScaling::divide ? p / config_.reference_length
                                                          : 2 * p / config_.reference_length - 1;
    }
    affine(w1.data(), b1.data(), x.data(), m, h, z.data());
    mlp_row_backward(s, config_.activation, x.data(), z.data(), g.data() + r * d, m, h, d, a_z, dz, nullptr);
  }
  return {float_grad(dw1, part_shape(w1)), float_grad(db1, part_shape(b1)), float_grad(dw2, part_shape(w2)),
          float_grad(db2, part_shape(b2))};
}

// ====================================================================== learned Fourier features

LearnedFourierGrads LearnedFourier::backward(const DTensor& positions, const Tensor& d_encoding) const {
  const char* fn = "LearnedFourier::backward";
  const auto ng = static_cast<std::size_t>(config_.groups), m = static_cast<std::size_t>(config_.input_dim),
             f = static_cast<std::size_t>(config_.fourier_dim), h = static_cast<std::size_t>(config_.hidden),
             dg = static_cast<std::size_t>(config_.output_dim / config_.groups);
  const Tensor g = mlp_output_grad(fn, positions, ng * m, d_encoding, ng * dg);
  const double norm = 1.0 / std::sqrt(static_cast<double>(f));
  std::vector<double> dwr(w_r.size(), 0.0), dw1(w1.size(), 0.0), db1(b1.size(), 0.0), dw2(w2.size(), 0.0),
      db2(b2.size(), 0.0);
  std::vector<double> proj(f / 2), feat(f), z(h), a_z(h), dz(h), dfeat(f);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  for (std::size_t r = 0; r < rows; ++r) {
    const double* x = positions.data() + r * ng * m;
    for (std::size_t gg = 0; gg < ng; ++gg) {
      const double* xg = x + gg * m;
      for (std::size_t k = 0; k < f / 2; ++k) {
        double t = 0;
        for (std::size_t a = 0; a < m; ++a) t += static_cast<double>(w_r(gg, k, a)) * xg[a];
        proj[k] = t;
        feat[k] = norm * std::cos(t);
        feat[f / 2 + k] = norm * std::sin(t);
      }
      affine(w1.data() + gg * h * f, b1.data() + gg * h, feat.data(), f, h, z.data());
      const MlpSlices s{w1.data() + gg * h * f, w2.data() + gg * dg * h, dw1.data() + gg * h * f,
                        db1.data() + gg * h, dw2.data() + gg * dg * h, db2.data() + gg * dg};
      mlp_row_backward(s, Activation::gelu, feat.data(), z.data(), g.data() + r * ng * dg + gg * dg, f, h, dg,
                       a_z, dz, dfeat.data());
      for (std::size_t k = 0; k < f / 2; ++k) {
        // d cos(t)/dt = -sin(t), d sin(t)/dt = cos(t)
        const double dt = norm * (-std::sin(proj[k]) * dfeat[k] + std::cos(proj[k]) * dfeat[f / 2 + k]);
        double* row = dwr.data() + (gg * (f / 2) + k) * m;
        for (std::size_t a = 0; a < m; ++a) row[a] += dt * xg[a];
      }
    }
  }
  return {float_grad(dwr, part_shape(w_r)), float_grad(dw1, part_shape(w1)), float_grad(db1, part_shape(b1)),
          float_grad(dw2, part_shape(w2)), float_grad(db2, part_shape(b2))};
}

}  // namespace posenc
