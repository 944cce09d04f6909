// Catalogue entries of posenc/text.hpp and posenc/sinusoid.hpp: sinusoidal, learned absolute,
// ALiBi, T5 buckets, the learnable relative bias, NoPE.
#include "catalogue/define.hpp"
#include "posenc/text.hpp"

namespace posenc::catalogue::detail {

namespace {

// [Nq, Nk] of direction * (p_key - p_query) (relation.npy of ALiBi).
ITensor offsets(const TextPositions& pos, int direction) {
  const DTensor k = pos.keys(), q = pos.queries();
  ITensor r = ITensor::from_shape({q.shape()[1], k.shape()[1]});
  for (std::size_t i = 0; i < r.shape()[0]; ++i)
    for (std::size_t j = 0; j < r.shape()[1]; ++j)
      r(i, j) = direction * static_cast<std::int64_t>(k.data()[j] - q.data()[i]);
  return r;
}

Built with_tokens(Built b, const TextPositions& pos) {
  b.tokens = pos.n_key();
  b.query_tokens = pos.n_query();
  return b;
}

struct SinusoidalP {
  SinusoidOptions o;
  TextPositions pos;
};
Entry sinusoidal_entry() {
  using P = SinusoidalP;
  Def<P> d("sinusoidal", "fixed sin/cos table added to the embeddings", "input_add",
           "Vaswani et al. 2017; tensor2tensor get_timing_signal_1d; fairseq", "text");
  d.preset([](P& p) { p.o.dim = 512; })
      .field("dim", [](P& p) -> auto& { return p.o.dim; }, "model width d")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "wavelength base")
      .field("layout", [](P& p) -> auto& { return p.o.layout; }, "interleaved (s0,c0,s1,c1,..) or blocked [sin | cos]")
      .field("exponent", [](P& p) -> auto& { return p.o.exponent; },
             "paper: base^(-2k/d); t2t: base^(-k/(m-1)) (fairseq, TENER)")
      .field("odd_zero_channel", [](P& p) -> auto& { return p.o.odd_zero_channel; },
             "odd d, interleaved: zero last channel instead of dropping");
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    Built b = absolute(sinusoidal(p.pos.keys(), p.o));
    b.arrays.emplace_back("frequencies", to_double(sinusoid_frequencies(p.o)));
    return with_tokens(std::move(b), p.pos);
  });
  d.into("input_add", [](const P& p, std::span<float> out) {
    p.pos.n_query();  // the query_tokens build() checks, though the table is over the keys
    sinusoid_table_into(static_cast<std::int64_t>(p.pos.n_key()), p.o, out, p.pos.offset);
  });
  return d.finish();
}

struct LearnedP {
  std::int64_t dim = 512, max_position_embeddings = 512;
  Init init;
  std::optional<Tensor> table;
  TextPositions pos;
};
Entry learned_entry() {
  using P = LearnedP;
  Def<P> d("learned", "learned absolute table E[p] added to the embeddings", "input_add",
           "BERT / GPT-2 (HF BertEmbeddings)", "text");
  d.member("dim", &P::dim, "model width d").member("max_position_embeddings", &P::max_position_embeddings, "table rows L_max");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("table", &P::table, "load the table [L_max, d] instead of initialising it", "table")
      .table({"table", "table", "[max_position_embeddings, dim]", "learned_table_init: N(0, std^2)", "std", "seed", ""});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const Tensor table = p.table ? *p.table
                                 : learned_table_init(p.max_position_embeddings, p.dim, p.init.std, seed_of(p.init.seed));
    Built b;
    b.encoding = learned_absolute(table, p.pos.keys());
    b.arrays.emplace_back("table", table);
    b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
    return with_tokens(std::move(b), p.pos);
  });
  return d.finish();
}

struct AlibiP {
  AlibiOptions o;
  std::optional<std::vector<double>> slopes;
  TextPositions pos;
};
Entry alibi_entry() {
  using P = AlibiP;
  Def<P> d("alibi", "linear distance penalty per head", "position-position bias (slope x distance)",
           "Press et al. 2022; ofirpress/attention_with_linear_biases", "text");
  d.preset([](P& p) { p.o.heads = 8; })
      .field("heads", [](P& p) -> auto& { return p.o.heads; }, "number of heads (any; non-powers of two follow the reference)")
      .field("causal", [](P& p) -> auto& { return p.o.causal; }, "causal -m(i-j) (with a causal mask) or symmetric -m|i-j|")
      .field("max_bias", [](P& p) -> auto& { return p.o.max_bias; }, "the 8 in 2^(-8(h+1)/H)")
      .field("fairseq_compat", [](P& p) -> auto& { return p.o.fairseq_compat; }, "causal: +m*j per row as fairseq (same softmax)")
      .member("slopes", &P::slopes, "learnable slopes [heads] instead of 2^(-8(h+1)/H)", "table")
      .table({"slopes", "slopes", "[heads]", "alibi_slopes(heads, max_bias)", "", "", "biases.0.slopes"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const Tensor slopes = to_float(p.slopes ? *p.slopes : alibi_slopes(p.o.heads, p.o.max_bias));
    const DTensor q = p.pos.queries(), k = p.pos.keys();
    Built b;
    b.encoding = p.slopes ? alibi(q, k, slopes, p.o) : alibi(q, k, p.o);
    b.arrays.emplace_back("slopes", slopes);
    ITensor rel = offsets(p.pos, -1);
    if (!p.o.causal) rel = xt::abs(rel);
    b.arrays.emplace_back("relation", rel);
    b.metadata.emplace_back("bias_rule", std::string(p.o.causal ? "b[h,i,j] = -slopes[h] * relation[i,j] for j <= i (causal mask above)"
                                                                : "b[h,i,j] = -slopes[h] * relation[i,j]"));
    b.metadata.emplace_back("causal", p.o.causal);
    return with_tokens(std::move(b), p.pos);
  });
  d.backward([](const P&, const Built&, const EncodingGrad& g) { return Gradients{{"slopes", alibi_backward(g)}}; });
  return d.finish();
}

