// Combined position modules ("spatial+degree"): one Encoding from several modules, and each
// module's share of the gradient (posenc/model.hpp, make_position_module).
#include <filesystem>

#include "posenc/encoding.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train::detail {

namespace {

/// Elements [from, from + count) of v.
template <class T>
std::vector<T> slice(const std::vector<T>& v, std::size_t from, std::size_t count) {
  if (v.empty()) return {};
  return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(from),
                        v.begin() + static_cast<std::ptrdiff_t>(from + count));
}

/// g [B, N, D] summed over the batch when the part's own input_add is [1, N, D].
Tensor input_share(const Tensor& g, const Tensor& own) {
  if (!is_set(g) || !is_set(own)) return {};
  if (own.shape()[0] == g.shape()[0]) return g;
  const std::size_t batch = g.shape()[0], per = g.size() / batch;
  Tensor out = Tensor::from_shape({1, g.shape()[1], g.shape()[2]});
  for (std::size_t i = 0; i < per; ++i) {
    double s = 0;
    for (std::size_t b = 0; b < batch; ++b) s += g.data()[b * per + i];
    out.data()[i] = static_cast<float>(s);
  }
  return out;
}

class CombinedModule final : public PositionModule {
 public:
  explicit CombinedModule(std::vector<std::unique_ptr<PositionModule>> parts)
      : PositionModule(join_kinds(parts)), parts_(std::move(parts)) {}

  Encoding build(const PositionInput& in) const override {
    last_.clear();
    Encoding e;
    int rotations = 0, content = 0;
    for (const auto& p : parts_) {
      last_.push_back(p->build(in));
      const Encoding& b = last_.back();
      rotations += b.rotation.empty() ? 0 : 1;
      content += is_set(b.content_bias) || !b.content_position.empty() || !b.position_content.empty() ? 1 : 0;
      e = combine(e, b);
    }
    if (rotations > 1 || content > 1)
      fail("make_position_module", "parameter 'position.kind' = '", kind(),
           "' combines more than one rotation or content-position family");
    return e;
  }

  GradRequest request() const override {
    GradRequest r;
    for (const auto& p : parts_) {
      const GradRequest q = p->request();
      r.rotation |= q.rotation;
      r.relative |= q.relative;
      r.biases |= q.biases;
      r.multipliers |= q.multipliers;
    }
    return r;
  }

  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (last_.size() != parts_.size()) fail("CombinedModule::backward", "called before build");
    std::size_t cw = 0, cp = 0, pc = 0, v = 0, b = 0, m = 0;
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      const Encoding& e = last_[i];
      EncodingGrad s;
      s.input_add = input_share(g.input_add, e.input_add);
      if (!e.rotation.empty()) s.rotation = g.rotation;
      if (is_set(e.content_bias)) s.content_bias = g.content_bias;
      s.content_weights = slice(g.content_weights, cw, e.content_weights.size());
      s.content_position = slice(g.content_position, cp, e.content_position.size());
      s.position_content = slice(g.position_content, pc, e.position_content.size());
      s.value = slice(g.value, v, e.value.size());
      s.biases = slice(g.biases, b, e.biases.size());
      s.multipliers = slice(g.multipliers, m, e.multipliers.size());
      cw += e.content_weights.size();
      cp += e.content_position.size();
      pc += e.position_content.size();
      v += e.value.size();
      b += e.biases.size();
      m += e.multipliers.size();
      parts_[i]->backward(in, s);
    }
  }

  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    for (std::size_t i = 0; i < parts_.size(); ++i) parts_[i]->parameters(prefix + std::to_string(i) + ".", out);
  }

  void export_parameters(const std::string& directory) const override {
    // Parts write distinct file stems in practice; a clash would overwrite, so parts go to subdirectories.
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      const std::string sub = directory + "/" + std::to_string(i) + "_" + parts_[i]->kind();
      std::filesystem::create_directories(sub);
      parts_[i]->export_parameters(sub);
    }
  }

  /// The parts in order (for pictures).
  const std::vector<std::unique_ptr<PositionModule>>& parts() const { return parts_; }

 private:
  static std::string join_kinds(const std::vector<std::unique_ptr<PositionModule>>& parts) {
    std::string k;
    for (const auto& p : parts) k += (k.empty() ? "" : "+") + p->kind();
    return k;
  }
  std::vector<std::unique_ptr<PositionModule>> parts_;
  mutable std::vector<Encoding> last_;  ///< each part's encoding of the last build (gradient split)
};

}  // namespace

std::unique_ptr<PositionModule> combine_modules(std::vector<std::unique_ptr<PositionModule>> parts) {
  return std::make_unique<CombinedModule>(std::move(parts));
}

}  // namespace posenc::train::detail
