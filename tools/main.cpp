// posenc — the command line: list, encode, apply, attend, demo.
//
// Every failure prints one line "posenc: ..." on stderr and exits non-zero;
// outputs are written to temporaries and renamed, so a failed run leaves no
// partial file behind.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <unistd.h>

#include "grads.hpp"
#include "pictures.hpp"
#include "plot.hpp"
#include "posenc/attention.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/text.hpp"
#include "registry.hpp"
#include "staging.hpp"

namespace fs = std::filesystem;
using namespace posenc;
using namespace posenc::cli;

namespace {

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument(msg); }

// --name value pairs left over by CLI11 (encoding parameters).
std::map<std::string, std::string> parse_extras(const std::vector<std::string>& extras) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < extras.size(); ++i) {
    const std::string& a = extras[i];
    if (a.rfind("--", 0) != 0) bad("unexpected argument '" + a + "' (parameters are --NAME VALUE)");
    std::string name = a.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < extras.size() && extras[i + 1].rfind("--", 0) != 0) {
      value = extras[++i];
    } else {
      value = "true";
    }
    name = normalise(name);
    if (out.count(name)) bad("parameter '" + name + "' given twice");
    out[name] = value;
  }
  return out;
}

std::string shape_text(const Array& a) {
  return std::visit([](const auto& t) { return shape_string(t); }, a);
}

nlohmann::json shape_json(const Array& a) {
  return std::visit([](const auto& t) { return nlohmann::json(std::vector<std::size_t>(t.shape().begin(), t.shape().end())); }, a);
}

const char* dtype_of(const Array& a) {
  if (std::holds_alternative<Tensor>(a)) return "float32";
  if (std::holds_alternative<DTensor>(a)) return "float64";
  return "int64";
}

/// Files are written into a hidden staging directory next to the target and
/// moved in only when everything succeeded; otherwise nothing appears.
void save_array(const fs::path& path, const Array& a) {
  std::visit([&](const auto& t) { save_npy(path.string(), t); }, a);
}

/// Build an encoding from its spec, parameters and the token layout.
struct Job {
  const EncodingSpec* spec;
  Params params;
  Context context;
  Built built;
};

Job build_job(const std::string& name, const std::map<std::string, std::string>& given,
              const std::map<std::string, std::string>& implied, std::optional<std::size_t> n_query = {},
              std::optional<std::size_t> n_key = {}) {
  const EncodingSpec& spec = find_encoding(name);
  check_params(spec, given);
  Params p(spec.name, spec.params, given);
  for (const auto& [k, v] : implied) p.imply(k, v);
  std::size_t nk = 0, nq = 0;
  if (spec.token_count) {
    nk = spec.token_count(p);
    if (n_key && *n_key != nk)
      bad(spec.name + ": the grid has " + std::to_string(nk) + " tokens (prefix_tokens + height * width) but the input has " +
          std::to_string(*n_key));
    nq = n_query ? *n_query : nk;
  } else {
    nk = n_key ? *n_key : static_cast<std::size_t>(std::max<std::int64_t>(p.integer("tokens"), 0));
    nq = n_query ? *n_query
                 : (p.has("query_tokens") ? static_cast<std::size_t>(std::max<std::int64_t>(p.integer("query_tokens"), 0)) : nk);
  }
  Context c = Context::make(nq, nk, p.has("offset") ? p.num("offset") : 0.0);
  Built b = spec.build(p, c);
  return {&spec, std::move(p), std::move(c), std::move(b)};
}

nlohmann::json describe(const Job& job) {
  nlohmann::json j;
  j["encoding"] = job.spec->name;
  j["source"] = job.spec->source;
  j["parts"] = job.spec->parts;
  j["parameters"] = job.params.to_json();
  j["query_tokens"] = job.context.n_query;
  j["key_tokens"] = job.context.n_key;
  j["offset"] = job.context.offset;
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& [stem, a] : job.built.arrays) arrays[stem + ".npy"] = {{"shape", shape_json(a)}, {"dtype", dtype_of(a)}};
  j["arrays"] = arrays;
  j["scalars"] = job.built.scalars;
  if (job.built.encoding.scale) j["scalars"]["logit_scale"] = *job.built.encoding.scale;
  return j;
}

