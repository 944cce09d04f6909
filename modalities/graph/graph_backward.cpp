// Backward of Graphormer's builders (posenc/graph.hpp, "Graphormer backward"): from the
// EncodingGrad the core returns for their Encoding to the learnable tables. Every builder is
// linear in its tables (the edge encoding bilinear in edge_table and hop_weights), so each
// backward is the transpose of the forward's gather; sums run in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "detail/check.hpp"
#include "edge_bias_args.hpp"
#include "posenc/graph.hpp"

namespace posenc {

namespace {

/// The one bias of a builder's Encoding, as its gradient mirrors it.
const BiasGrad& only_bias(const char* fn, const EncodingGrad& grad) {
  if (grad.biases.size() != 1)
    detail::fail(fn, "parameter 'grad' must hold one bias gradient (the builder's one bias), got ",
                 grad.biases.size(), " (request biases from attention_backward)");
  return grad.biases[0];
}

void require_shape(const char* fn, const char* what, const Tensor& t, const Shape& want) {
  if (!is_set(t))
    detail::fail(fn, "parameter 'grad': ", what, " is empty, expected ", shape_string(want),
                 " (was the part requested from the backward?)");
  if (Shape(t.shape().begin(), t.shape().end()) != want)
    detail::fail(fn, "parameter 'grad': ", what, " must be ", shape_string(want), ", got ", shape_string(t));
}

Tensor to_float(const std::vector<double>& acc, const Shape& shape) {
  Tensor out = Tensor::from_shape(shape);
  std::transform(acc.begin(), acc.end(), out.data(), [](double v) { return static_cast<float>(v); });
  return out;
}

/// Zero the gradient where the parameter itself is -inf (a masked entry carries no probability).
void zero_masked(Tensor& grad, const Tensor& param) {
  for (std::size_t t = 0; t < grad.size(); ++t)
    if (std::isinf(param.data()[t]) && param.data()[t] < 0) grad.data()[t] = 0.0f;
}

}  // namespace

// ====================================================================== spatial encoding

GraphormerSpatialGrad graphormer_spatial_backward(const Graph& g, const Tensor& table, const Tensor& graph_token,
                                                  const GraphormerSpatialOptions& o, const EncodingGrad& grad) {
  const char* fn = "graphormer_spatial_backward";
  (void)g;  // the table gradient is already gathered per index by the core
  if (o.num_spatial < 3) detail::fail(fn, "parameter 'num_spatial' must be >= 3, got ", o.num_spatial);
  const auto ns = static_cast<std::size_t>(o.num_spatial);
  if (table.dimension() != 2 || table.shape()[1] != ns || table.shape()[0] == 0)
    detail::fail(fn, "parameter 'table' must be [H|1, num_spatial = ", ns, "], got ", shape_string(table));
  const std::size_t heads = table.shape()[0];
  if (o.graph_token && (graph_token.dimension() != 1 || (graph_token.shape()[0] != heads && graph_token.shape()[0] != 1)))
    detail::fail(fn, "parameter 'graph_token' must be [H|1] (H = ", heads, ") with options.graph_token, got ",
                 shape_string(graph_token));
  // The forward's full table [heads, num_spatial + 2]: the table's columns, the graph token's
  // (num_spatial) and the masked one (num_spatial + 1, -inf: never read here).
  const std::size_t cols = ns + 2;
  const Tensor& gt = only_bias(fn, grad).table;
  require_shape(fn, "biases[0].table", gt, {heads, cols});
  GraphormerSpatialGrad out;
  out.table = Tensor::from_shape({heads, ns});
  for (std::size_t h = 0; h < heads; ++h) std::copy_n(gt.data() + h * cols, ns, out.table.data() + h * ns);
  zero_masked(out.table, table);
  if (o.graph_token) {
    const std::size_t tk = graph_token.shape()[0];  // heads, or 1 shared by the heads
    std::vector<double> dtoken(tk, 0.0);
    for (std::size_t h = 0; h < heads; ++h) dtoken[tk == 1 ? 0 : h] += gt(h, ns);
    out.graph_token = to_float(dtoken, {tk});
    zero_masked(out.graph_token, graph_token);
  }
  return out;
}

// ====================================================================== centrality

GraphormerCentralityGrad graphormer_centrality_backward(const Graph& g, const Tensor& in_table, const Tensor& out_table,
                                                        const GraphormerCentralityOptions& o, const EncodingGrad& grad) {
  const char* fn = "graphormer_centrality_backward";
  if (o.max_degree < 0) detail::fail(fn, "parameter 'max_degree' must be >= 0, got ", o.max_degree);
  if (o.prefix_tokens < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", o.prefix_tokens);
  const auto rows = static_cast<std::size_t>(o.max_degree) + 2;
  for (const auto* t : {&in_table, &out_table})
    if (t->dimension() != 2 || t->shape()[0] != rows || t->shape()[1] != in_table.shape()[1] || t->shape()[1] == 0)
      detail::fail(fn, "parameters 'in_table' and 'out_table' must both be [max_degree + 2 = ", rows, ", D], got ",
                   shape_string(in_table), " and ", shape_string(out_table));
  const std::size_t n = static_cast<std::size_t>(g.nodes()), p = static_cast<std::size_t>(o.prefix_tokens),
                    dim = in_table.shape()[1];
  require_shape(fn, "input_add", grad.input_add, {1, p + n, dim});
  // The same rows as the forward: the in-degree (or, with row_sum_compat, the out-degree) and the out-degree.
  const ITensor din = degrees(g, o.row_sum_compat ? DegreeKind::out : DegreeKind::in);
  const ITensor dout = degrees(g, DegreeKind::out);
  auto row = [&](std::int64_t deg, std::size_t node) {
    if (deg > o.max_degree && !o.clip)
      detail::fail(fn, "node ", node, " has degree ", deg, " above max_degree ", o.max_degree, " (clip = false)");
    return static_cast<std::size_t>(std::min(deg, o.max_degree)) + 1;
  };
  std::vector<double> din_acc(rows * dim, 0.0), dout_acc(rows * dim, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const float* gi = grad.input_add.data() + (p + i) * dim;
    double* a = din_acc.data() + row(din(i), i) * dim;
    double* b = dout_acc.data() + row(dout(i), i) * dim;
    for (std::size_t c = 0; c < dim; ++c) {
      a[c] += gi[c];
      b[c] += gi[c];
    }
  }
  GraphormerCentralityGrad out;
  out.in_table = to_float(din_acc, {rows, dim});
  out.out_table = to_float(dout_acc, {rows, dim});
  return out;
}

// ====================================================================== edge encoding

GraphormerEdgeGrad graphormer_edge_bias_backward(const Graph& g, const ITensor& ids, const Tensor& table,
                                                 const Tensor& hop_weights, const GraphormerEdgeOptions& o,
                                                 const EncodingGrad& grad) {
  const char* fn = "graphormer_edge_bias_backward";
  if (o.max_hops < 1) detail::fail(fn, "parameter 'max_hops' must be >= 1, got ", o.max_hops);
  const detail::EdgeBiasDims dims = detail::check_edge_bias_args(fn, g, ids, table, hop_weights, o);
  const std::size_t E = dims.E, H = dims.H, C = dims.C, R = dims.R, D = dims.D;
  const std::size_t n = static_cast<std::size_t>(g.nodes()), p = o.graph_token ? 1 : 0;
  const Tensor& G = only_bias(fn, grad).dense;
  require_shape(fn, "biases[0].dense", G, {1, H, p + n, p + n});

  // dproj[hop, e, h]: the gradient of the per-hop projected edge embedding, gathered along the paths.
  const ITensor path = shortest_path_edges(g, o.max_hops, o.path);
  const ITensor spd = shortest_path_hops(g);
  std::vector<double> dproj(D * E * H, 0.0);
  const std::size_t plane = (p + n) * (p + n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j || spd(i, j) < 0) continue;
      const auto len = static_cast<std::size_t>(std::min<std::int64_t>(spd(i, j), o.max_hops));
      const double inv = 1.0 / static_cast<double>(len);
      for (std::size_t hop = 0; hop < len; ++hop) {
        double* dst = dproj.data() + (hop * E + static_cast<std::size_t>(path(i, j, hop))) * H;
        for (std::size_t h = 0; h < H; ++h) dst[h] += G.data()[h * plane + (p + i) * (p + n) + p + j] * inv;
      }
    }
  // emb[e, a] as the forward computes it.
  std::vector<double> emb(E * H, 0.0);
  for (std::size_t e = 0; e < E; ++e)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t a = 0; a < H; ++a)
        emb[e * H + a] += table(static_cast<std::size_t>(ids(e, c)), a) / static_cast<double>(C);
  // proj[hop, e, h] = sum_a emb[e, a] W[hop, a, h]: both factors get a gradient.
  std::vector<double> dw(hop_weights.size(), 0.0), demb(E * H, 0.0);
  for (std::size_t hop = 0; hop < D; ++hop)
    for (std::size_t e = 0; e < E; ++e) {
      const double* dp = dproj.data() + (hop * E + e) * H;
      for (std::size_t a = 0; a < H; ++a) {
        double s = 0;
        for (std::size_t h = 0; h < H; ++h) {
          dw[(hop * H + a) * H + h] += emb[e * H + a] * dp[h];
          s += dp[h] * hop_weights(hop, a, h);
        }
        demb[e * H + a] += s;
      }
    }
  std::vector<double> dtable(R * H, 0.0);
  for (std::size_t e = 0; e < E; ++e)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t a = 0; a < H; ++a)
        dtable[static_cast<std::size_t>(ids(e, c)) * H + a] += demb[e * H + a] / static_cast<double>(C);
  GraphormerEdgeGrad out;
  out.edge_table = to_float(dtable, {R, H});
  out.hop_weights = to_float(dw, Shape(hop_weights.shape().begin(), hop_weights.shape().end()));
  return out;
}

}  // namespace posenc
