// `posenc train` and `posenc compare`: train transformers with each positional encoding on
// the seeded tasks of posenc/tasks.hpp (not public API; docs/experiments.md).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "plot.hpp"
#include "posenc/model.hpp"
#include "posenc/tasks.hpp"
#include "posenc/trainer.hpp"

namespace posenc::cli {

/// Options shared by train and compare (defaults: the learnable-encoding study's settings).
struct TrainSettings {
  std::string task = "patterns";
  std::int64_t epochs = 20, layers = 3, d_model = 128, heads = 8, batch = 32;
  double dropout = 0.1, lr = 1e-3, weight_decay = 0.01, clip = 1.0, warmup = 0.05;
  std::string schedule = "warmup_cosine";
  std::uint64_t seed = 0, data_seed = 0;
  int threads = 1;
  std::int64_t train_samples = 5000, validation_samples = 1000, length_samples = 256;
  std::int64_t max_len = 0;        ///< learned table rows (0 = the training length)
  std::int64_t vocab = 0;          ///< task vocabulary (0 = the task's: patterns 20, markov 32)
  std::int64_t eval_every = 1;     ///< longer lengths every k epochs (0: only the best model)
  std::int64_t eval_batch_tokens = train::TrainOptions{}.eval_batch_tokens;  ///< evaluation batch in tokens
  std::string eval_lengths;        ///< comma-separated longer lengths ("" = the task's)
  bool force = false;
  bool list_tasks = false;         ///< --list-tasks: print the tasks and position kinds, train nothing
  // ---- images (tasks digits, bright_left)
  std::int64_t image_patch = 2;       ///< --patch-size: digits patch side 1, 2 or 4
  std::int64_t image_grid = 6;        ///< --grid: bright_left training grid side
  std::string image_eval_grids;       ///< --eval-grids: comma-separated larger grid sides ("" = the task's)
  std::string image_pooling = "mean"; ///< --pooling: mean or cls
  // ---- graphs (tasks graph_distance, graph_cycles, kinds degree, spatial, lap_pe, rwse)
  std::int64_t graph_min_nodes = 10;  ///< --graph-min-nodes: fewest nodes per graph
  std::int64_t graph_max_nodes = 20;  ///< --graph-max-nodes: most nodes per graph (N)
  std::int64_t graph_max_hops = 8;    ///< --graph-max-hops: spatial's last hop bucket
  std::int64_t graph_lap_k = 8;       ///< --graph-lap-k: Laplacian eigenvectors (task and lap_pe)
  std::int64_t graph_rw_steps = 8;    ///< --graph-rw-steps: random-walk steps (task and rwse)
  std::string graph_pooling = "mean"; ///< --graph-pooling: mean or cls (graph token)
  // ---- sphere (task sphere_field, kinds harmonics, sphere2vec)
  std::uint64_t field_seed = 1;       ///< --field-seed: sphere_field's field
  std::int64_t field_degree = 6;      ///< --field-degree: the field's harmonics degree L
  std::int64_t sphere_degree = 10;    ///< --harmonics-degree: harmonics kind, degrees 0 .. L-1
  // ---- tables (tasks table_*, kind tabpet)
  std::string tabpet_graph = "spearman";  ///< --tabpet-graph: spearman, pearson or chow_liu
  std::int64_t tabpet_k = 0;              ///< --tabpet-k: eigenvectors at each end (0: automatic)
  double tabpet_alpha = 1.0;              ///< --tabpet-alpha: scale of the Tab-PET vectors (kind tabpet)
  std::uint64_t split_seed = 42;          ///< --split-seed: the tables' train/validation/test split
  bool table_categorical = true;          ///< --table-categorical: categorical columns as categories (false: numbers)
  std::string table_csv;                  ///< --table-csv: the CSV file of task table_csv
  std::string table_target = "target";    ///< --table-target: its target column
};

struct TrainArgs {
  TrainSettings s;
  std::string encoding = "learned", out;
};

struct CompareArgs {
  TrainSettings s;
  std::string encodings = "none,sinusoidal,learned,relative_bias,t5,continuous_mlp,rope,alibi,shaw,transformer_xl,"
                          "da_transformer,learned_fourier";
  std::int64_t seeds = 3;
  std::string out;
};

struct TrainCommands {
  TrainArgs train;
  CompareArgs compare;
  CLI::App* train_app = nullptr;
  CLI::App* compare_app = nullptr;
};

/// Register `train` and `compare` on the application.
void add_train_commands(CLI::App& app, TrainCommands& c);
/// Run the one that was given: its exit status, or -1 when neither was.
int run_train_commands(TrainCommands& c);

int cmd_train(const TrainArgs& args);
/// glibc: keep freed activations in the heap between steps (no mmap / trim per step).
void keep_freed_memory();
int cmd_compare(const CompareArgs& args);
/// --list-tasks: every task with its one-line summary, then every position kind, on stdout.
void print_tasks_and_kinds();
/// --out is required unless --list-tasks is given (checked here so that --list-tasks needs no --out).
void require_out(const std::string& command, const std::string& out);

// ---------------------------------------------------------------- shared helpers (train_run.cpp)

/// Check names before any work (one line with the closest suggestion).
void check_task_name(const std::string& command, const std::string& task);
void check_encoding_name(const std::string& command, const std::string& encoding);
void check_settings(const std::string& command, const TrainSettings& s);

posenc::train::Task build_task(const TrainSettings& s);
posenc::train::ModelConfig build_config(const TrainSettings& s, const posenc::train::Task& task,
                                        const std::string& encoding, std::uint64_t seed);
posenc::train::TrainOptions build_options(const TrainSettings& s, std::uint64_t seed);

/// metrics.csv / metrics.json text of one run.
std::string metrics_csv(const posenc::train::TrainResult& r);
std::string metrics_json(const TrainSettings& s, const std::string& encoding, const posenc::train::Task& task,
                         const posenc::train::ModelConfig& config, const posenc::train::TrainResult& r);

/// A progress printer: a one-line bar on a terminal (stderr), plain epoch lines otherwise (stdout).
std::function<void(const posenc::train::Progress&)> progress_printer(const std::string& label);

// ---------------------------------------------------------------- pictures (train_pictures.cpp)

/// Panels top to bottom with a gap.
plot::Image vstack(const std::vector<plot::Image>& panels, int gap = 12);
/// Training and validation loss (left) and accuracy (right) against the epoch.
plot::Image curves_picture(const posenc::train::TrainResult& r);
/// The position module's pictures for inputs of `length` tokens into `dir` (existing): the
/// cosine-similarity matrix of an input-side table (learned, sinusoidal, continuous_mlp,
/// learned_fourier), its first channels against position (continuous_mlp, learned_fourier), the
/// score bias per head against distance (relative_bias, t5, alibi). Returns the file names.
std::vector<std::string> position_pictures(const posenc::train::TransformerTrunk& trunk, std::int64_t length,
                                           const std::string& dir);
/// The pictures of a feature task's position module into `dir` (existing): each modality's own
/// (tools/train_pictures_<modality>.cpp; nothing for kinds a modality does not draw). Returns the file names.
std::vector<std::string> feature_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                                          const std::string& dir);
///@{
/// One modality's share of feature_pictures: appends the names it wrote to `written`.
void image_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                    const std::string& dir, std::vector<std::string>& written);
void graph_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                    const std::string& dir, std::vector<std::string>& written);
void sphere_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                     const std::string& dir, std::vector<std::string>& written);
void tabular_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                      const std::string& dir, std::vector<std::string>& written);
///@}
/// Attention maps (one row per layer, one panel per head) of the trunk's last forward.
plot::Image attention_picture(const posenc::train::TransformerTrunk& trunk, std::size_t sample = 0);

}  // namespace posenc::cli
