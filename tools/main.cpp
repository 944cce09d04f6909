// posenc — the command line: list, encode, apply, attend, graph, tabular, demo.
//
// Every failure prints one line "posenc COMMAND: ..." on stderr and exits non-zero;
// outputs are staged and moved into place only when the whole run succeeded, so a
// failed or interrupted run leaves nothing behind (staging.hpp, docs/reliability.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <unistd.h>

#include "checks.hpp"
#include "grads.hpp"
#include "jobs.hpp"
#include "posenc/attention.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/text.hpp"
#include "registry.hpp"
#include "staging.hpp"
#include "train_cmd.hpp"  // train, compare

namespace fs = std::filesystem;
using namespace posenc;
using namespace posenc::cli;

namespace {

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

int cmd_encode(const std::string& name, const std::string& out_dir, bool force, const std::vector<std::string>& extras) {
  output_directory(out_dir, "encode: --out", force);  // before any work
  Job job = build_job("encode", name, parse_extras(extras), {});
  check_job_outputs("encode", job);
  Staging out(out_dir, "encode: --out", force);
  write_job("encode", out, "", job);
  out.commit();
  std::cout << summary_line(job) << " -> " << out.target().string() << "\n";
  return 0;
}

// Tensors read from files must be finite: NaN or inf would flow silently into every output.
Tensor load_finite(const std::string& command, const std::string& path, const char* what) {
  require_input_file(command + ": " + what, path);
  Tensor t = load_npy(path);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.data()[i]))
      bad(std::string(what) + " '" + path + "' holds a non-finite value at flat index " + std::to_string(i));
  return t;
}

void require_finite_result(const std::string& command, const std::string& option, const Tensor& t, const std::string& hint) {
  require_finite_output(command, option, Array(t), hint);
}

int cmd_apply(const std::string& name, const std::string& input, const std::string& output, const std::string& side,
              const std::vector<std::string>& extras) {
  OutputFiles files("apply");
  files.add("--out", output);
  const Tensor x = load_finite("apply", input, "--input");
  if (x.dimension() < 2) bad("apply: input '" + input + "' must have at least 2 axes [..., tokens, dim], got " + shape_string(x));
  const std::size_t n = x.shape()[x.dimension() - 2], d = x.shape()[x.dimension() - 1];
  auto given = parse_extras(extras);
  if (given.count("tokens")) bad("apply: 'tokens' comes from the input's shape; do not pass it");
  Job job = build_job("apply", name, given, {{"dim", std::to_string(d)}, {"head_dim", std::to_string(d)}},
                      given.count("query_tokens") ? std::optional<std::size_t>{} : std::optional<std::size_t>{n}, n);
  check_job_outputs("apply", job);
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
  require_finite_result("apply " + job.spec->name, output, y, given_text(job.params));
  save_npy(files.temporary("--out").string(), y);
  files.commit();
  std::cout << job.spec->name << ": applied to " << shape_string(x) << " -> " << output << " " << shape_string(y) << "\n";
  return 0;
}

struct AttendArgs {
  std::string q, k, v, out, weights, encoding = "nope", key_lengths, grad_output, grads;
  bool causal = false, reference = false, force = false;
  double scale = 0;
  int threads = 0;
};

std::vector<std::int64_t> key_lengths(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      bad("attend: --key-lengths must be comma-separated integers, got '" + text + "'");
    }
  }
  return out;
}

/// The attention's own allocations: the output, and the weights or the reference's scores.
void check_attend_sizes(const AttendArgs& a, const Tensor& q, const Tensor& k, const Tensor& v) {
  const long double b = q.shape()[0], h = q.shape()[1], nq = q.shape()[2], nk = k.shape()[2];
  const std::string shapes = "--q " + shape_string(q) + " and --k " + shape_string(k);
  std::vector<SizeNeed> needs = {{"the output [B, H, Nq, dv] float32", 4 * b * h * nq * v.shape()[v.dimension() - 1], {{"q", a.q}}}};
  if (!a.weights.empty())
    needs.push_back({"--weights [B, H, Nq, Nk] float32 (" + shapes + ")", 4 * b * h * nq * nk, {{"weights", a.weights}}});
  if (a.reference)
    needs.push_back({"the reference's scores [B, H, Nq, Nk] float64 (" + shapes + ")", 8 * b * h * nq * nk, {{"reference", "true"}}});
  require_budget("attend", needs);
}

