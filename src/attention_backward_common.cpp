// Checks and zeroed gradients shared by the two attention backwards (the streaming one in
// attention_backward.cpp and the reference in attention_backward_reference.cpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/attention_common.hpp"
#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

namespace detail {

void check_backward(const char* fn, const Dims& dm, const Encoding& e, const Tensor& out,
                    const AttentionStats& stats, const Tensor& d_out, const GradRequest& req, bool need_stats) {
  const Shape o{dm.batch, dm.heads, dm.nq, dm.dv};
  auto shape_of = [](const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); };
  if (shape_of(d_out) != o)
    fail(fn, "parameter 'd_out' must have the output's shape ", shape_string(o), ", got ", shape_string(d_out));
  if (shape_of(out) != o)
    fail(fn, "parameter 'out' must be the forward's output of shape ", shape_string(o), ", got ", shape_string(out));
  const Shape ls{dm.batch, dm.heads, dm.nq};
  if ((need_stats || is_set(stats.log_sum_exp)) && shape_of(stats.log_sum_exp) != ls)
    fail(fn, "parameter 'stats.log_sum_exp' must be ", shape_string(ls),
         " (run attention(..., &stats) first), got ", shape_string(stats.log_sum_exp));
  for (std::size_t t = 0; t < d_out.size(); ++t)
    if (!std::isfinite(d_out.data()[t]))
      fail(fn, "parameter 'd_out' holds a non-finite value (", d_out.data()[t], ") at flat index ", t);
  for (std::size_t t = 0; t < stats.log_sum_exp.size() && need_stats; ++t)
    if (std::isnan(stats.log_sum_exp.data()[t]) || stats.log_sum_exp.data()[t] == std::numeric_limits<float>::infinity())
      fail(fn, "parameter 'stats.log_sum_exp' holds ", stats.log_sum_exp.data()[t], " at flat index ", t);
  const GradRequest have = GradRequest::all(e);
  if (req.rotation && !have.rotation) fail(fn, "request.rotation asks for rotation gradients but the encoding has no rotation");
  if (req.relative && !have.relative)
    fail(fn, "request.relative asks for relative-term gradients but the encoding has no content_weights, "
             "content_position, position_content, value or content_bias part");
  if (req.biases && !have.biases) fail(fn, "request.biases asks for bias gradients but the encoding has no bias");
  if (req.multipliers && !have.multipliers)
    fail(fn, "request.multipliers asks for multiplier gradients but the encoding has no multiplier");
}

AttentionGrads zero_grads(const Dims& dm, const Encoding& e, const GradRequest& req, bool zero_inputs) {
  AttentionGrads g;
  auto zeros = [](const auto& like) {
    using T = std::decay_t<decltype(like)>;
    T t = T::from_shape(like.shape());
    std::fill(t.begin(), t.end(), 0);
    return t;
  };
  if (req.inputs) {
    g.dq = fresh_tensor<Tensor>(Shape{dm.batch, dm.heads, dm.nq, dm.d});
    g.dk = fresh_tensor<Tensor>(Shape{dm.batch, dm.kv_heads, dm.nk, dm.d});
    g.dv = fresh_tensor<Tensor>(Shape{dm.batch, dm.kv_heads, dm.nk, dm.dv});
    if (zero_inputs)
      for (Tensor* t : {&g.dq, &g.dk, &g.dv}) std::fill(t->begin(), t->end(), 0.0f);
  }
  EncodingGrad& eg = g.encoding;
  if (req.rotation) {
    eg.rotation.query_angles = zeros(e.rotation.query_angles);
    eg.rotation.key_angles = zeros(e.rotation.key_angles);
    if (is_set(e.rotation.query_log_scale)) eg.rotation.query_log_scale = zeros(e.rotation.query_log_scale);
    if (is_set(e.rotation.key_log_scale)) eg.rotation.key_log_scale = zeros(e.rotation.key_log_scale);
  }
  auto rel = [&](const std::vector<RelativeVectors>& parts, std::vector<RelativeVectorsGrad>& out) {
    out.resize(parts.size());
    for (std::size_t t = 0; t < parts.size() && req.relative; ++t) {
      out[t].table = zeros(parts[t].table);
      if (is_set(parts[t].query_bias)) out[t].query_bias = zeros(parts[t].query_bias);
    }
  };
  rel(e.content_weights, eg.content_weights);
  rel(e.content_position, eg.content_position);
  rel(e.position_content, eg.position_content);
  rel(e.value, eg.value);
  if (req.relative && is_set(e.content_bias)) eg.content_bias = zeros(e.content_bias);
  eg.biases.resize(e.biases.size());
  for (std::size_t t = 0; t < e.biases.size() && req.biases; ++t) {
    const Bias& b = e.biases[t];
    if (b.kind == BiasKind::slope) eg.biases[t].slopes = zeros(b.slopes);
    else if (b.kind == BiasKind::table) eg.biases[t].table = zeros(b.table);
    else eg.biases[t].dense = zeros(b.dense);
  }
  eg.multipliers.resize(e.multipliers.size());
  for (std::size_t t = 0; t < e.multipliers.size() && req.multipliers; ++t) eg.multipliers[t].table = zeros(e.multipliers[t].table);
  return g;
}

}  // namespace detail

}  // namespace posenc
