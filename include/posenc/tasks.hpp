// posenc/tasks.hpp — seeded synthetic tasks for comparing positional encodings by training
// (the training component; posenc/trainer.hpp trains on them).
//
// Every generator is a pure function of its TaskOptions: the same seed gives the same tokens
// on every machine (a SplitMix64 stream per split and sample, integer draws by rejection, no
// std:: distributions). Token ids are int64 in [0, vocab).
//
// patterns (classification, 3 classes; the learnable-encoding study's task)
//   Sequences of `length` (32) tokens over `vocab` (20) values. Class c plants two values at two
//   fixed positions:  class 0: value 5 at position 3 and value 8 at position 7;
//                     class 1: value 3 at position 5 and value 9 at position 10;
//                     class 2: value 7 at position 15 and value 4 at position 20.
//   Background: every other token uniform over the whole vocabulary (so the presence of a value
//   says nothing by itself: the pattern values also occur in the background of other classes).
//   No accidental patterns: a sample never holds another class's pattern at that class's
//   positions (the offending background token is redrawn). Classes are drawn uniformly.
//   Note: a planted value raises that value's count by one, so a model without positions can
//   still beat chance a little from token counts (docs/experiments.md).
//
// relative_patterns (classification, 3 classes; length extrapolation)
//   The same value pairs at the same distances (5 .. 8: 4, 3 .. 9: 5, 7 .. 4: 5) but at a
//   random start position (uniform over the starts that fit). Background uniform as above;
//   no sample holds any pattern (own or other class) anywhere except the planted one (redrawn).
//   Trained at `length` (32); evaluation sets at `eval_lengths` (64, 128, 256, 512): the
//   background grows with the length.
//
// markov (causal language modelling; length extrapolation)
//   A seeded synthetic language: an order-2 Markov chain over `vocab` (32) tokens whose
//   transition table is drawn from `language_seed` (fixed unless set): each context (a, b) has
//   4 possible next tokens with probabilities 0.55, 0.25, 0.15, 0.05. Sequences start with two
//   uniform tokens. Trained at `length` (32), evaluated at `eval_lengths` (64, 128, 256 = 8x).
//   The entropy floor (mean -log p of the next token under the chain) is reported by
//   markov_entropy().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posenc/model.hpp"
#include "posenc/tensor.hpp"