int cmd_attend(const AttendArgs& a, const std::vector<std::string>& extras) {
  check_threads("attend", a.threads);
  if (a.grad_output.empty() != a.grads.empty())
    bad(a.grads.empty() ? "attend: --grad-output '" + a.grad_output + "' needs --grads DIR (where the gradients go)"
                        : "attend: --grads '" + a.grads + "' needs --grad-output dO.npy (the loss gradient of --out)");
  const bool with_grads = !a.grads.empty();
  // Every output is checked before any work: names, parents, collisions.
  OutputFiles files("attend");
  files.add("--out", a.out);
  if (!a.weights.empty()) files.add("--weights", a.weights);
  const std::string grads_dir = with_grads ? grads_directory(a.grads, a.force) : std::string();
  if (with_grads) files.claim_directory("--grads", grads_dir);
  const Tensor q = load_finite("attend", a.q, "--q"), k = load_finite("attend", a.k, "--k"),
               v = load_finite("attend", a.v, "--v");
  if (q.dimension() != 4) bad("attend: --q must be [B, H, Nq, d], got " + shape_string(q));
  if (k.dimension() != 4) bad("attend: --k must be [B, Hk, Nk, d], got " + shape_string(k));
  if (v.dimension() < 1) bad("attend: --v must be [B, Hk, Nk, dv], got " + shape_string(v));
  check_attend_sizes(a, q, k, v);
  Tensor d_out;
  if (with_grads) {
    if (v.dimension() != 4) bad("attend: --v must be [B, Hk, Nk, dv], got " + shape_string(v));
    d_out = load_finite("attend", a.grad_output, "--grad-output");
    const Shape want{q.shape()[0], q.shape()[1], q.shape()[2], v.shape()[3]};
    if (Shape(d_out.shape().begin(), d_out.shape().end()) != want)
      bad("attend: --grad-output '" + a.grad_output + "' must have the output's shape [B, H, Nq, dv] = " +
          shape_string(want) + ", got " + shape_string(d_out));
  }
  auto given = parse_extras(extras);
  if (given.count("tokens") || given.count("query_tokens"))
    bad("attend: token counts come from --q and --k; do not pass 'tokens' or 'query_tokens'");
  Job job = build_job("attend", a.encoding, given,
                      {{"heads", std::to_string(q.shape()[1])}, {"head_dim", std::to_string(q.shape()[3])},
                       {"dim", std::to_string(q.shape()[3])},
                       {"value_dim", std::to_string(v.dimension() == 4 ? v.shape()[3] : q.shape()[3])}},
                      q.shape()[2], k.shape()[2]);
  check_job_outputs("attend", job);
  AttentionOptions o;
  o.mask.causal = a.causal;
  if (job.spec->name == "alibi" && job.params.flag("causal")) o.mask.causal = true;  // ALiBi's causal form
  if (!std::isfinite(a.scale)) bad("attend: --scale must be finite, got " + std::to_string(a.scale));
  if (a.scale != 0) o.scale = a.scale;
  o.threads = a.threads;
  if (!a.key_lengths.empty()) o.mask.key_lengths = key_lengths(a.key_lengths);
  const auto t0 = std::chrono::steady_clock::now();
  AttentionStats stats;
  AttentionStats* keep = with_grads ? &stats : nullptr;
  const Tensor out = a.reference ? attention_reference(q, k, v, job.built.encoding, o, keep)
                                 : attention(q, k, v, job.built.encoding, o, keep);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::string hint = "the inputs and " + given_text(job.params);
  require_finite_result("attend " + job.spec->name, a.out, out, hint);
  // The backward runs and every gradient is staged before anything is written, so a failure leaves
  // neither --out nor the --grads directory behind.
  std::optional<Staging> staged;
  std::string grads_line;
  if (with_grads) {
    const auto t1 = std::chrono::steady_clock::now();
    const AttendGrads g = attend_backward(*job.spec, job.params, job.context, job.built, q, k, v, o, out, stats, d_out,
                                          a.reference);
    const double bms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    staged.emplace(grads_dir, "attend: --grads", a.force);
    write_grads(*staged, *job.spec, g, {{"q", a.q}, {"k", a.k}, {"v", a.v}, {"grad_output", a.grad_output}, {"out", a.out}});
    grads_line = "; grads -> " + grads_dir + ": dq dk dv";
    for (const auto& pg : g.parameters) grads_line += " " + pg.file;
    grads_line += " in " + std::to_string(std::lround(bms)) + " ms";
  }
  if (!a.weights.empty()) {
    const Tensor w = attention_weights(q, k, job.built.encoding, o);
    require_finite_result("attend " + job.spec->name, a.weights, w, hint);
    save_npy(files.temporary("--weights").string(), w);
  }
  save_npy(files.temporary("--out").string(), out);
  if (staged) staged->commit();
  files.commit();
  std::cout << "attend: " << job.spec->name << " " << shape_string(q) << " x " << shape_string(k) << " -> " << a.out
            << " " << shape_string(out) << (o.mask.causal ? " causal" : "") << " in " << std::lround(ms) << " ms"
            << grads_line << "\n";
  return 0;
}

