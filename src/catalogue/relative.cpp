// Catalogue entries of posenc/relative.hpp: Shaw, Transformer-XL, TENER, Huang 1-4,
// DA-Transformer, Reformer axial, the continuous MLP and learned Fourier features.
#include "catalogue/define.hpp"
#include "posenc/relative.hpp"

namespace posenc::catalogue::detail {

namespace {

template <class P>
Def<P>& heads_dims(Def<P>& d) {
  d.member("heads", &P::heads, "number of heads").member("head_dim", &P::head_dim, "head dimension");
  return d;
}

Built finish_text(Built b, const TextPositions& pos) {
  b.tokens = pos.n_key();
  b.query_tokens = pos.n_query();
  return b;
}

struct ShawP {
  ShawOptions o;
  std::int64_t heads = 8, head_dim = 64;
  std::optional<std::int64_t> value_dim;
  bool per_head = false;
  Init init;
  std::optional<Tensor> key_table, value_table;
  TextPositions pos;
};
Entry shaw_entry() {
  using P = ShawP;
  Def<P> d("shaw", "learned relative key/value vectors over clipped offsets", "content-position + value (table[rho])",
           "Shaw et al. 2018; tensor2tensor dot_product_attention_relative; HF BERT relative_key", "relative");
  heads_dims(d).member("value_dim", &P::value_dim, "value dimension (default head_dim)")
      .field("clip", [](P& p) -> auto& { return p.o.clip; }, "K: offsets clipped to [-K, K]")
      .member("per_head", &P::per_head, "one table per head (default: shared, as the paper)")
      .field("key_term", [](P& p) -> auto& { return p.o.key_term; }, "q . aK term")
      .field("value_term", [](P& p) -> auto& { return p.o.value_term; }, "aV added to values")
      .field("hf_relative_key", [](P& p) -> auto& { return p.o.hf_relative_key; },
             "HF BERT: i - j over 2L-1 rows, no clipping, key term only")
      .field("max_position_embeddings", [](P& p) -> auto& { return p.o.max_position_embeddings; }, "L for hf_relative_key");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("key_table", &P::key_table, "load aK [H|1, rows, head_dim]", "table")
      .member("value_table", &P::value_table, "load aV [H|1, rows, value_dim]", "table")
      .table({"key_table", "key_table", "[heads|1, rows, head_dim]", "shaw_init: N(0, std^2)", "std", "seed",
              "content_position.0.table"})
      .table({"value_table", "value_table", "[heads|1, rows, value_dim]", "shaw_init: N(0, std^2)", "std", "seed",
              "value.0.table"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    ShawTables t = shaw_init(p.o, p.per_head ? p.heads : 1, p.head_dim, p.value_dim.value_or(p.head_dim), p.init.std,
                             seed_of(p.init.seed));
    if (p.key_table) t.key = *p.key_table;
    if (p.value_table) t.value = *p.value_table;
    Built b;
    b.encoding = shaw(p.pos.queries(), p.pos.keys(), t, p.o);
    const Relation& rel = p.o.key_term ? b.encoding.content_position[0].relation : b.encoding.value[0].relation;
    b.arrays.emplace_back("relation", relation_2d(rel));
    if (p.o.key_term) b.arrays.emplace_back("key_table", t.key);
    if (p.o.value_term && !p.o.hf_relative_key) b.arrays.emplace_back("value_table", t.value);
    b.metadata.emplace_back("score_rule", std::string("s[h,i,j] = (q_i.k_j + q_i.key_table[h|0, relation[i,j]]) / sqrt(d)"));
    return finish_text(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    ShawTables t;
    if (p.o.key_term) t.key = built_tensor(b, "key_table");
    if (p.o.value_term && !p.o.hf_relative_key) t.value = built_tensor(b, "value_table");
    const ShawTables d = shaw_backward(p.pos.queries(), p.pos.keys(), t, p.o, g);
    Gradients out;
    if (is_set(d.key)) out.emplace_back("key_table", d.key);
    if (is_set(d.value)) out.emplace_back("value_table", d.value);
    return out;
  });
  return d.finish();
}

struct TxlP {
  TransformerXLOptions o;
  Init init;
  std::optional<Tensor> w_r, u, v;
  TextPositions pos;
};
Entry transformer_xl_entry() {
  using P = TxlP;
  Def<P> d("transformer_xl", "relative sinusoid projected by W_R, global biases u and v, memory",
           "content-position (+ query bias v) + content bias u",
           "Dai et al. 2019; kimiyoung/transformer-xl RelPartialLearnableMultiHeadAttn", "relative");
  d.preset([](P& p) { p.o.d_model = 512, p.o.heads = 8, p.o.head_dim = 64; })
      .field("d_model", [](P& p) -> auto& { return p.o.d_model; }, "width of the relative sinusoid")
      .field("heads", [](P& p) -> auto& { return p.o.heads; }, "heads")
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension")
      .field("clamp_len", [](P& p) -> auto& { return p.o.clamp_len; }, "cap on the distance (-1: none)");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "N(0, std^2) initialisation of W_R, u, v");
  d.member("w_r", &P::w_r, "load W_R [heads*head_dim, d_model]", "table")
      .member("u", &P::u, "load u [heads, head_dim]", "table")
      .member("v", &P::v, "load v [heads, head_dim]", "table")
      .table({"w_r", "w_r", "[heads*head_dim, d_model]", "transformer_xl_init: N(0, std^2)", "std", "seed",
              "content_position.0.table (through transformer_xl_backward)"})
      .table({"u", "u", "[heads, head_dim]", "transformer_xl_init", "std", "seed", "content_bias"})
      .table({"v", "v", "[heads, head_dim]", "transformer_xl_init", "std", "seed", "content_position.0.query_bias"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    TransformerXLParams w = transformer_xl_init(p.o, p.init.std, seed_of(p.init.seed));
    if (p.w_r) w.w_r = *p.w_r;
    if (p.u) w.u = *p.u;
    if (p.v) w.v = *p.v;
    Built b;
    b.encoding = transformer_xl(p.pos.queries(), p.pos.keys(), w, p.o);
    const auto& cp = b.encoding.content_position[0];
    b.arrays.emplace_back("relation", relation_2d(cp.relation));
    b.arrays.emplace_back("r_sinusoid", transformer_xl_sinusoid(cp.relation.size, p.o.d_model));
    b.arrays.emplace_back("key_table", cp.table);
    b.arrays.emplace_back("w_r", w.w_r);
    b.arrays.emplace_back("u", w.u);
    b.arrays.emplace_back("v", w.v);
    b.metadata.emplace_back("score_rule",
                            std::string("s = [(q_i+u).k_j + (q_i+v).key_table[h, relation[i,j]]] / sqrt(d_h), causal"));
    return finish_text(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const TransformerXLParams w{built_tensor(b, "w_r"), built_tensor(b, "u"), built_tensor(b, "v")};
    const TransformerXLParams d = transformer_xl_backward(p.pos.queries(), p.pos.keys(), w, p.o, g);
    return Gradients{{"w_r", d.w_r}, {"u", d.u}, {"v", d.v}};
  });
  return d.finish();
}

struct TenerP {
  TenerOptions o;
  std::int64_t seed = 0;
  std::optional<Tensor> u, v;
  TextPositions pos;
};
Entry tener_entry() {
  using P = TenerP;
  Def<P> d("tener", "direction-aware relative sinusoid with u, v biases, un-scaled",
           "content bias + content-position (+ query bias) + position-content",
           "Yan et al. 2019; fastnlp/TENER relative_transformer.py", "relative");
  d.preset([](P& p) { p.o.heads = 8, p.o.head_dim = 64; })
      .field("heads", [](P& p) -> auto& { return p.o.heads; }, "heads")
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension (even, >= 4)")
      .field("paper_form", [](P& p) -> auto& { return p.o.paper_form; }, "the paper's q.k + u.k + (q+v).R_{i-j} instead of the code")
      .field("scaled", [](P& p) -> auto& { return p.o.scaled; }, "divide by sqrt(head_dim) (the code does not)")
      .member("seed", &P::seed, "initialisation seed", "table")
      .member("u", &P::u, "load u [heads, head_dim]", "table")
      .member("v", &P::v, "load v [heads, head_dim]", "table")
      .table({"u", "u", "[heads, head_dim]", "tener_init: Xavier normal", "", "seed", "content_bias / query_bias"})
      .table({"v", "v", "[heads, head_dim]", "tener_init: Xavier normal", "", "seed", "query_bias / content_bias"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    TenerParams w = tener_init(p.o, seed_of(p.seed));
    if (p.u) w.u = *p.u;
    if (p.v) w.v = *p.v;
    Built b;
    b.encoding = tener(p.pos.queries(), p.pos.keys(), w, p.o);
    const auto& cp = b.encoding.content_position[0];
    b.arrays.emplace_back("relation", relation_2d(cp.relation));
    Tensor table = cp.table;
    table.reshape({table.shape()[1], table.shape()[2]});
    b.arrays.emplace_back("sinusoid", table);
    b.arrays.emplace_back("u", w.u);
    b.arrays.emplace_back("v", w.v);
    return finish_text(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const TenerParams d = tener_backward(p.pos.queries(), p.pos.keys(), {built_tensor(b, "u"), built_tensor(b, "v")}, p.o, g);
    return Gradients{{"u", d.u}, {"v", d.v}};
  });
  return d.finish();
}

struct HuangP {
  HuangOptions o;
  std::int64_t heads = 8, head_dim = 64;
  bool per_head = false;
  Init init;
  std::optional<Tensor> table;
  TextPositions pos;
};
Entry huang_entry() {
  using P = HuangP;
  Def<P> d("huang", "Huang et al. methods 1-4: learned distance scalars, vectors, or q.a + k.a",
           "multiplier (1, 2), content weights (3), content-position + position-content (4)",
           "Huang et al. 2020 (arXiv 2009.13658); HF BERT relative_key_query (method 4)", "relative");
  d.field("method", [](P& p) -> auto& { return p.o.method; }, "1, 2, 3 or 4");
  heads_dims(d)
      .field("max_distance", [](P& p) -> auto& { return p.o.max_distance; }, "distances clipped to this")
      .field("clip", [](P& p) -> auto& { return p.o.clip; }, "clip (true) or reject distances past the table")
      .member("per_head", &P::per_head, "one table per head");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "method 4: N(0, std^2); methods 1-3 start at 1");
  d.member("table", &P::table, "load the table", "table")
      .table({"table", "table", "1: [H|1, D+1]; 2: [H|1, 2D+1]; 3, 4: [H|1, 2D+1, head_dim]", "huang_init", "std", "seed",
              "multipliers / content_weights / content_position + position_content"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const Tensor table = p.table ? *p.table
                                 : huang_init(p.o, p.per_head ? p.heads : 1, p.head_dim, p.init.std, seed_of(p.init.seed));
    Built b;
    b.encoding = huang(p.pos.queries(), p.pos.keys(), table, p.o);
    const Relation& rel = p.o.method <= 2   ? b.encoding.multipliers[0].relation
                          : p.o.method == 3 ? b.encoding.content_weights[0].relation
                                            : b.encoding.content_position[0].relation;
    b.arrays.emplace_back("relation", relation_2d(rel));
    b.arrays.emplace_back("table", table);
    return finish_text(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    return Gradients{{"table", huang_backward(p.pos.queries(), p.pos.keys(), built_tensor(b, "table"), p.o, g)}};
  });
  return d.finish();
}

struct DaP {
  std::int64_t heads = 8, seed = 0;
  std::optional<std::vector<double>> v, w;
  TextPositions pos;
};
Entry da_entry() {
  using P = DaP;
  Def<P> d("da_transformer", "ReLU scores rescaled by a learned sigmoid of |i-j| per head",
           "score ReLU + multiplier (table[|i-j|])", "Wu, Wu & Huang 2021 (DA-Transformer)", "relative");
  d.member("heads", &P::heads, "heads")
      .member("seed", &P::seed, "initialisation seed (v, w ~ U(-1, 1))", "table")
      .member("v", &P::v, "v per head", "table")
      .member("w", &P::w, "w per head", "table")
      .table({"v", "v", "[heads]", "da_init: U(-1, 1)", "", "seed", "multipliers.0.table (through da_transformer_backward)"})
      .table({"w", "w", "[heads]", "da_init: U(-1, 1)", "", "seed", "multipliers.0.table (through da_transformer_backward)"});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    DaParams w = da_init(p.heads, seed_of(p.seed));
    if (p.v) w.v = to_float(*p.v);
    if (p.w) w.w = to_float(*p.w);
    Built b;
    b.encoding = da_transformer(p.pos.queries(), p.pos.keys(), w);
    const auto& m = b.encoding.multipliers[0];
    b.arrays.emplace_back("relation", relation_2d(m.relation));
    b.arrays.emplace_back("rescaling", m.table);
    b.arrays.emplace_back("v", w.v);
    b.arrays.emplace_back("w", w.w);
    b.metadata.emplace_back("score_rule", std::string("s = relu(q_i.k_j) * rescaling[h, relation[i,j]] / sqrt(d)"));
    return finish_text(std::move(b), p.pos);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const DaParams d = da_transformer_backward(p.pos.queries(), p.pos.keys(), {built_tensor(b, "v"), built_tensor(b, "w")}, g);
    return Gradients{{"v", d.v}, {"w", d.w}};
  });
  return d.finish();
}

struct AxialP {
  std::vector<std::int64_t> shape{64, 64}, dims{64, 192};
  Init init{1.0, 0};
  std::optional<std::vector<Tensor>> tables;
  TextPositions pos;
};
Entry axial_entry() {
  using P = AxialP;
  Def<P> d("reformer_axial", "axial factor tables concatenated along the features", "input_add",
           "Kitaev et al. 2020; HF ReformerAxialPositionEmbeddings", "relative");
  d.member("shape", &P::shape, "factor sizes n_1,n_2,... (product > every position)")
      .member("dims", &P::dims, "factor widths d_1,d_2,...");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("tables", &P::tables, "load the factor tables", "table")
      .table({"tables", "table_<a>", "[n_a, d_a] each", "reformer_axial_init: N(0, std^2)", "std", "seed", ""});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const std::vector<Tensor> tables =
        p.tables ? *p.tables : reformer_axial_init(p.shape, p.dims, p.init.std, seed_of(p.init.seed));
    Built b = absolute(reformer_axial(tables, p.pos.keys()));
    for (std::size_t a = 0; a < tables.size(); ++a) b.arrays.emplace_back("table_" + std::to_string(a), tables[a]);
    return finish_text(std::move(b), p.pos);
  });
  return d.finish();
}