struct T5P {
  T5Options o;
  std::int64_t heads = 8;
  Init init;
  std::optional<Tensor> table;
  TextPositions pos;
};
Entry t5_entry() {
  using P = T5P;
  Def<P> d("t5", "learned per-head bias over log-spaced relative buckets", "position-position bias (table[rho])",
           "Raffel et al. 2020; HF T5Attention._relative_position_bucket", "text");
  d.member("heads", &P::heads, "number of heads")
      .field("bidirectional", [](P& p) -> auto& { return p.o.bidirectional; }, "encoder (true) or decoder (false)")
      .field("num_buckets", [](P& p) -> auto& { return p.o.num_buckets; }, "buckets B")
      .field("max_distance", [](P& p) -> auto& { return p.o.max_distance; }, "max_distance D");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "N(0, std^2) initialisation of the table");
  d.member("table", &P::table, "load the table [heads, num_buckets] instead", "table")
      .table({"table", "bias_table", "[heads, num_buckets]", "t5_table_init: N(0, std^2)", "std", "seed", "biases.0.table"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const Tensor table = p.table ? *p.table : t5_table_init(p.heads, p.o.num_buckets, p.init.std, seed_of(p.init.seed));
    const DTensor q = p.pos.queries(), k = p.pos.keys();
    Built b;
    b.encoding = t5_bias(q, k, table, p.o);
    ITensor rel = t5_bucket_matrix(q, k, p.o);
    rel.reshape({q.shape()[1], k.shape()[1]});
    b.arrays.emplace_back("relation", rel);
    b.arrays.emplace_back("bias_table", table);
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = bias_table[h, relation[i,j]]"));
    b.metadata.emplace_back("logit_scale", 1.0);
    return with_tokens(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    return Gradients{{"table", t5_bias_backward(p.pos.queries(), p.pos.keys(), built_tensor(b, "bias_table"), p.o, g)}};
  });
  return d.finish();
}

struct RelativeBiasP {
  std::int64_t heads = 8, max_distance = 16;
  Init init;
  std::optional<Tensor> weight;
  TextPositions pos;
};
Entry relative_bias_entry() {
  using P = RelativeBiasP;
  Def<P> d("relative_bias", "learned per-head bias over clipped relative offsets (nn.Embedding(2K+1, H))",
           "position-position bias (weight[rho, h])",
           "learnable relative position bias (T5 without buckets; Shaw-style clipping)", "text");
  d.member("heads", &P::heads, "number of heads")
      .member("max_distance", &P::max_distance, "K: offsets p_j - p_i clipped to [-K, K] (2K + 1 rows)");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("weight", &P::weight, "load the weight [2K + 1, heads] instead", "table")
      .table({"weight", "weight", "[2 max_distance + 1, heads]", "relative_bias_init: N(0, std^2)", "std", "seed",
              "biases.0.table (transposed)"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const Tensor w = p.weight ? *p.weight : relative_bias_init(p.max_distance, p.heads, p.init.std, seed_of(p.init.seed));
    Built b;
    b.encoding = relative_bias(p.pos.queries(), p.pos.keys(), w, p.max_distance);
    b.arrays.emplace_back("relation", relation_2d(b.encoding.biases[0].relation));
    b.arrays.emplace_back("weight", w);
    b.metadata.emplace_back("bias_rule",
                            std::string("b[h,i,j] = weight[relation[i,j], h], relation = clip(p_j - p_i, -K, K) + K"));
    return with_tokens(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    return Gradients{
        {"weight", relative_bias_backward(p.pos.queries(), p.pos.keys(), built_tensor(b, "weight"), p.max_distance, g)}};
  });
  return d.finish();
}

struct NopeP {
  TextPositions pos;
};
Entry nope_entry() {
  Def<NopeP> d("nope", "no positional encoding (an explicit choice)", "nothing",
               "Haviv et al. 2022; Kazemnejad et al. 2023", "text");
  text_positions(d, [](NopeP& p) -> auto& { return p.pos; });
  d.build([](const NopeP& p) {
    Built b;
    b.encoding = nope();
    return with_tokens(std::move(b), p.pos);
  });
  return d.finish();
}

}  // namespace

void add_text(std::vector<Entry>& out) {
  out.push_back(sinusoidal_entry());
  out.push_back(learned_entry());
  out.push_back(alibi_entry());
  out.push_back(t5_entry());
  out.push_back(relative_bias_entry());
  out.push_back(nope_entry());
}

}  // namespace posenc::catalogue::detail