// ---------------------------------------------------------------- the command line

constexpr const char* kForceHelp =
    "replace the contents of a non-empty output directory as a whole (without it, a non-empty one is refused)";
constexpr const char* kOutDirHelp = "output directory, DIR or DIR/ (new or empty; see --force); written as a whole or not at all";

struct Commands {
  bool verbose = false;
  std::string enc_name, out_dir;
  bool encode_force = false;
  std::string apply_name, apply_in, apply_out, side = "query";
  AttendArgs at;
  GraphArgs ga;
  TabularArgs ta;
  std::string demo_dir;
  bool demo_force = false;
  CLI::App *list, *encode, *apply, *attend, *graph, *tabular, *demo;
};

void add_text_commands(CLI::App& app, Commands& c) {
  c.list = app.add_subcommand("list", "every encoding with the parts it fills and its parameters");
  c.list->add_flag("-v,--verbose", c.verbose, "describe each parameter");
  c.encode = app.add_subcommand("encode", "write an encoding's tables as .npy plus encoding.json");
  c.encode->add_option("name", c.enc_name, "encoding name (posenc list)")->required();
  c.encode->add_option("--out", c.out_dir, kOutDirHelp)->required();
  c.encode->add_flag("--force", c.encode_force, kForceHelp);
  c.encode->allow_extras();
  c.apply = app.add_subcommand("apply", "apply an input-side part or rotation to X [..., tokens, dim]");
  c.apply->add_option("name", c.apply_name, "encoding name")->required();
  c.apply->add_option("--input", c.apply_in, "input .npy")->required();
  c.apply->add_option("--out", c.apply_out, "output .npy (replaced if it exists)")->required();
  c.apply->add_option("--side", c.side, "rotations: query or key (XPos scales them oppositely)");
  c.apply->allow_extras();
  AttendArgs& at = c.at;
  c.attend = app.add_subcommand("attend", "run the shared attention core on Q, K, V (.npy)");
  c.attend->add_option("--q", at.q, "queries [B, H, Nq, d]")->required();
  c.attend->add_option("--k", at.k, "keys [B, Hk, Nk, d]")->required();
  c.attend->add_option("--v", at.v, "values [B, Hk, Nk, dv]")->required();
  c.attend->add_option("--out", at.out, "output .npy [B, H, Nq, dv] (replaced if it exists)")->required();
  c.attend->add_option("--encoding", at.encoding, "encoding name (default nope)");
  c.attend->add_flag("--causal", at.causal, "causal mask (bottom-right aligned)");
  c.attend->add_option("--key-lengths", at.key_lengths, "valid keys per batch row, comma-separated");
  c.attend->add_option("--scale", at.scale, "logit scale (default: the encoding's, else 1/sqrt(d))");
  c.attend->add_option("--threads", at.threads, "threads, 0 (all) .. 256; results do not depend on it");
  c.attend->add_option("--weights", at.weights, "also write the attention weights [B, H, Nq, Nk]");
  c.attend->add_flag("--reference", at.reference, "use the plain-loop reference implementation");
  c.attend->add_option("--grad-output", at.grad_output, "loss gradient dL/d out [B, H, Nq, dv] (.npy); needs --grads");
  c.attend->add_option("--grads", at.grads,
                       "write dq, dk, dv, the gradients of the encoding's learnable score-term parameters (one "
                       "<parameter>.npy each, see posenc list -v; input-side tables get none) and grads.json into DIR "
                       "(DIR or DIR/, new or empty; see --force)");
  c.attend->add_flag("--force", at.force, "--grads: " + std::string(kForceHelp));
  c.attend->allow_extras();
}