namespace posenc::train {

/// Samples of one split. Text tasks fill `tokens` (labels [S] for classification, none for language
/// modelling); feature tasks (images, graphs, sphere, tables; FeatureTransformer) fill `features` and
/// `labels` (classes) or `targets` (regression), and `where` for their position modules. Every field
/// with a leading S is cut per batch; `where` fields with a leading 1 are shared by every sample.
struct Dataset {
  ITensor tokens;    ///< [S, N] token ids in [0, vocab) (text tasks)
  Tensor features;   ///< [S, N, F] input features (feature tasks)
  ITensor labels;    ///< [S] classes in [0, classes), or [S, N] per token (-100: ignored); unset for LM / regression
  Tensor targets;    ///< [S, C] or [S, N, C] regression targets (pooling none: per token); unset for classification
  std::vector<std::int64_t> lengths;  ///< [S] valid tokens per sample (padding at the end); empty: all N
  PositionInput where;  ///< what the position modules read (positions, hops, degrees, features), leading S or 1
  /// S, the number of samples (0 when neither tokens nor features is set).
  std::size_t size() const {
    return tokens.dimension() == 2 ? tokens.shape()[0] : features.dimension() == 3 ? features.shape()[0] : 0;
  }
  /// N, the tokens per sample (0 when neither tokens nor features is set).
  std::int64_t length() const {
    return tokens.dimension() == 2     ? static_cast<std::int64_t>(tokens.shape()[1])
           : features.dimension() == 3 ? static_cast<std::int64_t>(features.shape()[1])
                                       : 0;
  }
};

/// An evaluation set at another sequence length.
struct LengthSet {
  std::int64_t length = 0;  ///< N of every sample in `data`
  Dataset data;             ///< the samples at that length
};

/// A generated task (make_task): its sizes and its splits.
struct Task {
  std::string name;  ///< a name of task_names()
  bool language_model = false;  ///< markov: TransformerLM; otherwise TransformerClassifier (text) or FeatureTransformer
  bool regression = false;      ///< feature tasks: targets and mean-squared error instead of labels and cross-entropy
  std::int64_t input_features = 0;  ///< F of Dataset::features (0: a text task)
  InputKind input = InputKind::linear;  ///< the FeatureTransformer's input layer the task needs [linear]
  Pooling pooling = Pooling::mean;   ///< feature tasks: the head's pooling (none: per-token targets) [mean]
  /// input per_feature: K_n categories of each of the N features (ModelConfig::categorical; 0: numeric; the
  /// feature's value in Dataset::features is then its category index); empty: every feature numeric [empty]
  std::vector<std::int64_t> categorical;
  ///@{
  /// What the position modules need (ModelConfig's fields of the same names): the image patch grid and the
  /// width P of Dataset::where.features (0: none).
  std::int64_t grid_height = 0, grid_width = 0, position_features = 0;
  ///@}
  ///@{
  /// Vocabulary V (0 for feature tasks), classes C (3; 0 for language modelling; regression: values per
  /// target) and training length N (feature tasks: the largest N).
  std::int64_t vocab = 0, classes = 0, length = 0;
  ///@}
  ///@{
  /// The training and validation splits, both at `length`.
  Dataset train, validation;
  ///@}
  std::vector<LengthSet> lengths;  ///< longer evaluation sets (ascending), the validation set excluded
};

/// What make_task generates: sample counts, lengths, vocabulary and seeds.
struct TaskOptions {
  std::uint64_t seed = 0;                   ///< data seed (train, validation and length sets use separate streams)
  std::int64_t train_samples = 5000;        ///< [5000]
  std::int64_t validation_samples = 1000;   ///< [1000]
  std::int64_t length_samples = 256;        ///< samples per longer evaluation length [256]
  std::int64_t length = 0;                  ///< training length (0 = the task's: 32)
  std::int64_t vocab = 0;                   ///< 0 = the task's (patterns 20, markov 32)
  std::vector<std::int64_t> eval_lengths;   ///< longer lengths; empty = the task's; {0} = none
  std::uint64_t language_seed = 1234;       ///< markov: the language (transition table)
  // ---- images (src/train/tasks_image.cpp)
  std::int64_t image_patch = 2;             ///< digits: patch side 1, 2 or 4 (8x8 images -> 8x8, 4x4, 2x2 grids) [2]
  std::int64_t image_grid = 6;              ///< bright_left: training grid side G (G x G patches) [6]
  std::vector<std::int64_t> image_eval_grids;  ///< bright_left: larger evaluation grid sides; empty = {8, 12}; {0} = none
  Pooling image_pooling = Pooling::mean;    ///< image tasks: mean or cls (class token) pooling [mean]
  // ---- graphs (src/train/tasks_graph.cpp)
  ///@{
  /// graph tasks (graph_distance, graph_cycles): nodes per graph, uniform in [graph_min_nodes,
  /// graph_max_nodes] [10, 20]; N = graph_max_nodes.
  std::int64_t graph_min_nodes = 10, graph_max_nodes = 20;
  ///@}
  std::int64_t graph_lap_k = 8;     ///< graph tasks: Laplacian eigenvectors per node in where.features [8]
  std::int64_t graph_rw_steps = 8;  ///< graph tasks: random-walk return probabilities after them [8]
  /// graph tasks: the head's pooling, mean or cls (a graph token in front, Graphormer's virtual node) [mean]
  Pooling graph_pooling = Pooling::mean;
  // ---- sphere (src/train/tasks_sphere.cpp)
  std::uint64_t field_seed = 1;             ///< sphere_field: the field (posenc/sphere_tasks.hpp) [1]
  std::int64_t field_degree = 6;            ///< sphere_field: L, the field's harmonics degrees 0 .. L [6]
  // ---- tables (src/train/tasks_tabular.cpp)
  /// table_*: the Tab-PET feature graph, built on the training split: "spearman", "pearson" or
  /// "chow_liu" ("chowliu" accepted) [spearman]
  std::string tabpet_graph = "spearman";
  std::int64_t tabpet_k = 0;        ///< table_*: eigenvectors at each end of the spectrum (0: the reference's rule) [0]
  std::uint64_t split_seed = 42;    ///< table_*: seed of the stratified 60/20/20 train/validation/test split [42]
  /// table_*: the table's categorical columns (table_diabetes: `sex`) as categories (an embedding table each,
  /// one-hot levels as Tab-PET graph nodes, as the reference), or false: as numbers like every other column [true]
  bool table_categorical = true;
  /// table_csv: the CSV file (posenc::load_table_csv with text_levels: text columns are categorical) [""]
  std::string table_csv;
  std::string table_target = "target";  ///< table_csv: its target column (class ids, text labels or values) [target]
};

/// The samples `rows` of a dataset, in that order: every field with a leading S is cut, fields with a
/// leading 1 are kept whole. A row outside [0, S) throws std::invalid_argument.
Dataset select_rows(const Dataset& data, const std::vector<std::size_t>& rows);

/// "patterns", "relative_patterns", "markov" and the modalities' tasks (docs/experiments.md).
std::vector<std::string> task_names();
/// One line describing a task (for --help and results files).
std::string task_summary(const std::string& name);

/// Build a task; an unknown name throws std::invalid_argument with the closest name. So do invalid options:
/// a sample count < 1; a length outside [21 (patterns), 6 (relative_patterns) or 3 (markov), 65536]; a vocab
/// outside [10 (markov: 4), 1000000]; eval_lengths not distinct in (length, 65536], or any for `patterns`.
Task make_task(const std::string& name, const TaskOptions& options = {});

/// The two planted (position offset, value) pairs of class c of the pattern tasks, and the
/// fixed start of each pattern in `patterns`: class 0 {3: 5, 7: 8}, 1 {5: 3, 10: 9}, 2 {15: 7, 20: 4}.
struct Pattern {
  ///@{
  /// Position and value of the first and of the second planted token (positions as planted by `patterns`).
  std::int64_t first_position, first_value, second_position, second_value;
  ///@}
  /// second_position - first_position: the distance between the two planted tokens.
  std::int64_t distance() const { return second_position - first_position; }
};
/// The patterns of classes 0, 1 and 2, indexed by class.
const std::vector<Pattern>& class_patterns();

/// The class whose pattern a `patterns` sample holds at its fixed positions (-1: none, -2: several).
std::int64_t patterns_label(const ITensor& tokens, std::size_t sample);
/// Every (class, start) where a pattern occurs anywhere in row `sample` (relative form).
std::vector<std::pair<std::int64_t, std::int64_t>> find_relative_patterns(const ITensor& tokens, std::size_t sample);

/// markov: the best achievable mean next-token loss (nats) at `length`: the first target is
/// uniform (log vocab), every later one has the chain's entropy H = -sum p log p:
/// (log vocab + (length - 2) H) / (length - 1). vocab < 1 or length < 2 throws std::invalid_argument.
double markov_entropy(std::int64_t vocab, std::int64_t length);

}  // namespace posenc::train
