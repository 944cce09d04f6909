// Catalogue entries of posenc/spectrogram.hpp: per-axis sin-cos and RoPE on the AST patch grid,
// AST's learned table adapted to a new grid.
#include "catalogue/define.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/text.hpp"

namespace posenc::catalogue::detail {

namespace {

struct Patches {
  SpectrogramPatching patching;
  std::int64_t prefix_tokens = 2;
};
template <class P>
Def<P>& patches(Def<P>& d) {
  d.input("spectrogram patch grid (prefix tokens, then f_dim x t_dim frequency-major)");
  d.field("frequency_bins", [](P& p) -> auto& { return p.s.patching.frequency_bins; }, "mel bins F", "grid")
      .field("frames", [](P& p) -> auto& { return p.s.patching.frames; }, "time frames T", "grid")
      .field("patch_frequency", [](P& p) -> auto& { return p.s.patching.patch_frequency; }, "patch size along frequency", "grid")
      .field("patch_time", [](P& p) -> auto& { return p.s.patching.patch_time; }, "patch size along time", "grid")
      .field("fstride", [](P& p) -> auto& { return p.s.patching.stride_frequency; }, "frequency stride (16 = no overlap)", "grid")
      .field("tstride", [](P& p) -> auto& { return p.s.patching.stride_time; }, "time stride", "grid")
      .field("prefix_tokens", [](P& p) -> auto& { return p.s.prefix_tokens; }, "class and distillation tokens (AST: 2)", "grid");
  return d;
}

struct AxesP {
  Patches s;
  SpectrogramAxis frequency, time;
};
Def<AxesP>& axes(Def<AxesP>& d) {
  using P = AxesP;
  d.field("frequency_dim", [](P& p) -> auto& { return p.frequency.dim; }, "channels for the frequency axis")
      .field("time_dim", [](P& p) -> auto& { return p.time.dim; }, "channels for the time axis")
      .field("frequency_temperature", [](P& p) -> auto& { return p.frequency.temperature; }, "T_f")
      .field("time_temperature", [](P& p) -> auto& { return p.time.temperature; }, "T_t")
      .field("frequency_scale", [](P& p) -> auto& { return p.frequency.scale; }, "position multiplier on the frequency axis")
      .field("time_scale", [](P& p) -> auto& { return p.time.scale; }, "position multiplier on the time axis");
  return patches(d);
}

std::string grid_text(const SpectrogramGrid& g) { return std::to_string(g.f_dim) + "x" + std::to_string(g.t_dim); }

Entry sincos_entry() {
  Def<AxesP> d("spectrogram_sincos", "2D sin-cos on the AST patch grid with separate settings per axis", "input_add",
               "AST patching (YuanGongND/ast); MAE-style per-axis blocks", "spectrogram");
  d.preset([](AxesP& p) { p.frequency.dim = p.time.dim = 384; });
  axes(d).build([](const AxesP& p) {
    const SpectrogramGrid g = spectrogram_grid(p.s.patching);
    Built b = absolute(spectrogram_sincos(g, p.frequency, p.time, p.s.prefix_tokens));
    b.metadata.emplace_back("grid", grid_text(g));
    return b;
  });
  d.into("input_add", [](const AxesP& p, std::span<float> out) {
    spectrogram_sincos_table_into(spectrogram_grid(p.s.patching), p.frequency, p.time, p.s.prefix_tokens, out);
  });
  return d.finish();
}

Entry spectrogram_rope_entry() {
  Def<AxesP> d("spectrogram_rope", "axial RoPE on the AST patch grid with separate settings per axis", "rotation",
               "AST patching; axial RoPE per axis", "spectrogram");
  d.preset([](AxesP& p) { p.frequency.dim = p.time.dim = 32; });
  axes(d).build([](const AxesP& p) {
    Built b;
    b.encoding = spectrogram_rope(spectrogram_grid(p.s.patching), p.frequency, p.time, p.s.prefix_tokens);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    b.metadata.emplace_back("pair_layout", std::string("interleaved"));
    b.tokens = b.query_tokens = b.encoding.rotation.key_angles.shape()[2];
    return b;
  });
  return d.finish();
}

struct AstP {
  Patches s;
  std::int64_t dim = 768, source_f_dim = 24, source_t_dim = 24;
  TableAdaptation mode = TableAdaptation::crop_or_interpolate;
  Init init;
  std::optional<Tensor> table;
};
Entry ast_entry() {
  using P = AstP;
  Def<P> d("ast_table", "AST's learned table adapted to a new patch grid (centre crop or bilinear per axis)", "input_add",
           "Gong et al. 2021; YuanGongND/ast ASTModel", "spectrogram");
  d.member("dim", &P::dim, "width D")
      .member("source_f_dim", &P::source_f_dim, "patch rows of the table (DeiT-384: 24; AudioSet: 12)")
      .member("source_t_dim", &P::source_t_dim, "patch columns of the table (DeiT-384: 24; AudioSet: 101)")
      .member("mode", &P::mode, "crop_or_interpolate (AST) or interpolate");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("table", &P::table, "load [prefix + f*t, D]", "table")
      .table({"table", "table", "[prefix_tokens + source_f_dim*source_t_dim, dim]", "learned_table_init: N(0, std^2)",
              "std", "seed", ""});
  patches(d).build([](const P& p) {
    if (p.source_f_dim <= 0 || p.source_t_dim <= 0)
      bad("ast_table: fields 'source_f_dim' and 'source_t_dim' must be positive, got " + std::to_string(p.source_f_dim) +
          " and " + std::to_string(p.source_t_dim));
    const SpectrogramGrid to = spectrogram_grid(p.s.patching), from{p.source_f_dim, p.source_t_dim};
    const Tensor table = p.table ? *p.table
                                 : learned_table_init(p.s.prefix_tokens + from.tokens(), p.dim, p.init.std, seed_of(p.init.seed));
    Tensor t = adapt_spectrogram_table(table, from, to, p.s.prefix_tokens, p.mode);
    Built b;
    b.arrays.emplace_back("table", table);
    b.arrays.emplace_back("input_add", t);
    t.reshape({1, t.shape()[0], t.shape()[1]});
    b.encoding.name = "ast_table";
    b.encoding.input_add = t;
    b.metadata.emplace_back("grid", grid_text(to));
    b.tokens = b.query_tokens = t.shape()[1];
    return b;
  });
  return d.finish();
}

}  // namespace

void add_spectrogram(std::vector<Entry>& out) {
  out.push_back(sincos_entry());
  out.push_back(spectrogram_rope_entry());
  out.push_back(ast_entry());
}

}  // namespace posenc::catalogue::detail