void add_file_commands(CLI::App& app, Commands& c) {
  GraphArgs& ga = c.ga;
  c.graph = app.add_subcommand("graph", "node encodings of a graph file (edge-list CSV, GraphML, DOT) as .npy");
  c.graph->add_option("input", ga.input, "graph file: .csv/.tsv/.txt edge list (source,target[,weight]), .graphml, .dot")
      ->required();
  c.graph->add_option("--out", ga.out, kOutDirHelp)->required();
  c.graph->add_flag("--force", ga.force, kForceHelp);
  c.graph->add_option("--encodings", ga.encodings,
                      "comma-separated: spd[:max=M:unreachable=U], dijkstra, degree[:kind=in|out|total], betweenness, "
                      "closeness, pagerank[:alpha=A], eigenvector, lap[:k=K:kind=sym|rw|comb:pad=1:solver=dense|sparse"
                      ":flip=1:seed=S:pyg=1], rwse[:steps=S:pyg=1]; lap:pad=1 zero-fills k beyond a small graph's "
                      "eigenvectors (the default does)")
      ->capture_default_str();
  c.graph->add_flag("--directed", ga.directed, "edge-list CSV: edges are directed");
  c.graph->add_option("--header", ga.header, "edge-list CSV: auto, yes or no")->capture_default_str();
  c.graph->add_option("--weight-key", ga.weight_key, "GraphML/DOT edge attribute holding weights")->capture_default_str();
  c.graph->add_option("--threads", ga.threads, "threads, 0 (all) .. 256; results do not depend on it");
  TabularArgs& ta = c.ta;
  c.tabular = app.add_subcommand("tabular", "Tab-PET encoding of a CSV table's columns (feature graph + Laplacian)");
  c.tabular->add_option("input", ta.input, "CSV table (first row: a header, see --header)")->required();
  c.tabular->add_option("--out", ta.out, kOutDirHelp)->required();
  c.tabular->add_flag("--force", ta.force, kForceHelp);
  c.tabular->add_option("--graph", ta.graph, "spearman, pearson or chowliu")->capture_default_str();
  c.tabular->add_option("--k", ta.k, "auto (the reference's eigenvalue-gap rule) or N")->capture_default_str();
  c.tabular->add_option("--alpha", ta.alpha, "scale of the PE in pe.npy (finite, |alpha| <= 1e30)")->capture_default_str();
  c.tabular->add_option("--drop", ta.drop, "columns to leave out, comma-separated (e.g. the target)");
  c.tabular->add_option("--types", ta.types, "type overrides: NAME=numeric|categorical|boolean,...");
  c.tabular->add_option("--delimiter", ta.delimiter, "field separator (one character, or 'tab')")->capture_default_str();
  c.tabular->add_option("--header", ta.header,
                        "yes (first row names the columns), no (columns 0..C-1) or auto (the first row is data if "
                        "it fits the columns' types, a header if all its fields are text, else an error)")
      ->capture_default_str();
  c.tabular->add_option("--threshold", ta.threshold, "zero |W| below this")->capture_default_str();
  c.tabular->add_option("--top-k", ta.top_k, "keep each feature's top-k |W| (0 = all)")->capture_default_str();
  c.tabular->add_option("--subsample", ta.subsample, "rows drawn for the graph (0 = all; the reference uses 5000)");
  c.tabular->add_option("--seed", ta.seed, "subsampling seed")->capture_default_str();
  c.demo = app.add_subcommand("demo", "write every encoding's tables and one picture per modality");
  c.demo->add_option("dir", c.demo_dir, kOutDirHelp)->required();
  c.demo->add_flag("--force", c.demo_force, kForceHelp);
}

int run(Commands& c) {
  if (*c.list) return cmd_list(c.verbose);
  if (*c.encode) return cmd_encode(c.enc_name, c.out_dir, c.encode_force, c.encode->remaining());
  if (*c.apply) return cmd_apply(c.apply_name, c.apply_in, c.apply_out, c.side, c.apply->remaining());
  if (*c.attend) return cmd_attend(c.at, c.attend->remaining());
  if (*c.demo) return cmd_demo(c.demo_dir, c.demo_force);
  if (*c.graph) return cmd_graph(c.ga);
  if (*c.tabular) return cmd_tabular(c.ta);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  install_cleanup_handlers();
  limit_address_space();
  CLI::App app{"posenc: positional encodings for transformers (tables as .npy, attention through one core)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "posenc 0.1.0");
  Commands c;
  add_text_commands(app, c);
  add_file_commands(app, c);
  std::vector<std::string> commands = {"list", "encode", "apply", "attend", "graph", "tabular", "demo"};
  // ---- training commands (train_cmd.hpp): registered apart from the others.
  TrainCommands train_commands;
  add_train_commands(app, train_commands);
  commands.insert(commands.end(), {"train", "compare"});
  // ---- end of the training commands' registration
  if (argc > 1 && argv[1][0] != '-' && std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
    const std::string guess = closest(argv[1], commands);
    std::cerr << "posenc: unknown command '" << argv[1] << "'"
              << (guess.empty() ? "" : "; did you mean '" + guess + "'?") << " (list, encode, apply, attend, graph, tabular, demo, train, compare)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string msg = e.what();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    std::cerr << "posenc: " << msg << " (posenc --help)\n";
    return 2;
  } catch (...) {
    std::cerr << error_line("command line", std::current_exception()) << "\n";
    return 2;
  }
  std::string command = "posenc";
  for (const auto* sub : app.get_subcommands()) command = sub->get_name();
  try {
    if (const int r = run_train_commands(train_commands); r >= 0) return r;  // train, compare
    return run(c);
  } catch (...) {
    std::cerr << error_line(command, std::current_exception()) << "\n";
    return 1;
  }
}
