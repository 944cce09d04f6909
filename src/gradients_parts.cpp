// Gradients of the input-side parts and the broadcast reduction shared by
// every builder's backward (posenc/gradients.hpp).
#include <algorithm>
#include <cmath>
#include <vector>

#include "detail/check.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

GradRequest GradRequest::all(const Encoding& e) {
  GradRequest r;
  r.inputs = true;
  r.rotation = !e.rotation.empty();
  r.relative = !e.content_weights.empty() || !e.content_position.empty() || !e.position_content.empty() ||
               !e.value.empty() || is_set(e.content_bias);
  r.biases = !e.biases.empty();
  r.multipliers = !e.multipliers.empty();
  return r;
}

Tensor reduce_to_shape(const Tensor& grad, const Shape& part) {
  const char* fn = "reduce_to_shape";
  const std::size_t nd = grad.dimension();
  if (part.size() > nd)
    detail::fail(fn, "part shape ", shape_string(part), " has more axes than the gradient ", shape_string(grad));
  // Align the part's axes to the gradient's trailing axes.
  Shape aligned(nd, 1);
  std::copy(part.begin(), part.end(), aligned.begin() + static_cast<std::ptrdiff_t>(nd - part.size()));
  for (std::size_t a = 0; a < nd; ++a)
    if (aligned[a] != 1 && aligned[a] != grad.shape()[a])
      detail::fail(fn, "part shape ", shape_string(part), " does not broadcast to the gradient ", shape_string(grad));
  std::size_t total = 1;
  for (auto s : part) total *= s;
  std::vector<double> acc(total, 0.0);
  // Walk the gradient in row-major order, mapping each element to its part element.
  std::vector<std::size_t> idx(nd, 0), pstride(nd, 0);
  std::size_t st = 1;
  for (std::size_t a = nd; a-- > 0;) {
    pstride[a] = aligned[a] == 1 ? 0 : st;
    st *= aligned[a];
  }
  const float* g = grad.data();
  std::size_t pos = 0;
  for (std::size_t n = 0; n < grad.size(); ++n) {
    acc[pos] += g[n];
    for (std::size_t a = nd; a-- > 0;) {  // odometer increment
      pos += pstride[a];
      if (++idx[a] < grad.shape()[a]) break;
      pos -= pstride[a] * idx[a];
      idx[a] = 0;
    }
  }
  Tensor out = Tensor::from_shape(part);
  std::transform(acc.begin(), acc.end(), out.data(), [](double x) { return static_cast<float>(x); });
  return out;
}

Tensor apply_input_backward(const Encoding& e, const Tensor& x, const Tensor& dy, EncodingGrad& grad) {
  const char* fn = "apply_input_backward";
  if (x.dimension() < 2) detail::fail(fn, "parameter 'x' must be [..., tokens, dim], got ", shape_string(x));
  const std::size_t n = x.shape()[x.dimension() - 2];
  const std::size_t dim = x.shape()[x.dimension() - 1];
  const std::size_t lead = x.size() / std::max<std::size_t>(n * dim, 1);
  const std::size_t dc = is_set(e.input_concat) ? e.input_concat.shape()[2] : 0;
  Shape expect(x.shape().begin(), x.shape().end());
  expect.back() = dim + dc;
  if (Shape(dy.shape().begin(), dy.shape().end()) != expect)
    detail::fail(fn, "parameter 'dy' must have shape ", shape_string(expect), " (the output of apply_input), got ",
                 shape_string(dy));
  for (std::size_t t = 0; t < dy.size(); ++t)
    if (!std::isfinite(dy.data()[t])) detail::fail(fn, "parameter 'dy' holds a non-finite value at flat index ", t);
  auto check_side = [&](const Tensor& t, const char* what) {
    if (t.dimension() != 3 || t.shape()[1] != n || (t.shape()[0] != 1 && t.shape()[0] != lead))
      detail::fail(fn, what, " of shape ", shape_string(t), " does not match 'x' ", shape_string(x));
  };
  Tensor dx = Tensor::from_shape(Shape(x.shape().begin(), x.shape().end()));
  for (std::size_t row = 0; row < lead * n; ++row)
    std::copy_n(dy.data() + row * (dim + dc), dim, dx.data() + row * dim);
  auto reduce_lead = [&](const Tensor& part, std::size_t off, std::size_t width) {
    // part is [B|1, n, width]; the gradient rows are dy[l, t, off:off+width].
    const bool shared = part.shape()[0] == 1;
    std::vector<double> acc(part.size(), 0.0);
    for (std::size_t l = 0; l < lead; ++l)
      for (std::size_t t = 0; t < n; ++t) {
        const float* src = dy.data() + (l * n + t) * (dim + dc) + off;
        double* dst = acc.data() + ((shared ? 0 : l) * n + t) * width;
        for (std::size_t c = 0; c < width; ++c) dst[c] += src[c];
      }
    Tensor out = Tensor::from_shape(Shape(part.shape().begin(), part.shape().end()));
    std::transform(acc.begin(), acc.end(), out.data(), [](double v) { return static_cast<float>(v); });
    return out;
  };
  if (is_set(e.input_add)) {
    check_side(e.input_add, "input_add");
    if (e.input_add.shape()[2] != dim) detail::fail(fn, "input_add has width ", e.input_add.shape()[2], " but 'x' has dim ", dim);
    grad.input_add = reduce_lead(e.input_add, 0, dim);
  }
  if (dc > 0) {
    check_side(e.input_concat, "input_concat");
    grad.input_concat = reduce_lead(e.input_concat, dim, dc);
  }
  return dx;
}

}  // namespace posenc