struct MlpP {
  ContinuousMlp::Config c;
  std::int64_t seed = 0;
  std::optional<std::string> weights;
  TextPositions pos;
};
Entry mlp_entry() {
  using P = MlpP;
  Def<P> d("continuous_mlp", "MLP of the normalised position (extends to unseen lengths)", "input_add",
           "continuous position MLP; Swin-V2 CPB is its relative cousin", "relative");
  d.preset([](P& p) { p.c.output_dim = 512; })
      .field("dim", [](P& p) -> auto& { return p.c.output_dim; }, "output width d")
      .field("hidden", [](P& p) -> auto& { return p.c.hidden; }, "hidden width")
      .field("activation", [](P& p) -> auto& { return p.c.activation; }, "activation")
      .field("scaling", [](P& p) -> auto& { return p.c.scaling; }, "divide (x/L_ref), none, minus1to1")
      .field("reference_length", [](P& p) -> auto& { return p.c.reference_length; }, "L_ref (training length)")
      .member("seed", &P::seed, "initialisation seed", "table")
      .member("weights", &P::weights, "directory with w1, b1, w2, b2 .npy", "table")
      .table({"weights", "w1, b1, w2, b2", "[hidden, 1], [hidden], [dim, hidden], [dim]", "PyTorch default (uniform)", "",
              "seed", ""});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const ContinuousMlp mlp = p.weights ? ContinuousMlp::load(*p.weights, p.c) : ContinuousMlp(p.c, seed_of(p.seed));
    Built b = absolute(mlp.encoding(p.pos.keys()));
    const std::pair<const char*, const Tensor*> w[] = {{"w1", &mlp.w1}, {"b1", &mlp.b1}, {"w2", &mlp.w2}, {"b2", &mlp.b2}};
    for (const auto& [n, t] : w) b.arrays.emplace_back(n, *t);
    return finish_text(std::move(b), p.pos);
  });
  return d.finish();
}

