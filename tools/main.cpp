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
#include "cli.hpp"
#include "encoding_cmds.hpp"
#include "jobs.hpp"
#include "staging.hpp"
#include "train_cmd.hpp"  // train, compare

namespace fs = std::filesystem;
using namespace posenc;
using namespace posenc::cli;

namespace {

// ---------------------------------------------------------------- the command line

constexpr const char* kForceHelp =
    "replace the contents of a non-empty output directory as a whole (without it, a non-empty one is refused)";
constexpr const char* kFieldsHelp =
    "Encoding parameters: every field of the encoding as --NAME VALUE or --NAME=VALUE ('-' and '_' alike); "
    "booleans as --NAME, --NAME true|false|1|0|yes|no; lists as 1,2,3 or a .npy; tables as .npy. "
    "posenc encode NAME --help lists an encoding's fields with types and defaults; posenc list shows all.";
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
  c.encode = app.add_subcommand("encode", "write an encoding's tables as .npy plus encoding.json and report.json");
  c.encode->add_option("name", c.enc_name, "encoding name (posenc list)")->required();
  c.encode->add_option("--out", c.out_dir, kOutDirHelp)->required();
  c.encode->add_flag("--force", c.encode_force, kForceHelp);
  c.encode->footer(kFieldsHelp);
  c.encode->allow_extras();
  c.apply = app.add_subcommand("apply", "apply an input-side part or rotation to X [..., tokens, dim]");
  c.apply->add_option("name", c.apply_name, "encoding name (posenc list)")->required();
  c.apply->add_option("--input", c.apply_in, "input .npy")->required();
  c.apply->add_option("--out", c.apply_out, "output .npy (replaced if it exists)")->required();
  c.apply->add_option("--side", c.side, "rotations: query or key (XPos scales them oppositely)")->capture_default_str();
  c.apply->footer(std::string(kFieldsHelp) + " tokens come from the input's second-to-last axis, dim and head_dim from its last.");
  c.apply->allow_extras();
  AttendArgs& at = c.at;
  c.attend = app.add_subcommand("attend", "run the shared attention core on Q, K, V (.npy)");
  c.attend->add_option("--q", at.q, "queries [B, H, Nq, d]")->required();
  c.attend->add_option("--k", at.k, "keys [B, Hk, Nk, d]")->required();
  c.attend->add_option("--v", at.v, "values [B, Hk, Nk, dv]")->required();
  c.attend->add_option("--out", at.out, "output .npy [B, H, Nq, dv] (replaced if it exists)")->required();
  c.attend->add_option("--encoding", at.encoding, "encoding name (posenc list)")->capture_default_str();
  c.attend->add_flag("--causal", at.causal,
                     "causal mask (bottom-right aligned); also sets the encoding's own causal field (ALiBi); without "
                     "it both follow that field (ALiBi: causal, others: no mask); --causal false: no mask");
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
  c.attend->footer(std::string(kFieldsHelp) +
                   " In attend, tokens come from --q and --k, and heads, head_dim, dim and value_dim default to the "
                   "tensors' sizes; a field named like an attend option (Transformer-XL / TENER / DA-Transformer's "
                   "v, continuous_mlp's weights, detr_sine's scale) is written --encoding-NAME, e.g. --encoding-v "
                   "v_table.npy. posenc attend --encoding NAME --help lists them.");
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
                      "comma-separated: spd[:max=M:unreachable=U], dijkstra[:unreachable=X], degree[:kind=in|out|total], "
                      "betweenness[:normalized=0], closeness[:use_weights=1], pagerank[:alpha=A:tol=T:max_iter=I], "
                      "eigenvector[:tol=T:max_iter=I], lap[:k=K:kind=sym|rw|comb:pad=1:solver=dense|sparse:flip=1:seed=S"
                      ":pyg=1:dense_max_nodes=N], rwse[:steps=S:pyg=1]; lap:pad=1 zero-fills k beyond a small graph's "
                      "eigenvectors (the default does)")
      ->capture_default_str();
  c.graph->add_flag("--directed", ga.directed, "edge-list CSV: edges are directed");
  c.graph->add_option("--header", ga.header, "edge-list CSV: auto, yes or no")->capture_default_str();
  c.graph->add_option("--weight-key", ga.weight_key, "GraphML/DOT edge attribute holding weights")->capture_default_str();
  c.graph->add_option("--threads", ga.threads, "threads, 0 (all) .. 256; results do not depend on it");
  c.graph->add_option("--nodes", ga.nodes,
                      "node list, one label per line: fixes the row order (nodes.txt) and adds isolated nodes");
  c.graph->add_option("--index-base", ga.index_base,
                      "edge lists: ids are 0- or 1-based integer indices (isolated nodes up to the largest id "
                      "included); default: ids are labels");
  TabularArgs& ta = c.ta;
  {  // the Tab-PET defaults are the catalogue's tabpet entry's (its option structs), never re-typed here
    const catalogue::TabPetSettings d = catalogue::tabpet_settings();
    ta.graph = catalogue::enum_name(d.options.graph.method);
    ta.alpha = d.alpha;
    ta.threshold = d.options.graph.threshold;
    ta.top_k = d.options.graph.top_k;
    ta.subsample = d.options.preprocess.subsample;
    ta.seed = d.options.preprocess.seed;
  }
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
  if (*c.attend) {
    c.at.causal_given = c.attend->count("--causal") > 0;
    return cmd_attend(c.at, c.attend->remaining());
  }
  if (*c.demo) return cmd_demo(c.demo_dir, c.demo_force);
  if (*c.graph) return cmd_graph(c.ga);
  if (*c.tabular) return cmd_tabular(c.ta);
  return 0;
}