std::string summary_line(const Job& job) {
  std::string s = job.spec->name + ":";
  for (const auto& [stem, a] : job.built.arrays) s += " " + stem + " " + shape_text(a);
  if (job.built.arrays.empty()) s += " (fills nothing)";
  if (job.built.scalars.contains("attention_factor"))
    s += " attention_factor " + job.built.scalars["attention_factor"].dump();
  return s;
}

void write_job(Staging& out, const std::string& prefix, const Job& job) {
  for (const auto& [stem, a] : job.built.arrays) save_array(out.file(prefix + stem + ".npy"), a);
  write_file_atomic(out.file(prefix + "encoding.json").string(), describe(job).dump(2) + "\n");
}

// ---------------------------------------------------------------- commands

int cmd_list(bool verbose) {
  for (const auto& s : registry()) {
    std::cout << s.name << "  —  " << s.summary << "\n    fills: " << s.parts << "\n    source: " << s.source << "\n";
    for (const auto& p : s.params) {
      std::cout << "    --" << p.name << " " << (p.default_value.empty() ? "(unset)" : p.default_value);
      if (verbose) std::cout << "  " << p.help;
      std::cout << "\n";
    }
    if (verbose) std::cout << "    grads: " << s.grads << "\n";
  }
  return 0;
}

int cmd_encode(const std::string& name, const std::string& out_dir, const std::vector<std::string>& extras) {
  Job job = build_job(name, parse_extras(extras), {});
  Staging out(out_dir);
  write_job(out, "", job);
  out.commit();
  std::cout << summary_line(job) << " -> " << out_dir << "\n";
  return 0;
}

// Tensors read from files must be finite: NaN or inf would flow silently into every output.
Tensor load_finite(const std::string& path, const char* what) {
  Tensor t = load_npy(path);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.data()[i]))
      bad(std::string(what) + " '" + path + "' holds a non-finite value at flat index " + std::to_string(i));
  return t;
}

int cmd_apply(const std::string& name, const std::string& input, const std::string& output, const std::string& side,
              const std::vector<std::string>& extras) {
  const Tensor x = load_finite(input, "--input");
  if (x.dimension() < 2) bad("apply: input '" + input + "' must have at least 2 axes [..., tokens, dim], got " + shape_string(x));
  const std::size_t n = x.shape()[x.dimension() - 2], d = x.shape()[x.dimension() - 1];
  auto given = parse_extras(extras);
  if (given.count("tokens")) bad("apply: 'tokens' comes from the input's shape; do not pass it");
  Job job = build_job(name, given, {{"dim", std::to_string(d)}, {"head_dim", std::to_string(d)}},
                      given.count("query_tokens") ? std::optional<std::size_t>{} : std::optional<std::size_t>{n}, n);
  const Encoding& e = job.built.encoding;
  Tensor y;
  if (!e.rotation.empty()) {
    RotarySide s;
    if (side == "query") s = RotarySide::query;
    else if (side == "key") s = RotarySide::key;
    else bad("apply: --side must be query or key, got '" + side + "'");
    y = apply_rotary(x, e.rotation, s);
  } else if (is_set(e.input_add) || is_set(e.input_concat)) {
    y = apply_input(e, x);
  } else {
    bad("apply: encoding '" + job.spec->name + "' has no input-side part or rotation to apply; use 'posenc attend'");
  }
  save_npy(output, y);
  std::cout << job.spec->name << ": applied to " << shape_string(x) << " -> " << output << " " << shape_string(y) << "\n";
  return 0;
}

struct AttendArgs {
  std::string q, k, v, out, weights, encoding = "nope", key_lengths, grad_output, grads;
  bool causal = false, reference = false;
  double scale = 0;
  int threads = 0;
};