struct FourierP {
  LearnedFourier::Config c;
  std::int64_t seed = 0;
  std::optional<std::string> weights;
  TextPositions pos;
};
Entry fourier_entry() {
  using P = FourierP;
  Def<P> d("learned_fourier", "learnable Fourier features followed by an MLP", "input_add", "Li et al. 2021 (NeurIPS)",
           "relative");
  d.preset([](P& p) { p.c.output_dim = 512; })
      .field("dim", [](P& p) -> auto& { return p.c.output_dim; }, "output width d")
      .field("fourier_dim", [](P& p) -> auto& { return p.c.fourier_dim; }, "F_dim, even (0 = dim)")
      .field("hidden", [](P& p) -> auto& { return p.c.hidden; }, "MLP hidden width")
      .field("gamma", [](P& p) -> auto& { return p.c.gamma; }, "W_r ~ N(0, init_std^2), init_std = 1/gamma")
      .field("init_std", [](P& p) -> auto& { return p.c.init_std; }, "explicit init std (0 = 1/gamma)")
      .member("seed", &P::seed, "initialisation seed", "table")
      .member("weights", &P::weights, "directory with w_r, w1, b1, w2, b2 .npy", "table")
      .table({"weights", "w_r, w1, b1, w2, b2", "[1, F/2, 1], [1, hidden, F], ...", "N(0, init_std^2) + PyTorch default",
              "init_std", "seed", ""});
  text_positions(d, [](P& p) -> auto& { return p.pos; });
  d.build([](const P& p) {
    const LearnedFourier lf = p.weights ? LearnedFourier::load(*p.weights, p.c) : LearnedFourier(p.c, seed_of(p.seed));
    Built b = absolute(lf.encoding(p.pos.keys()));
    const std::pair<const char*, const Tensor*> w[] = {
        {"w_r", &lf.w_r}, {"w1", &lf.w1}, {"b1", &lf.b1}, {"w2", &lf.w2}, {"b2", &lf.b2}};
    for (const auto& [n, t] : w) b.arrays.emplace_back(n, *t);
    return finish_text(std::move(b), p.pos);
  });
  return d.finish();
}

}  // namespace

void add_relative(std::vector<Entry>& out) {
  out.push_back(shaw_entry());
  out.push_back(transformer_xl_entry());
  out.push_back(tener_entry());
  out.push_back(huang_entry());
  out.push_back(da_entry());
  out.push_back(axial_entry());
  out.push_back(mlp_entry());
  out.push_back(fourier_entry());
}

}  // namespace posenc::catalogue::detail
