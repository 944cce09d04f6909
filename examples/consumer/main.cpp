// The README example: RoPE + ALiBi through the shared attention core, from an installed posenc.
#include <posenc/posenc.hpp>

#include <cmath>
#include <iostream>

int main() {
  using namespace posenc;
  const std::size_t batch = 1, heads = 8, tokens = 256, dim = 64;
  Tensor q = xt::ones<float>({batch, heads, tokens, dim}), k = q, v = q;   // your projections here
  const DTensor pos = text_positions(tokens);                              // [1, 256, 1]
  const Encoding enc = combine(rope(pos, {.head_dim = dim}),               // rotation of q and k
                               alibi(pos, {.heads = heads}));              // per-tile linear bias
  AttentionOptions opts;
  opts.mask.causal = true;
  const Tensor out = attention(q, k, v, enc, opts);                        // [1, 8, 256, 64], streaming
  std::cout << "posenc consumer: attention output " << shape_string(out) << ", out[0,0,255,0] = " << out(0, 0, 255, 0)
            << "\n";
  return std::abs(out(0, 0, 255, 0) - 1.0f) < 1e-5f ? 0 : 1;  // v is all ones, so every output is 1
}