int cmd_attend(const AttendArgs& a, const std::vector<std::string>& extras) {
  if (a.grad_output.empty() != a.grads.empty())
    bad(a.grads.empty() ? "attend: --grad-output '" + a.grad_output + "' needs --grads DIR (where the gradients go)"
                        : "attend: --grads '" + a.grads + "' needs --grad-output dO.npy (the loss gradient of --out)");
  const bool with_grads = !a.grads.empty();
  const std::string grads_dir = with_grads ? grads_directory(a.grads) : std::string();
  const Tensor q = load_finite(a.q, "--q"), k = load_finite(a.k, "--k"), v = load_finite(a.v, "--v");
  if (q.dimension() != 4) bad("attend: --q must be [B, H, Nq, d], got " + shape_string(q));
  if (k.dimension() != 4) bad("attend: --k must be [B, Hk, Nk, d], got " + shape_string(k));
  Tensor d_out;
  if (with_grads) {
    if (v.dimension() != 4) bad("attend: --v must be [B, Hk, Nk, dv], got " + shape_string(v));
    d_out = load_finite(a.grad_output, "--grad-output");
    const Shape want{q.shape()[0], q.shape()[1], q.shape()[2], v.shape()[3]};
    if (Shape(d_out.shape().begin(), d_out.shape().end()) != want)
      bad("attend: --grad-output '" + a.grad_output + "' must have the output's shape [B, H, Nq, dv] = " +
          shape_string(want) + ", got " + shape_string(d_out));
  }
  auto given = parse_extras(extras);
  if (given.count("tokens") || given.count("query_tokens"))
    bad("attend: token counts come from --q and --k; do not pass 'tokens' or 'query_tokens'");
  Job job = build_job(a.encoding, given,
                      {{"heads", std::to_string(q.shape()[1])}, {"head_dim", std::to_string(q.shape()[3])},
                       {"dim", std::to_string(q.shape()[3])},
                       {"value_dim", std::to_string(v.dimension() == 4 ? v.shape()[3] : q.shape()[3])}},
                      q.shape()[2], k.shape()[2]);
  AttentionOptions o;
  o.mask.causal = a.causal;
  if (job.spec->name == "alibi" && job.params.flag("causal")) o.mask.causal = true;  // ALiBi's causal form
  if (a.scale != 0) o.scale = a.scale;
  o.threads = a.threads;
  if (!a.key_lengths.empty()) {
    std::stringstream ss(a.key_lengths);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        std::size_t used = 0;
        o.mask.key_lengths.push_back(std::stoll(item, &used));
        if (used != item.size()) throw std::invalid_argument("");
      } catch (const std::exception&) {
        bad("attend: --key-lengths must be comma-separated integers, got '" + a.key_lengths + "'");
      }
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  AttentionStats stats;
  AttentionStats* keep = with_grads ? &stats : nullptr;
  const Tensor out = a.reference ? attention_reference(q, k, v, job.built.encoding, o, keep)
                                 : attention(q, k, v, job.built.encoding, o, keep);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // The backward runs and every gradient is staged before anything is written, so a failure leaves
  // neither --out nor the --grads directory behind.
  std::optional<Staging> staged;
  std::string grads_line;
  if (with_grads) {
    const auto t1 = std::chrono::steady_clock::now();
    const AttendGrads g = attend_backward(*job.spec, job.params, job.context, job.built, q, k, v, o, out, stats, d_out,
                                          a.reference);
    const double bms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    staged.emplace(grads_dir);
    write_grads(*staged, *job.spec, g, {{"q", a.q}, {"k", a.k}, {"v", a.v}, {"grad_output", a.grad_output}, {"out", a.out}});
    grads_line = "; grads -> " + grads_dir + ": dq dk dv";
    for (const auto& pg : g.parameters) grads_line += " " + pg.file;
    grads_line += " in " + std::to_string(std::lround(bms)) + " ms";
  }
  if (!a.weights.empty()) save_npy(a.weights, attention_weights(q, k, job.built.encoding, o));
  save_npy(a.out, out);
  if (staged) staged->commit();
  std::cout << "attend: " << job.spec->name << " " << shape_string(q) << " x " << shape_string(k) << " -> " << a.out
            << " " << shape_string(out) << (o.mask.causal ? " causal" : "") << " in " << std::lround(ms) << " ms"
            << grads_line << "\n";
  return 0;
}

