// Catalogue entries of posenc/rotary.hpp: RoPE with the HF rope_type scalings, XPos.
#include "catalogue/define.hpp"
#include "posenc/rotary.hpp"

namespace posenc::catalogue::detail {

namespace {

struct RopeP {
  RopeOptions o;
  TextPositions pos;
};
Entry rope_entry() {
  using P = RopeP;
  Def<P> d("rope", "rotary position embedding with HF rope_type scaling", "rotation (+ magnitude = attention factor)",
           "Su et al. 2021; HF modeling_rope_utils (linear, dynamic, yarn, longrope, llama3)", "rotary");
  d.preset([](P& p) { p.o.head_dim = 64; })
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension")
      .field("rotary_dim", [](P& p) -> auto& { return p.o.rotary_dim; },
             "rotated channels (0 = int(head_dim * partial_rotary_factor))")
      .field("partial_rotary_factor", [](P& p) -> auto& { return p.o.partial_rotary_factor; }, "fraction of head_dim rotated")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "rope_theta")
      .field("layout", [](P& p) -> auto& { return p.o.layout; }, "halves (NeoX/HF Llama) or interleaved (GPT-J/Meta)")
      .field("rope_type", [](P& p) -> auto& { return p.o.scaling; }, "HF rope_type")
      .hint("rope_type", {"rope_scaling", "scaling", "type", "scaling_type"})
      .field("factor", [](P& p) -> auto& { return p.o.factor; }, "scaling factor")
      .field("max_position_embeddings", [](P& p) -> auto& { return p.o.max_position_embeddings; }, "model context L")
      .field("original_max_position_embeddings", [](P& p) -> auto& { return p.o.original_max_position_embeddings; },
             "pretraining context L0")
      .field("beta_fast", [](P& p) -> auto& { return p.o.beta_fast; }, "YaRN")
      .field("beta_slow", [](P& p) -> auto& { return p.o.beta_slow; }, "YaRN")
      .field("mscale", [](P& p) -> auto& { return p.o.mscale; }, "YaRN (0 = unset)")
      .field("mscale_all_dim", [](P& p) -> auto& { return p.o.mscale_all_dim; }, "YaRN (0 = unset)")
      .field("attention_factor", [](P& p) -> auto& { return p.o.attention_factor; }, "YaRN / LongRoPE override")
      .field("truncate", [](P& p) -> auto& { return p.o.truncate; }, "YaRN: floor/ceil the correction range")
      .field("short_factor", [](P& p) -> auto& { return p.o.short_factor; }, "LongRoPE: rotary_dim/2 values")
      .field("long_factor", [](P& p) -> auto& { return p.o.long_factor; }, "LongRoPE: rotary_dim/2 values")
      .field("low_freq_factor", [](P& p) -> auto& { return p.o.low_freq_factor; }, "Llama 3")
      .field("high_freq_factor", [](P& p) -> auto& { return p.o.high_freq_factor; }, "Llama 3")
      .field("sequence_length", [](P& p) -> auto& { return p.o.sequence_length; },
             "current length for dynamic / LongRoPE (0 = offset + tokens)");
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const std::size_t nq = p.pos.n_query(), nk = p.pos.n_key();
    Built b;
    b.encoding = rope(p.pos.queries(), p.pos.keys(), p.o);
    const std::int64_t len = p.o.sequence_length > 0
                                 ? p.o.sequence_length
                                 : static_cast<std::int64_t>(p.pos.offset) + static_cast<std::int64_t>(nk);
    const RopeFrequencies f = rope_frequencies(p.o, len);
    b.arrays.emplace_back("inv_freq", to_double(f.inv_freq));
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    if (nq != nk) b.arrays.emplace_back("query_angles", angles_2d(b.encoding.rotation.query_angles));
    b.metadata.emplace_back("attention_factor", f.attention_factor);
    b.metadata.emplace_back("rotary_dim", f.rotary_dim);
    b.metadata.emplace_back("pairs", f.rotary_dim / 2);
    b.metadata.emplace_back("layout", enum_name(p.o.layout));
    b.metadata.emplace_back("logit_scale_factor", f.attention_factor * f.attention_factor);
    b.tokens = nk;
    b.query_tokens = nq;
    return b;
  });
  return d.finish();
}

struct XposP {
  XposOptions o;
  TextPositions pos;
};
Entry xpos_entry() {
  using P = XposP;
  Def<P> d("xpos", "RoPE with exponential decay of |q.k| with distance", "rotation + log-scales",
           "Sun et al. 2022; microsoft/torchscale xpos_relative_position", "rotary");
  d.preset([](P& p) { p.o.head_dim = 64; })
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension (even)")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "rotation base")
      .field("scale_base", [](P& p) -> auto& { return p.o.scale_base; }, "S in zeta^(n/S)")
      .field("layout", [](P& p) -> auto& { return p.o.layout; }, "pairing (torchscale: interleaved)")
      .field("center", [](P& p) -> auto& { return p.o.center; }, "scale-position origin c (default floor(-(max key + 1)/2))");
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    Built b;
    b.encoding = xpos(p.pos.queries(), p.pos.keys(), p.o);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    b.arrays.emplace_back("query_scale", DTensor(xt::exp(angles_2d(b.encoding.rotation.query_log_scale))));
    b.arrays.emplace_back("key_scale", DTensor(xt::exp(angles_2d(b.encoding.rotation.key_log_scale))));
    b.tokens = p.pos.n_key();
    b.query_tokens = p.pos.n_query();
    return b;
  });
  return d.finish();
}

}  // namespace

void add_rotary(std::vector<Entry>& out) {
  out.push_back(rope_entry());
  out.push_back(xpos_entry());
}

}  // namespace posenc::catalogue::detail
