// Inspection of a trained model for pictures: the attention weights of the last forward.
#include "posenc/model.hpp"
#include "train/common.hpp"

namespace posenc::train {

std::vector<Tensor> TransformerTrunk::last_attention_weights() const {
  if (score_enc_.empty()) detail::fail("TransformerTrunk::last_attention_weights", "called before forward");
  std::vector<Tensor> out;
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    const auto& cache = blocks_[l].last_cache();
    out.push_back(attention_weights(cache.q, cache.k, score_enc_[positions_.size() == 1 ? 0 : l], options_));
  }
  return out;
}

}  // namespace posenc::train
