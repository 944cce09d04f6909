// `posenc train`: one transformer, one encoding, one task (docs/experiments.md).
#include "train_cmd.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "dir_report.hpp"
#include "staging.hpp"

namespace posenc::cli {

using namespace posenc::train;
namespace fs = std::filesystem;

namespace {

constexpr const char* kOutHelp = "output directory, DIR or DIR/ (new or empty; see --force); written as a whole or not at all";

/// The first validation sample through the model in eval mode, for the attention maps.
void forward_one(TransformerClassifier& model, const Dataset& one) { model.forward(one.tokens); }
void forward_one(TransformerLM& model, const Dataset& one) { model.forward(one.tokens); }
void forward_one(FeatureTransformer& model, const Dataset& one) { model.forward(one.features, one.lengths, one.where); }
template <class Model>
void forward_one(Model& model, const Task& task) {
  model.set_training(false);
  forward_one(model, select_rows(task.validation, {0}));
}

template <class Model>
int train_model(const TrainArgs& a, const Task& task, const ModelConfig& config) {
  Model model(config);
  Staging out(a.out, "train: --out", a.s.force);
  TrainOptions o = build_options(a.s, a.s.seed);
  o.checkpoint_dir = out.file("checkpoint").string();
  o.progress = progress_printer(a.encoding);
  TrainResult r;
  try {
    r = fit(model, task, o);
  } catch (const NonFiniteLoss& e) {
    throw NonFiniteLoss(std::string(e.what()) + "; nothing written to " + out.target().string(), e.step());
  }
  out.write_text("metrics.csv", metrics_csv(r));
  out.write_text("metrics.json", metrics_json(a.s, a.encoding, task, config, r));
  const fs::path pos = out.file("position/.keep").parent_path();
  fs::remove(pos / ".keep");
  export_position_parameters(model.trunk(), pos.string());
  plot::write_png(out.file("curves.png").string(), curves_picture(r));
  const fs::path pics = out.file("pictures/.keep").parent_path();
  fs::remove(pics / ".keep");
  if (task.input_features > 0) feature_pictures(model.trunk(), task, pics.string());
  else position_pictures(model.trunk(), task.length, pics.string());
  forward_one(model, task);
  plot::write_png((pics / "attention.png").string(), attention_picture(model.trunk()));
  write_directory_report(out, "train");
  out.commit();
  std::cout << "train: " << a.encoding << " on " << task.name << ": best epoch " << r.best_epoch
            << (task.language_model || task.regression ? ", val loss " + std::to_string(r.best_val_loss)
                                    : ", val accuracy " + std::to_string(r.best_val_accuracy))
            << " (" << r.parameter_count << " parameters, " << std::lround(r.seconds) << " s) -> "
            << out.target().string() << "\n";
  return 0;
}

void add_settings(CLI::App* cmd, TrainSettings& s) {
  cmd->add_option("--task", s.task, "a task of `posenc train --list-tasks`: patterns, relative_patterns, markov, ...")
      ->capture_default_str();
  cmd->add_option("--epochs", s.epochs, "training epochs")->capture_default_str();
  cmd->add_option("--layers", s.layers, "transformer layers")->capture_default_str();
  cmd->add_option("--d-model", s.d_model, "model width")->capture_default_str();
  cmd->add_option("--heads", s.heads, "attention heads (divide --d-model)")->capture_default_str();
  cmd->add_option("--dropout", s.dropout, "dropout probability")->capture_default_str();
  cmd->add_option("--batch", s.batch, "batch size")->capture_default_str();
  cmd->add_option("--lr", s.lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", s.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd->add_option("--schedule", s.schedule, "constant or warmup_cosine")->capture_default_str();
  cmd->add_option("--warmup", s.warmup, "warm-up steps as a fraction of all steps")->capture_default_str();
  cmd->add_option("--clip", s.clip, "global gradient-norm clipping (0: off)")->capture_default_str();
  cmd->add_option("--threads", s.threads, "threads, 1 .. 256 (results are identical for the same count)")
      ->capture_default_str();
  cmd->add_option("--data-seed", s.data_seed, "seed of the task's samples")->capture_default_str();
  cmd->add_option("--train-samples", s.train_samples, "training samples")->capture_default_str();
  cmd->add_option("--val-samples", s.validation_samples, "validation samples")->capture_default_str();
  cmd->add_option("--length-samples", s.length_samples, "samples per longer evaluation length")->capture_default_str();
  cmd->add_option("--eval-lengths", s.eval_lengths, "longer evaluation lengths, comma-separated (default: the task's)");
  cmd->add_option("--eval-every", s.eval_every, "evaluate the longer lengths every k epochs (0: only the best model)")
      ->capture_default_str();
  cmd->add_option("--eval-batch-tokens", s.eval_batch_tokens,
                  "evaluation batches: max(1, this / length) sequences; 0: as many tokens as one training batch "
                  "(metrics agree to rounding)")
      ->capture_default_str();
  cmd->add_option("--vocab", s.vocab, "task vocabulary (0: the task's, patterns 20, markov 32)")->capture_default_str();
  cmd->add_option("--max-len", s.max_len, "learned table rows (0: the training length)")->capture_default_str();
  cmd->add_flag("--force", s.force, "replace the contents of a non-empty output directory as a whole");
  cmd->add_flag("--list-tasks", s.list_tasks, "print every task (one line each) and every position kind, then exit");
  // ---- images
  cmd->add_option("--patch-size", s.image_patch, "digits: patch side 1, 2 or 4 (8x8, 4x4 or 2x2 patch grid)")
      ->capture_default_str();
  cmd->add_option("--grid", s.image_grid, "bright_left: training grid side G (G x G patches)")->capture_default_str();
  cmd->add_option("--eval-grids", s.image_eval_grids, "bright_left: larger evaluation grid sides, comma-separated "
                  "(default 8,12; 0: none)");
  cmd->add_option("--pooling", s.image_pooling, "image tasks: mean or cls (class token) pooling")->check(
      CLI::IsMember({"mean", "cls"}))->capture_default_str();
  // ---- graphs
  cmd->add_option("--graph-min-nodes", s.graph_min_nodes, "graph tasks: fewest nodes per graph")
      ->capture_default_str();
  cmd->add_option("--graph-max-nodes", s.graph_max_nodes, "graph tasks: most nodes per graph (the padded N)")
      ->capture_default_str();
  cmd->add_option("--graph-max-hops", s.graph_max_hops, "spatial: hop counts above it share its bucket")
      ->capture_default_str();
  cmd->add_option("--graph-lap-k", s.graph_lap_k, "graph tasks and lap_pe: Laplacian eigenvectors per node")
      ->capture_default_str();
  cmd->add_option("--graph-rw-steps", s.graph_rw_steps, "graph tasks and rwse: random-walk return probabilities")
      ->capture_default_str();
  cmd->add_option("--graph-pooling", s.graph_pooling, "graph tasks: mean or cls (a graph token) pooling")
      ->check(CLI::IsMember({"mean", "cls"}))
      ->capture_default_str();
  // ---- sphere
  cmd->add_option("--field-seed", s.field_seed, "sphere_field: seed of the field (the same for every sample)")
      ->capture_default_str();
  cmd->add_option("--field-degree", s.field_degree, "sphere_field: the field's spherical-harmonics degree L")
      ->capture_default_str();
  cmd->add_option("--harmonics-degree", s.sphere_degree, "harmonics: degrees 0 .. L-1 (L^2 features)")
      ->capture_default_str();
  // ---- tables
  cmd->add_option("--tabpet-graph", s.tabpet_graph, "table_*: Tab-PET feature graph on the training split")
      ->check(CLI::IsMember({"spearman", "pearson", "chow_liu", "chowliu"}))->capture_default_str();
  cmd->add_option("--tabpet-k", s.tabpet_k, "table_*: Laplacian eigenvectors at each end (0: the reference's rule)")
      ->capture_default_str();
  cmd->add_option("--tabpet-alpha", s.tabpet_alpha, "tabpet: scale alpha of the Tab-PET vectors")->capture_default_str();
  cmd->add_option("--split-seed", s.split_seed, "table_*: seed of the 60/20/20 train/validation/test split")
      ->capture_default_str();
  cmd->add_option("--table-categorical", s.table_categorical,
                  "table_*: categorical columns (table_diabetes: sex) as categories with an embedding table each "
                  "(true) or as numbers (false)")
      ->capture_default_str();
  cmd->add_option("--table-csv", s.table_csv, "table_csv: the CSV file (text columns are categorical)");
  cmd->add_option("--table-target", s.table_target, "table_csv: its target column")->capture_default_str();
}

}  // namespace

void keep_freed_memory() {
  // Every training step allocates and frees the same few-megabyte activations. glibc would hand
  // them back to the kernel (mmap / trim) and fault them in again at the next step: 35-40 % of an
  // epoch on this project's machine. Keeping freed memory in the heap removes that cost.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  // The first epoch still faults every page of the heap in once (~13,000 faults of 4 KiB for the
  // small ViT, 10-20 us each on this VM: a third of that epoch). Grow the heap now (one block
  // below the mmap threshold, plus the top pad) and ask for transparent huge pages on it before
  // anything touches it: the same memory then arrives in 2 MiB pages. Only a hint: without THP
  // (or with brk unavailable) nothing changes but the reservation of address space.
  const auto before = reinterpret_cast<std::uintptr_t>(sbrk(0));
  void* volatile block = std::malloc(30 << 20);  // volatile: the compiler may not drop the pair
  const auto after = reinterpret_cast<std::uintptr_t>(sbrk(0));
  constexpr std::uintptr_t kHuge = std::uintptr_t(1) << 21;
  const std::uintptr_t begin = (before + kHuge - 1) & ~(kHuge - 1), end = after & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  std::free(block);
}

void print_tasks_and_kinds() {
  std::cout << "tasks (--task):\n";
  for (const auto& t : task_names()) std::cout << "  " << t << ": " << task_summary(t) << "\n";
  std::cout << "position kinds (--encoding, --encodings; combine with '+'):\n  none";
  for (const auto& k : position_kinds())
    if (k != "nope") std::cout << " " << k;
  std::cout << "\n";
}

void require_out(const std::string& command, const std::string& out) {
  if (out.empty()) bad(command + ": --out is required (or --list-tasks)");
}

int cmd_train(const TrainArgs& a) {
  if (a.s.list_tasks) return print_tasks_and_kinds(), 0;
  require_out("train", a.out);
  keep_freed_memory();
  check_settings("train", a.s);
  check_encoding_name("train", a.encoding);
  output_directory(a.out, "train: --out", a.s.force);  // before any work
  const Task task = build_task(a.s);
  const ModelConfig config = build_config(a.s, task, a.encoding, a.s.seed);
  if (task.language_model) return train_model<TransformerLM>(a, task, config);
  if (task.input_features > 0) return train_model<FeatureTransformer>(a, task, config);
  return train_model<TransformerClassifier>(a, task, config);
}

void add_train_commands(CLI::App& app, TrainCommands& c) {
  c.train_app = app.add_subcommand("train", "train a transformer with one positional encoding on a synthetic task");
  add_settings(c.train_app, c.train.s);
  c.train_app->add_option("--encoding", c.train.encoding, "position module kind (none, sinusoidal, learned, ...)")
      ->capture_default_str();
  c.train_app->add_option("--seed", c.train.s.seed, "model and shuffling seed")->capture_default_str();
  c.train_app->add_option("--out", c.train.out, kOutHelp);
  c.compare_app = app.add_subcommand("compare", "train every listed encoding over several seeds and tabulate");
  add_settings(c.compare_app, c.compare.s);
  c.compare_app->add_option("--encodings", c.compare.encodings, "comma-separated position module kinds")
      ->capture_default_str();
  c.compare_app->add_option("--seeds", c.compare.seeds, "seeds 0 .. S-1 per encoding")->capture_default_str();
  c.compare_app->add_option("--out", c.compare.out, kOutHelp);
}

int run_train_commands(TrainCommands& c) {
  if (c.train_app && *c.train_app) return cmd_train(c.train);
  if (c.compare_app && *c.compare_app) return cmd_compare(c.compare);
  return -1;
}

}  // namespace posenc::cli