bool is_boolean_literal(const std::string& s) {
  const std::string n = normalise(s);
  for (const char* b : {"true", "false", "1", "0", "yes", "no", "on", "off"})
    if (n == b) return true;
  return false;
}

/// Booleans are parsed the same everywhere: a CLI11 flag of the subcommand followed by a boolean
/// word (`--causal false`, `--force yes`) becomes `--causal=false`, which CLI11 reads as a value.
std::vector<std::string> join_flag_values(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (argc < 2) return args;
  const CLI::App* sub = nullptr;
  for (const auto* s : app.get_subcommands({}))
    if (s->get_name() == args[1]) sub = s;
  if (!sub) return args;
  std::vector<std::string> out(args.begin(), args.begin() + 2);
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    const CLI::Option* opt = a.rfind("--", 0) == 0 && a.find('=') == std::string::npos ? sub->get_option_no_throw(a) : nullptr;
    if (opt && opt->get_expected_max() == 0 && i + 1 < args.size() && is_boolean_literal(args[i + 1])) {
      out.push_back(a + "=" + args[++i]);
    } else {
      out.push_back(a);
    }
  }
  return out;
}

/// `posenc encode NAME --help`, `posenc apply NAME --help`, `posenc attend --encoding NAME --help`:
/// the entry's parameters from the catalogue. Returns the exit code, or -1 when not asked.
int entry_help_request(const std::vector<std::string>& args) {
  if (args.size() < 3 || std::find_if(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; }) == args.end())
    return -1;
  std::string name;
  if ((args[1] == "encode" || args[1] == "apply") && args[2].rfind("-", 0) != 0) name = args[2];
  for (std::size_t i = 2; args[1] == "attend" && i + 1 < args.size(); ++i)
    if (args[i] == "--encoding") name = args[i + 1];
  for (std::size_t i = 2; args[1] == "attend" && i < args.size(); ++i)
    if (args[i].rfind("--encoding=", 0) == 0) name = args[i].substr(11);
  if (name.empty()) return -1;
  try {
    std::cout << entry_help(args[1], name);
    return 0;
  } catch (...) {
    std::cerr << error_line(args[1], std::current_exception()) << "\n";
    return 2;
  }
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
  std::vector<std::string> args = join_flag_values(app, argc, argv);
  if (const int r = entry_help_request(args); r >= 0) return r;
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 takes them in reverse order
    app.parse(reversed);
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