// RoPE's long-term decay (Su et al. 2021, section 3.4.3): the relative upper
// bound (1/(d/2)) sum_j |S_j|, S_j = sum_{k<j} exp(i r theta_k), against r.
std::vector<double> rope_decay(int head_dim, int max_distance) {
  const auto f = rope_frequencies(RopeOptions{.head_dim = head_dim}).inv_freq;
  std::vector<double> y(static_cast<std::size_t>(max_distance) + 1);
  for (int r = 0; r <= max_distance; ++r) {
    std::complex<double> s = 0;
    double total = 0;
    for (double theta : f) {
      s += std::polar(1.0, r * theta);
      total += std::abs(s);
    }
    y[static_cast<std::size_t>(r)] = total / static_cast<double>(f.size());
  }
  return y;
}

int cmd_demo(const std::string& dir) {
  Staging out(dir);
  const bool tty = ::isatty(STDOUT_FILENO);
  std::vector<std::string> lines;
  const auto& all = registry();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (tty) std::cout << "\r[" << i + 1 << "/" << all.size() << "] " << all[i].name << "        " << std::flush;
    Job job = build_job(all[i].name, {}, {{"tokens", "64"}});
    write_job(out, all[i].name + "/", job);
    lines.push_back(summary_line(job) + " -> " + (fs::path(dir) / all[i].name).string());
  }
  if (tty) std::cout << "\r" << std::string(40, ' ') << "\r";

  // The text modality's picture: sinusoid table | RoPE decay | ALiBi bias | T5 buckets.
  const Tensor sin_table = sinusoid_table(64, SinusoidOptions{.dim = 128, .layout = SinusoidLayout::blocked});
  std::vector<double> sv(sin_table.begin(), sin_table.end());
  const auto panel_sin = plot::heatmap(sv, 64, 128, 3);
  const auto panel_rope = plot::line_chart(rope_decay(128, 256), 384, 192);
  std::vector<double> alibi_v(32 * 32);
  const double m = alibi_slopes(8)[2];
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j) alibi_v[i * 32 + j] = j <= i ? -m * (i - j) : NAN;
  const auto panel_alibi = plot::heatmap(alibi_v, 32, 32, 6);
  const ITensor buckets = t5_bucket_matrix(text_positions(48), text_positions(48), T5Options{});
  std::vector<double> bv(buckets.begin(), buckets.end());
  const auto panel_t5 = plot::heatmap(bv, 48, 48, 4);
  plot::write_png(out.file("text.png").string(), plot::hstack({panel_sin, panel_rope, panel_alibi, panel_t5}));
  plot::write_png(out.file("text_sinusoid.png").string(), panel_sin);
  plot::write_png(out.file("text_rope_decay.png").string(), panel_rope);
  plot::write_png(out.file("text_alibi.png").string(), panel_alibi);
  plot::write_png(out.file("text_t5_buckets.png").string(), panel_t5);

  // The relative family: Shaw's clipped relation, TENER's direction-aware sinusoid, DA-Transformer's rescaling.
  const DTensor p32 = text_positions(32);
  const ShawOptions so{.clip = 4};
  const Encoding sh = shaw(p32, p32, shaw_init(so, 1, 4, 4), so);
  const ITensor shaw_rel = relation_indices(sh.content_position[0].relation);
  const auto panel_shaw = plot::heatmap(std::vector<double>(shaw_rel.begin(), shaw_rel.end()), 32, 32, 6);
  const Tensor tener_r = tener_sinusoid(-32, 32, 32);
  const auto panel_tener = plot::heatmap(std::vector<double>(tener_r.begin(), tener_r.end()), 65, 32, 3);
  std::vector<std::vector<double>> curves;
  for (auto [v, w] : std::vector<std::pair<float, float>>{{0.f, 0.5f}, {1.f, 0.2f}, {2.f, 0.1f}, {1.f, -0.2f}, {0.f, -0.5f}}) {
    DaParams da;
    da.v = Tensor::from_shape({1});
    da.w = Tensor::from_shape({1});
    da.v(0) = v;
    da.w(0) = w;
    const Tensor r = da_rescaling(da, 40);
    curves.emplace_back(r.begin(), r.end());
  }
  const auto panel_da = plot::line_chart(curves, 384, 192);
  plot::write_png(out.file("text_relative.png").string(), plot::hstack({panel_shaw, panel_tener}));
  plot::write_png(out.file("text_da_curves.png").string(), panel_da);

  // The image modality's picture: cosine similarity of each patch's 2D sin-cos encoding with every other
  // patch (the classic ViT figure), 8 x 8 grid, D = 64, MAE layout; then the Swin 7x7 relative index.
  const Tensor pe = sincos_2d_table({.height = 8, .width = 8, .dim = 64});
  const auto panel_sim = plot::similarity_grid(pe, 8, 8);
  const ITensor swin = relative_position_index_2d(7, 7);
  const auto panel_swin = plot::heatmap(std::vector<double>(swin.begin(), swin.end()), 49, 49, 4);
  plot::write_png(out.file("image.png").string(), plot::hstack({panel_sim, panel_swin}));
  plot::write_png(out.file("image_sincos_similarity.png").string(), panel_sim);
  plot::write_png(out.file("image_swin_index.png").string(), panel_swin);

  // Video: M-RoPE ids of text | image 4x6 patches | text | video 2x4x4 | text (merge 2), Qwen2-VL.
  const DTensor ids = plot::demo_mrope_ids();
  const auto panel_mrope = plot::mrope_ids_picture(ids);
  plot::write_png(out.file("video.png").string(), panel_mrope);
  plot::write_png(out.file("video_mrope_ids.png").string(), panel_mrope);

  // Spectrogram: patch coverage of AST's 16x16 / stride 10 patches over 128 bins x 100 frames, and
  // the cosine similarity of the per-axis sin-cos encoding on a 12 x 12 patch grid (time temperature 100).
  const auto panel_cover = plot::patch_coverage({}, 100, 2);
  const SpectrogramGrid sg{.f_dim = 12, .t_dim = 12};
  const Tensor st = spectrogram_sincos_table(sg, {.dim = 32}, {.dim = 32, .temperature = 100.0}, 0);
  const auto panel_ssim = plot::similarity_grid(st, 12, 12, 2, 1);
  plot::write_png(out.file("spectrogram.png").string(), plot::hstack({panel_cover, panel_ssim}));
  plot::write_png(out.file("spectrogram_patches.png").string(), panel_cover);

  // Sphere: real spherical harmonics Y_1^0, Y_2^1, Y_4^-3, Y_8^5 on a 90 x 180 world map, and the
  // geodesic ALiBi bias (head 1 of 8) from Paris to every cell.
  std::vector<plot::Image> sh_panels;
  for (auto [l, m] : std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {4, -3}, {8, 5}})
    sh_panels.push_back(plot::world_map(plot::harmonic_on_grid(l, m, 90, 180), 90, 180, 1));
  const auto panel_sh = plot::hstack(sh_panels, 6);
  const auto panel_geo = plot::world_map(plot::geodesic_bias_on_grid(2.35, 48.85, 90, 180, 8, 1), 90, 180, 1, false);
  plot::write_png(out.file("sphere.png").string(), plot::hstack({panel_sh, panel_geo}));
  plot::write_png(out.file("sphere_harmonics.png").string(), panel_sh);
  plot::write_png(out.file("sphere_geodesic_bias.png").string(), panel_geo);

  // Graph: the karate club drawn by a spring layout, coloured by the first non-trivial eigenvector of
  // the symmetric Laplacian | its hop-distance matrix.
  const Graph karate = plot::karate_club();
  const LaplacianPe lap = laplacian_pe(karate, {.k = 2});
  std::vector<double> fiedler(34);
  for (std::size_t i = 0; i < 34; ++i) fiedler[i] = lap.vectors(i, 0);
  const ITensor hops = shortest_path_hops(karate);
  const auto panel_graph = plot::graph_drawing(karate, fiedler, 272);
  const auto panel_hops = plot::heatmap(std::vector<double>(hops.begin(), hops.end()), 34, 34, 8);
  plot::write_png(out.file("graph.png").string(), plot::hstack({panel_graph, panel_hops}));
  out.commit();
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout << "graph: pictures " << (fs::path(dir) / "graph.png").string()
            << " (karate club coloured by the Fiedler vector | hop distances)\n";
  std::cout << "video: pictures " << (fs::path(dir) / "video.png").string()
            << " (M-RoPE ids t/h/w of text | image | text | video | text)\n";
  std::cout << "spectrogram: pictures " << (fs::path(dir) / "spectrogram.png").string()
            << " (AST patch coverage 16x16 stride 10 | per-axis sin-cos similarity)\n";
  std::cout << "sphere: pictures " << (fs::path(dir) / "sphere.png").string()
            << " (Y_1^0, Y_2^1, Y_4^-3, Y_8^5 | geodesic ALiBi bias from Paris)\n";
  std::cout << "image: pictures " << (fs::path(dir) / "image.png").string()
            << " (2D sin-cos cosine similarity per patch | Swin 7x7 relative position index)\n";
  std::cout << "text: pictures " << (fs::path(dir) / "text.png").string()
            << " (sinusoid table [sin | cos] | RoPE long-term decay | ALiBi head 3 | T5 buckets), text_relative.png,"
            << " text_da_curves.png\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"posenc: positional encodings for transformers (tables as .npy, attention through one core)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "posenc 0.1.0");

  bool verbose = false;
  auto* list = app.add_subcommand("list", "every encoding with the parts it fills and its parameters");
  list->add_flag("-v,--verbose", verbose, "describe each parameter");

  std::string enc_name, out_dir;
  auto* encode = app.add_subcommand("encode", "write an encoding's tables as .npy plus encoding.json");
  encode->add_option("name", enc_name, "encoding name (posenc list)")->required();
  encode->add_option("--out", out_dir, "output directory")->required();
  encode->allow_extras();

  std::string apply_name, apply_in, apply_out, side = "query";
  auto* apply = app.add_subcommand("apply", "apply an input-side part or rotation to X [..., tokens, dim]");
  apply->add_option("name", apply_name, "encoding name")->required();
  apply->add_option("--input", apply_in, "input .npy")->required();
  apply->add_option("--out", apply_out, "output .npy")->required();
  apply->add_option("--side", side, "rotations: query or key (XPos scales them oppositely)");
  apply->allow_extras();

  AttendArgs at;
  auto* attend = app.add_subcommand("attend", "run the shared attention core on Q, K, V (.npy)");
  attend->add_option("--q", at.q, "queries [B, H, Nq, d]")->required();
  attend->add_option("--k", at.k, "keys [B, Hk, Nk, d]")->required();
  attend->add_option("--v", at.v, "values [B, Hk, Nk, dv]")->required();
  attend->add_option("--out", at.out, "output .npy [B, H, Nq, dv]")->required();
  attend->add_option("--encoding", at.encoding, "encoding name (default nope)");
  attend->add_flag("--causal", at.causal, "causal mask (bottom-right aligned)");
  attend->add_option("--key-lengths", at.key_lengths, "valid keys per batch row, comma-separated");
  attend->add_option("--scale", at.scale, "logit scale (default: the encoding's, else 1/sqrt(d))");
  attend->add_option("--threads", at.threads, "threads (0 = all); results do not depend on it");
  attend->add_option("--weights", at.weights, "also write the attention weights [B, H, Nq, Nk]");
  attend->add_flag("--reference", at.reference, "use the plain-loop reference implementation");
  attend->add_option("--grad-output", at.grad_output, "loss gradient dL/d out [B, H, Nq, dv] (.npy); needs --grads");
  attend->add_option("--grads", at.grads,
                     "write dq, dk, dv, the gradients of the encoding's learnable score-term parameters (one "
                     "<parameter>.npy each, see posenc list -v; input-side tables get none) and grads.json into DIR");
  attend->allow_extras();

  GraphArgs ga;
  auto* graph = app.add_subcommand("graph", "node encodings of a graph file (edge-list CSV, GraphML, DOT) as .npy");
  graph->add_option("input", ga.input, "graph file: .csv/.tsv/.txt edge list (source,target[,weight]), .graphml, .dot")
      ->required();
  graph->add_option("--out", ga.out, "output directory")->required();
  graph->add_option("--encodings", ga.encodings,
                    "comma-separated: spd[:max=M:unreachable=U], dijkstra, degree[:kind=in|out|total], betweenness, "
                    "closeness, pagerank[:alpha=A], eigenvector, lap[:k=K:kind=sym|rw|comb:pad=1:solver=dense|sparse"
                    ":flip=1:seed=S:pyg=1], rwse[:steps=S:pyg=1]")
      ->capture_default_str();
  graph->add_flag("--directed", ga.directed, "edge-list CSV: edges are directed");
  graph->add_option("--header", ga.header, "edge-list CSV: auto, yes or no")->capture_default_str();
  graph->add_option("--weight-key", ga.weight_key, "GraphML/DOT edge attribute holding weights")->capture_default_str();
  graph->add_option("--threads", ga.threads, "threads (0 = all); results do not depend on it");

  TabularArgs ta;
  auto* tabular = app.add_subcommand("tabular", "Tab-PET encoding of a CSV table's columns (feature graph + Laplacian)");
  tabular->add_option("input", ta.input, "CSV with a header row")->required();
  tabular->add_option("--out", ta.out, "output directory")->required();
  tabular->add_option("--graph", ta.graph, "spearman, pearson or chowliu")->capture_default_str();
  tabular->add_option("--k", ta.k, "auto (the reference's eigenvalue-gap rule) or N")->capture_default_str();
  tabular->add_option("--alpha", ta.alpha, "scale of the PE in pe.npy")->capture_default_str();
  tabular->add_option("--drop", ta.drop, "columns to leave out, comma-separated (e.g. the target)");
  tabular->add_option("--types", ta.types, "type overrides: NAME=numeric|categorical|boolean,...");
  tabular->add_option("--delimiter", ta.delimiter, "field separator (one character, or 'tab')")->capture_default_str();
  tabular->add_option("--threshold", ta.threshold, "zero |W| below this")->capture_default_str();
  tabular->add_option("--top-k", ta.top_k, "keep each feature's top-k |W| (0 = all)")->capture_default_str();
  tabular->add_option("--subsample", ta.subsample, "rows drawn for the graph (0 = all; the reference uses 5000)");
  tabular->add_option("--seed", ta.seed, "subsampling seed")->capture_default_str();

  std::string demo_dir;
  auto* demo = app.add_subcommand("demo", "write every encoding's tables and one picture per modality");
  demo->add_option("dir", demo_dir, "output directory")->required();

  if (argc > 1 && argv[1][0] != '-') {
    const std::vector<std::string> commands = {"list", "encode", "apply", "attend", "graph", "tabular", "demo"};
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      const std::string guess = closest(argv[1], commands);
      std::cerr << "posenc: unknown command '" << argv[1] << "'"
                << (guess.empty() ? "" : "; did you mean '" + guess + "'?") << " (list, encode, apply, attend, graph, tabular, demo)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string msg = e.what();
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    std::cerr << "posenc: " << msg << " (posenc --help)\n";
    return 2;
  }
  try {
    if (*list) return cmd_list(verbose);
    if (*encode) return cmd_encode(enc_name, out_dir, encode->remaining());
    if (*apply) return cmd_apply(apply_name, apply_in, apply_out, side, apply->remaining());
    if (*attend) return cmd_attend(at, attend->remaining());
    if (*demo) return cmd_demo(demo_dir);
    if (*graph) return cmd_graph(ga);
    if (*tabular) return cmd_tabular(ta);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    std::cerr << "posenc: " << msg << "\n";
    return 1;
  }
  return 0;
}
