// posenc/model.hpp — trainable layers, positional encodings as trainable
// modules, and small transformer models (the training component above the
// core: it uses only the public API — MultiHeadAttention, the builders and
// their _backward functions, apply_input / apply_input_backward).
//
// Conventions. Tensors are float32 row-major; token ids are int64 [B, N];
// `lengths` [B] are valid tokens per row (padding at the end; empty = all N),
// passed to the attention core as Mask::key_lengths. Every layer keeps what
// its backward needs from its latest forward (one forward, then one backward,
// as PyTorch autograd), and backward() *accumulates* parameter gradients until
// zero_grad(). Reductions that matter (LayerNorm statistics, bias and pooling
// sums, losses) are in double. Products go through sgemm. For a given seed and
// thread count every result is bit-identical from run to run.
//
// Layers (shapes; initialisation as PyTorch):
//   Embedding     ids [B, N] -> [B, N, D];   weight [V, D] ~ N(0, 1)                       (nn.Embedding)
//   Linear        [..., in] -> [..., out];   y = x W^T + b, W [out, in], b [out] ~ U(-k, k), k = 1/sqrt(in)
//   LayerNorm     [..., D];  y = (x - mu) / sqrt(var + eps) * gamma + beta, biased var, eps 1e-5,
//                 gamma = 1, beta = 0; backward with xh = normalised x, g = dy gamma:
//                 dx = rstd (g - mean(g) - xh mean(g xh)),  dgamma = sum dy xh,  dbeta = sum dy
//   FeedForward   Linear(D, mD) -> act -> Dropout -> Linear(mD, D), act = exact GELU
//                 x Phi(x) (default; derivative Phi(x) + x phi(x)) or ReLU          (nn.TransformerEncoderLayer)
//   Dropout       inverted: y = x b / (1 - p), b ~ Bernoulli(1 - p): element i of the c-th training
//                 forward keeps iff the top 32 bits of SplitMix64(SplitMix64(seed, c), i) are below
//                 (1 - p) 2^32 (counter-based, so independent of threads); identity in eval mode or p = 0
//   EncoderBlock  pre-LN (default):  x1 = x + Drop(Attn(LN1(x))),   y = x1 + Drop(FFN(LN2(x1)))
//                 post-LN:           x1 = LN1(x + Drop(Attn(x))),   y = LN2(x1 + Drop(FFN(x1)))
//                 Attn = posenc::MultiHeadAttention with its forward Cache and backward.
//   mean_pool     [B, N, D] -> [B, D]: mean over the first lengths[b] tokens (padding excluded)
//   cls_pool      [B, N, D] -> [B, D]: token 0 (the class token the classifier prepends)
//   cross_entropy logits [M, C] (or [B, N, C]), targets [M] (or [B, N]) int64; entries equal to
//                 ignore_index (-100) are skipped: loss = mean_m (logsumexp(z_m) - z_m[t_m]),
//                 dlogits = (softmax(z_m) - onehot(t_m)) / M_valid     (F.cross_entropy, mean)
//   mse           loss = mean (y - t)^2, dy = 2 (y - t) / numel               (F.mse_loss, mean)
//
// Positional encodings as trainable modules (PositionModule): one per model
// (shared by every layer, the default) or one per layer (PositionConfig::per_layer).
// A module builds the Encoding for positions 0..N-1 ([1, N, 1]) from its
// parameters; its input-side part is added to the block input with apply_input
// (the token embeddings for a shared module; each block's input for per-layer
// modules), its score terms go to every MultiHeadAttention. After the backward
// it maps each EncodingGrad (from apply_input_backward and from every layer's
// attention backward) to its parameters through the builder's _backward.
//
//   kind             parameters (init)                               parts          export files (posenc encode ...)
//   nope / none      -                                               -              -
//   sinusoidal       - (Vaswani et al. 2017, interleaved)            input_add      -
//   learned          table [max_len, D] ~ N(0, 0.02^2)               input_add      table.npy
//   relative_bias    weight [2K+1, H] ~ N(0, 0.02^2), K = max_distance  bias         weight.npy
//   t5               table [H, num_buckets] ~ N(0, 0.02^2); scale 1  bias           table.npy
//   continuous_mlp   w1 [hidden, 1], b1, w2 [D, hidden], b2 (PyTorch)  input_add    w1.npy b1.npy w2.npy b2.npy
//   rope             - (head_dim = D/H, base rope_base)              rotation       -
//   alibi            - or, learnable_slopes, slopes [H] (ALiBi's)    slope bias     slopes.npy
//   shaw             key_table, value_table [H|1, 2K+1, D/H]         content_position + value
//                                                                                   key_table.npy value_table.npy
//   transformer_xl   w_r [D, D], u, v [H, D/H] ~ N(0, 0.02^2)        content_position + content_bias
//                                                                                   w_r.npy u.npy v.npy
//   da_transformer   v, w [H] ~ U(-1, 1)                             ReLU + multiplier  v.npy w.npy
//   learned_fourier  w_r [1, F/2, 1], w1, b1, w2, b2 (LearnedFourier)  input_add    w_r.npy w1.npy b1.npy w2.npy b2.npy
//
// ALiBi and T5 are symmetric in an encoder (classifier) and causal in the LM.
// Transformer-XL's distance i - j is clipped at 0 for future keys in an encoder.
//
// Models. TransformerClassifier: Embedding -> [class token] -> position input part ->
// Dropout -> L EncoderBlocks -> final LayerNorm (pre-LN only) -> mean or class-token
// pooling -> Linear(D, C). TransformerLM: the same trunk with a causal mask (no class
// token, no pooling) and a Linear(D, V) head: per-token logits [B, N, V].
//
// Checkpoints: a directory with one <parameter name>.npy per parameter (float32)
// and config.json (the ModelConfig and the model type), written through a hidden
// staging directory renamed into place (a failed save leaves nothing behind).
// Sources: PyTorch nn.Embedding / nn.Linear / nn.LayerNorm / nn.TransformerEncoderLayer
// (norm_first for pre-LN; Xiong et al. 2020, arXiv 2002.04745), F.cross_entropy.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "posenc/attention.hpp"
#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/layer.hpp"
#include "posenc/optim.hpp"

namespace posenc::train {

// ====================================================================== layers

/// nn.Embedding(V, D): weight [V, D] ~ N(0, 1).
class Embedding {
 public:
  Embedding() = default;  ///< an empty layer (no table), to assign a built one to
  /// A table [vocab, dim] ~ N(0, 1) from std::mt19937_64(seed); vocab or dim <= 0 throws std::invalid_argument.
  Embedding(std::int64_t vocab, std::int64_t dim, std::uint64_t seed);
  /// ids [B, N] in [0, V) -> [B, N, D]. An id outside [0, V) throws naming the position and value.
  Tensor forward(const ITensor& ids);
  /// Scatter-adds dy [B, N, D] into grad rows of the ids of the last forward (another shape throws
  /// std::invalid_argument).
  void backward(const Tensor& dy);
  /// Appends prefix + "weight" (with `grad`) to `out`.
  void parameters(const std::string& prefix, std::vector<Parameter>& out);
  ///@{
  /// The table [V, D] and its accumulated gradient (same shape).
  Tensor weight, grad;
  ///@}

 private:
  ITensor ids_;
};

/// nn.Linear(in, out): W [out, in], b [out] ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform(a = sqrt 5)).
class Linear {
 public:
  Linear() = default;  ///< an empty layer (no weights), to assign a built one to
  /// W [out, in], then b [out] (unless `bias` is false: b empty), ~ U(-k, k), k = 1/sqrt(in), from
  /// std::mt19937_64(seed). in or out <= 0 throws std::invalid_argument.
  Linear(std::int64_t in, std::int64_t out, std::uint64_t seed, bool bias = true);
  /// x [..., in] -> y = x W^T + b [..., out]; keeps x (by value: pass a temporary to hand it over without a
  /// copy). Another last axis throws std::invalid_argument.
  Tensor forward(Tensor x);
  /// dy [..., out] -> dx = dy W [..., in]; accumulates dW = dy^T x, db = sum dy. Throws std::invalid_argument
  /// before any forward or when dy is not the forward's shape with last axis out.
  Tensor backward(const Tensor& dy);
  /// Appends prefix + "weight" and, with a bias, prefix + "bias" (with their gradients) to `out`.
  void parameters(const std::string& prefix, std::vector<Parameter>& out);
  ///@{
  /// W [out, in], b [out] (empty without a bias) and their accumulated gradients (same shapes).
  Tensor weight, bias, grad_weight, grad_bias;
  ///@}

 private:
  Tensor input_;
};

/// nn.LayerNorm(D) over the last axis, eps 1e-5, weight 1, bias 0.
class LayerNorm {
 public:
  LayerNorm() = default;  ///< an empty layer (no weights), to assign a built one to
  /// gamma = 1, beta = 0 of size dim; dim <= 0 or eps <= 0 throws std::invalid_argument.
  explicit LayerNorm(std::int64_t dim, double eps = 1e-5);
  /// x [..., D] -> y (same shape): y = (x - mu) / sqrt(var + eps) gamma + beta per row (mean and biased
  /// variance in double); keeps the normalised x. Another last axis throws std::invalid_argument.
  Tensor forward(const Tensor& x);
  /// dy (the forward's shape) -> dx = rstd (g - mean(g) - xh mean(g xh)), g = dy gamma; accumulates
  /// dgamma = sum dy xh and dbeta = sum dy over the rows (in double). Another shape throws std::invalid_argument.
  Tensor backward(const Tensor& dy);
  /// Appends prefix + "weight" (gamma) and prefix + "bias" (beta) with their gradients to `out`.
  void parameters(const std::string& prefix, std::vector<Parameter>& out);
  ///@{
  /// gamma (`weight`) and beta (`bias`), both [D], and their accumulated gradients.
  Tensor weight, bias, grad_weight, grad_bias;
  ///@}

 private:
  double eps_ = 1e-5;
  Tensor xhat_;               ///< normalised input
  std::vector<double> rstd_;  ///< 1 / sqrt(var + eps) per row
};

/// Inverted dropout with a seeded generator (advances with each training forward).
class Dropout {
 public:
  Dropout() = default;  ///< p = 0: the identity
  /// Drop probability p in [0, 1) (else std::invalid_argument); `seed` keys the masks (formula at the top).
  Dropout(double p, std::uint64_t seed);
  /// x (any shape) -> x b / (1 - p) with a fresh mask b when training and p > 0, else x unchanged.
  /// By value: the mask is applied in place.
  Tensor forward(Tensor x, bool training);
  /// dy -> dy b / (1 - p) with the last forward's mask (unchanged when that forward was the identity);
  /// dy must have the forward's element count (else std::invalid_argument).
  Tensor backward(Tensor dy) const;
  /// The drop probability p.
  double p() const { return p_; }

 private:
  double p_ = 0.0;
  std::uint64_t seed_ = 0;
  std::uint64_t calls_ = 0;  ///< training forwards so far (each draws a fresh mask)
  std::vector<float> mask_;  ///< empty: identity in the last forward
};

/// The feed-forward activation: gelu, the exact GELU x Phi(x) (default), or relu, max(0, x).
enum class FfnActivation { gelu, relu };

/// Linear(D, hidden) -> act -> Dropout -> Linear(hidden, D).
class FeedForward {
 public:
  FeedForward() = default;  ///< an empty layer, to assign a built one to
  /// fc1 = Linear(dim, hidden), fc2 = Linear(hidden, dim), activation `act`, Dropout(dropout); each part's seed
  /// is derived from `seed`.
  FeedForward(std::int64_t dim, std::int64_t hidden, FfnActivation act, double dropout, std::uint64_t seed);
  /// x [..., D] -> fc2(Drop(act(fc1(x)))) [..., D]; dropout only when `training`.
  Tensor forward(Tensor x, bool training);
  /// dy [..., D] -> dx [..., D]; accumulates fc1's and fc2's gradients.
  Tensor backward(const Tensor& dy);
  /// Appends fc1's and fc2's parameters under prefix + "fc1." and prefix + "fc2." to `out`.
  void parameters(const std::string& prefix, std::vector<Parameter>& out);
  ///@{
  /// The two projections: fc1 [..., D] -> [..., hidden], fc2 [..., hidden] -> [..., D].
  Linear fc1, fc2;
  ///@}

 private:
  FfnActivation act_ = FfnActivation::gelu;
  Dropout drop_;
  Tensor pre_;  ///< fc1 output (activation input)
};

/// One transformer encoder block around posenc::MultiHeadAttention (formulas at the top).
class EncoderBlock {
 public:
  /// Sizes and options of one block (TransformerTrunk fills them from its ModelConfig).
  struct Config {
    ///@{
    /// D (model width), H (heads; D divisible by H) and the FFN hidden width [128, 8, 512].
    std::int64_t d_model = 128, heads = 8, ff_hidden = 512;
    ///@}
    FfnActivation activation = FfnActivation::gelu;  ///< FFN activation [gelu]
    double dropout = 0.1;  ///< p of the dropouts after attention, inside the FFN and after it [0.1]
    bool pre_ln = true;    ///< pre-LN (default) or post-LN (formulas at the top)
  };
  /// MultiHeadAttention(D, H), ln1 and ln2 over D, FeedForward(D, ff_hidden) and two Dropouts, each part's seed
  /// derived from `seed`; the grad_* tensors start at zero.
  EncoderBlock(const Config& config, std::uint64_t seed);
  /// x [B, N, D]; `encoding` holds score terms only (input-side parts are the caller's).
  Tensor forward(const Tensor& x, const Encoding& encoding, const AttentionOptions& options, bool training);
  /// dy [B, N, D] -> dx; accumulates parameter gradients. Pass the forward's encoding and
  /// options; the attention's encoding gradient (the groups of `request`) goes to `encoding_grad`.
  Tensor backward(const Tensor& dy, const Encoding& encoding, const AttentionOptions& options,
                  const GradRequest& request, EncodingGrad& encoding_grad);
  /// Appends prefix + "attn.w_q", "attn.b_q", ... "attn.w_o", "attn.b_o", then ln1's, ffn's and ln2's
  /// parameters (prefix + "ln1.", "ffn.", "ln2.") to `out`.
  void parameters(const std::string& prefix, std::vector<Parameter>& out);
  /// The attention's intermediates from the last forward (projected q, k, v; for pictures).
  const MultiHeadAttention::Cache& last_cache() const { return cache_; }

  /// The self-attention; its weights w_* and biases b_* are trained with the grad_* tensors below.
  MultiHeadAttention attn;
  ///@{
  /// LayerNorms [D]: before attention and before the FFN (pre-LN), or after each residual sum (post-LN).
  LayerNorm ln1, ln2;
  ///@}
  /// The position-wise feed-forward network.
  FeedForward ffn;
  ///@{
  /// Accumulated gradients of attn's weights w_q, w_k, w_v, w_o ([out, in]) and biases b_q .. b_o ([out]).
  Tensor grad_w_q, grad_w_k, grad_w_v, grad_w_o, grad_b_q, grad_b_k, grad_b_v, grad_b_o;
  ///@}

 private:
  Config config_;
  Dropout drop1_, drop2_;
  MultiHeadAttention::Cache cache_;
  Tensor attn_input_;
};

/// Mean over the first lengths[b] tokens: [B, N, D] -> [B, D] (lengths empty = N; sums in double).
/// lengths with other than B entries or an entry outside [1, N] throws std::invalid_argument.
Tensor mean_pool(const Tensor& x, const std::vector<std::int64_t>& lengths);
/// Backward of mean_pool: dy [B, D] -> dx [B, tokens, D], dy[b] / lengths[b] on the first lengths[b] tokens
/// and zero on the padding.
Tensor mean_pool_backward(const Tensor& dy, std::size_t tokens, const std::vector<std::int64_t>& lengths);
/// Token 0: [B, N, D] -> [B, D] (N = 0 throws std::invalid_argument).
Tensor cls_pool(const Tensor& x);
/// Backward of cls_pool: dy [B, D] -> dx [B, tokens, D], dy at token 0 and zeros elsewhere.
Tensor cls_pool_backward(const Tensor& dy, std::size_t tokens);

/// A loss value and its gradient with respect to the loss's input.
struct Loss {
  double value = 0.0;  ///< the mean loss
  Tensor grad;         ///< d value / d input, the input's shape
};
/// Softmax cross-entropy (F.cross_entropy, reduction mean, ignore_index): logits [..., C] ([M, C] or
/// [B, N, C]), targets the leading shape ([M] or [B, N]) in [0, C) or ignore_index. value = mean over the
/// valid targets of logsumexp(z) - z[t]; grad = (softmax(z) - onehot(t)) / M_valid, zero rows where ignored.
/// No valid target: value NaN, grad zeros (as PyTorch). A shape mismatch or a target outside [0, C)
/// throws std::invalid_argument.
Loss cross_entropy(const Tensor& logits, const ITensor& targets, std::int64_t ignore_index = -100);
/// Mean-squared error (F.mse_loss, reduction mean): value = mean (y - t)^2, grad = 2 (y - t) / numel.
/// prediction and target must have the same, non-empty shape (else std::invalid_argument).
Loss mse(const Tensor& prediction, const Tensor& target);
/// Mean-squared error over the real tokens of a padded batch: prediction and target [B, N, K], token n
/// of sample b counts when n < lengths[b]. value = sum over counted entries of (y - t)^2 / (K sum_b
/// lengths[b]); grad = 2 (y - t) / (K sum_b lengths[b]) there and 0 on padding (F.mse_loss of the
/// selected rows). Empty lengths: mse(prediction, target). lengths not [B] with entries in [1, N], or a
/// prediction that is not [B, N, K], throws std::invalid_argument.
Loss mse(const Tensor& prediction, const Tensor& target, const std::vector<std::int64_t>& lengths);

// ====================================================================== position modules

/// Options of the position modules (the table at the top says which kind reads which; the
/// modalities' kinds are listed in docs/experiments-image.md, -graph.md, -sphere.md and -tabular.md).
struct PositionConfig {
  std::string kind = "nope";          ///< a name of position_kinds() or "none" (= "nope") [nope]
  bool per_layer = false;            ///< one module per layer instead of one shared module
  std::int64_t max_len = 512;        ///< learned: table rows; continuous_mlp: reference length
  std::int64_t max_distance = 16;    ///< relative_bias, shaw: K (offsets clipped to [-K, K])
  std::int64_t num_buckets = 32;     ///< t5
  std::int64_t bucket_max_distance = 128;  ///< t5
  double rope_base = 10000.0;        ///< rope
  bool learnable_slopes = false;     ///< alibi
  bool per_head = false;             ///< shaw: one table per head (default shared, as the paper)
  std::int64_t hidden = 64;          ///< continuous_mlp, learned_fourier: MLP width
  std::int64_t fourier_dim = 0;      ///< learned_fourier: F (0 = D)
  double gamma = 1.0;                ///< learned_fourier: W_r ~ N(0, 1/gamma^2)
  double init_std = 0.02;            ///< learned, relative_bias, t5, shaw, transformer_xl
  // ---- images (patch grids; src/train/positions_image.cpp)
  double rope_mixed_theta = 10.0;    ///< rope_mixed: mu_k = theta^(-4k/Dh) of rope_mixed_init (RoPE-Mixed's 10) [10]
  // ---- graphs (src/train/positions_graph.cpp)
  std::int64_t graph_max_hops = 8;    ///< spatial: hop counts above it share its bucket (Graphormer: 20 hops) [8]
  std::int64_t graph_max_degree = 8;  ///< degree: degrees above it share its row (Graphormer: 512) [8]
  /// lap_pe reads columns [0, k) of PositionInput::features, rwse the next graph_rw_steps columns (the
  /// graph tasks' layout: Laplacian eigenvectors, then random-walk return probabilities) [8]
  std::int64_t graph_lap_k = 8;
  std::int64_t graph_rw_steps = 8;    ///< rwse: random-walk steps, columns [graph_lap_k, graph_lap_k + steps) [8]
  // ---- sphere (src/train/positions_sphere.cpp)
  std::int64_t sphere_degree = 10;          ///< harmonics: L, degrees 0 .. L-1, L^2 features [10]
  double sphere2vec_min_radius = 0.05;      ///< sphere2vec: r_min in radians (highest frequency 1/r_min) [0.05]
  double sphere2vec_max_radius = 1.0;       ///< sphere2vec: r_max in radians (lowest frequency 1/r_max) [1]
  // ---- tables (src/train/positions_tabular.cpp)
  /// tabpet: alpha, the scale of the Tab-PET vectors (Leng et al. 2026; the reference's grid 0.05 .. 10,
  /// picked on validation; alpha = 0 is the reference's same-width baseline) [1]
  double tabpet_alpha = 1.0;
};

/// Sizes a module needs from its model and task.
struct PositionContext {
  ///@{
  /// The model's D and H (D a positive multiple of H, else make_position_module throws).
  std::int64_t d_model = 0, heads = 0;
  ///@}
  bool causal = false;  ///< LM: ALiBi and T5 take their causal forms
  ///@{
  /// Images: the training patch grid (rows, columns); 0 for other tasks (Task::grid_height/width).
  std::int64_t grid_height = 0, grid_width = 0;
  ///@}
  std::int64_t position_features = 0;  ///< P of PositionInput::features (0: none; Task::position_features)
  std::int64_t prefix_tokens = 0;      ///< tokens the model puts before the data tokens (a class token: 1)
  std::int64_t tokens = 0;             ///< N, the training task's data tokens per sample (0: variable)
};

/// Where a batch's tokens are: what position modules read. The model fills `positions` for
/// all N' = prefix_tokens + N tokens (text: 0..N'-1 when the data gives none; prefix rows at 0);
/// the other fields describe the N data tokens only and stay unset when a task has none.
struct PositionInput {
  DTensor positions{};    ///< [B|1, N', A] coordinates: text 1 axis (index); images (row, column); sphere (lon, lat) radians
  ITensor hops{};         ///< [B, N, N] graphs: shortest-path hop counts (-1: unreachable)
  ITensor degrees{};      ///< [B, N] graphs: node degrees
  Tensor features{};      ///< [B|1, N, P] precomputed positional features (Laplacian eigenvectors, RWSE, Tab-PET, ...)
  std::int64_t prefix_tokens = 0;  ///< tokens before the data tokens in `positions` and in the model input
  bool training = false;  ///< the model's mode (e.g. Laplacian PE sign flips only when training)
  std::uint64_t step = 0; ///< training forwards so far (a seed stream for random sign flips)
};

/// A positional encoding with state (its parameters and their gradients).
class PositionModule {
 public:
  virtual ~PositionModule() = default;
  /// The module's kind, a name of position_kinds() ("nope" for "none").
  const std::string& kind() const { return kind_; }
  /// The Encoding for queries and keys of a batch (input-side parts and score terms); text modules
  /// read input.positions [1, N, 1].
  virtual Encoding build(const PositionInput& input) const = 0;
  /// The attention-gradient groups the parameters need (none for fixed encodings).
  virtual GradRequest request() const { return GradRequest{}; }
  /// Accumulate parameter gradients from one EncodingGrad of build(positions)'s encoding
  /// (parts that are empty in `grad` are skipped; call once per layer and once for the input).
  virtual void backward(const PositionInput& input, const EncodingGrad& grad);
  /// Appends the trainable parameters to `out`, named prefix + their export file stems (the table at the
  /// top, e.g. prefix + "table"); nothing for fixed kinds.
  virtual void parameters(const std::string& prefix, std::vector<Parameter>& out);
  /// Write the parameters as the command line's parameter files into an existing directory.
  virtual void export_parameters(const std::string& directory) const;

 protected:
  /// For subclasses: `kind` is what kind() returns.
  explicit PositionModule(std::string kind) : kind_(std::move(kind)) {}
  std::string kind_;  ///< what kind() returns
};

/// The kinds make_position_module accepts, sorted ("none" is also accepted, as "nope"), every
/// modality's included.
std::vector<std::string> position_kinds();
/// Build a module; an unknown kind throws std::invalid_argument with the closest kind, and so does a
/// d_model that is not a positive multiple of heads. "a+b" (any number of kinds joined by '+')
/// combines modules: input parts are summed, score terms of every module kept (at most one
/// rotation and one content-position family among them); parameters are named by the part's
/// index ("0.table", "1.weight"), and each part's gradient goes to its own module.
std::unique_ptr<PositionModule> make_position_module(const PositionConfig& config, const PositionContext& context,
                                                     std::uint64_t seed);

// ====================================================================== models

/// Classifier pooling: mean over the valid tokens (mean_pool), the prepended class token (cls_pool), or
/// none: the head runs on every data token (per-token outputs; FeatureTransformer only).
enum class Pooling { mean, cls, none };

/// FeatureTransformer's input layer over features [B, N, F]:
///   linear       one Linear(F, D) shared by every token (ViT patch embedding, node or point features)
///   per_feature  FT-Transformer's feature tokenizer (Gorishniy et al. 2021, "FeatureTokenizer"): token n of a
///                row is x[n, 0] w_n + b_n for a numeric feature n, and e[o_n + x[n, 0]] + b_n for a
///                categorical one (ModelConfig::categorical: K_n > 0 categories, x[n, 0] the category index
///                in [0, K_n) as a float, o_n = the K of the categorical features before n: one embedding
///                table per categorical feature, stored stacked). Weights [N_numeric, D], biases [N, D] and
///                embeddings e [sum K_n, D] ~ U(-1/sqrt(D), 1/sqrt(D)); F = 1
enum class InputKind { linear, per_feature };

/// Sizes and options of TransformerClassifier and TransformerLM (a checkpoint's config.json). The models
/// throw std::invalid_argument when vocab, d_model, layers or ff_multiplier is not positive, heads does not
/// divide d_model, dropout is outside [0, 1), or (classifier) classes is not positive.
struct ModelConfig {
  std::int64_t vocab = 0;          ///< V, required
  std::int64_t d_model = 128;      ///< D
  std::int64_t heads = 8;          ///< H (D divisible by H)
  std::int64_t layers = 3;         ///< L
  std::int64_t ff_multiplier = 4;  ///< FFN hidden = ff_multiplier * D
  double dropout = 0.1;            ///< p in [0, 1): after the input part, after attention, in and after the FFN [0.1]
  bool pre_ln = true;              ///< pre-LN blocks plus a final LayerNorm (default), or post-LN blocks
  FfnActivation activation = FfnActivation::gelu;  ///< FFN activation [gelu]
  Pooling pooling = Pooling::mean; ///< classifier only
  std::int64_t classes = 2;        ///< classifier: C; FeatureTransformer: head outputs (classes or regressed values)
  std::int64_t input_features = 0; ///< FeatureTransformer: F of its input features [B, N, F] (vocab is then unused)
  InputKind input = InputKind::linear;  ///< FeatureTransformer: its input layer [linear]
  /// FeatureTransformer with input per_feature: K_n categories of each of the N = tokens features (0: numeric;
  /// K_n >= 1: categorical, an embedding table [K_n, D]); empty: every feature numeric [empty]
  std::vector<std::int64_t> categorical;
  PositionConfig position;         ///< the positional encoding [nope]
  ///@{
  /// What the task tells the position modules (PositionContext): the image patch grid, the width P of
  /// PositionInput::features and the data tokens per sample (0: not fixed) [0].
  std::int64_t grid_height = 0, grid_width = 0, position_features = 0, tokens = 0;
  ///@}
  std::uint64_t seed = 0;          ///< initialisation and dropout seed (each part's seed is derived from it) [0]
  int threads = 0;                 ///< attention threads (0 = OpenMP default)
};

/// Embedding, position modules, blocks and final LayerNorm: shared by both models.
class TransformerTrunk {
 public:
  /// The position module(s), L EncoderBlocks and (pre-LN) the final LayerNorm; `causal` masks future keys
  /// (the LM; ALiBi and T5 then take their causal forms). An invalid config throws std::invalid_argument.
  TransformerTrunk(const ModelConfig& config, bool causal);
  /// x0 [B, N', D] (embedded tokens, N' = N or N + 1 with a class token), lengths [B] in [1, N'] (empty =
  /// all N') -> [B, N', D]. `input` tells the position modules where the tokens are (positions unset:
  /// text positions 0..N'-1). Other shapes or lengths throw std::invalid_argument.
  Tensor forward(const Tensor& x0, const std::vector<std::int64_t>& lengths, bool training,
                 const PositionInput& input = {});
  /// dy [B, N', D] -> d x0; accumulates every parameter gradient (the position modules' too). Throws
  /// std::invalid_argument before any forward.
  Tensor backward(const Tensor& dy);
  /// Appends the position modules' parameters ("position." shared, "position.<m>." per layer), the blocks'
  /// ("blocks.<l>.") and, pre-LN, the final LayerNorm's ("final_ln.") to `out`.
  void parameters(std::vector<Parameter>& out);
  /// The config the trunk was built with.
  const ModelConfig& config() const { return config_; }
  /// The position module of `layer` (the shared module when there is one); past the last: std::out_of_range.
  PositionModule& position(std::size_t layer = 0) { return *positions_.at(positions_.size() == 1 ? 0 : layer); }
  /// The position module of `layer` (the shared module when there is one); past the last: std::out_of_range.
  const PositionModule& position(std::size_t layer = 0) const {
    return *positions_.at(positions_.size() == 1 ? 0 : layer);
  }
  /// The number of position modules: 1 (shared) or L (PositionConfig::per_layer).
  std::size_t position_modules() const { return positions_.size(); }
  /// The attention weights [B, H, N', N'] of every block in the last forward (for pictures;
  /// builds full matrices: run it on a small batch). Defined in src/train/inspect.cpp.
  std::vector<Tensor> last_attention_weights() const;

 private:
  ModelConfig config_;
  bool causal_;
  std::vector<std::unique_ptr<PositionModule>> positions_;
  std::vector<EncoderBlock> blocks_;
  LayerNorm final_ln_;
  Dropout drop_;
  // forward state
  PositionInput where_;
  std::vector<Encoding> input_enc_, score_enc_;  ///< per module
  std::vector<Tensor> input_x_;                  ///< block inputs before apply_input, per module applied
  AttentionOptions options_;
};

/// Sequence classifier (formulas at the top). forward() returns logits [B, C].
class TransformerClassifier {
 public:
  /// Initialised as the table at the top, from config.seed; with pooling = cls also a class token [D]
  /// ~ N(0, 0.02^2) truncated at 2 std. An invalid config throws std::invalid_argument (see ModelConfig).
  explicit TransformerClassifier(const ModelConfig& config);
  /// tokens [B, N] int64 in [0, V), lengths [B] in [1, N] (empty = all N) -> logits [B, C].
  Tensor forward(const ITensor& tokens, const std::vector<std::int64_t>& lengths = {});
  /// dlogits [B, C] (e.g. cross_entropy(...).grad); accumulates gradients. Throws std::invalid_argument
  /// before any forward or for another shape.
  void backward(const Tensor& dlogits);
  /// Every parameter: "embedding.weight", "cls_token" (pooling = cls), the trunk's (TransformerTrunk::parameters),
  /// "head.weight", "head.bias". The pointers stay valid while the model is not moved.
  std::vector<Parameter> parameters();
  /// Zero every parameter gradient.
  void zero_grad();
  /// Training mode (dropout on; the initial mode) or eval mode (dropout off).
  void set_training(bool training) { training_ = training; }
  /// Whether the model is in training mode.
  bool training() const { return training_; }
  /// The config the model was built with.
  const ModelConfig& config() const { return trunk_.config(); }
  /// The trunk: position modules, blocks, the last forward's attention weights.
  TransformerTrunk& trunk() { return trunk_; }

  /// Save every parameter and config.json into `directory` (replaced atomically; save_checkpoint).
  void save(const std::string& directory);
  /// Rebuild from config.json and load every parameter (shapes and names checked); a missing file, a
  /// mismatch or an LM checkpoint throws std::invalid_argument.
  static TransformerClassifier load(const std::string& directory);

 private:
  TransformerTrunk trunk_;
  Embedding embedding_;
  Tensor cls_token_, grad_cls_token_;  ///< [D] (pooling = cls)
  Linear head_;
  bool training_ = true;
  std::vector<std::int64_t> lengths_;
  std::size_t tokens_ = 0;
};

/// Causal language model (formulas at the top). forward() returns logits [B, N, V].
class TransformerLM {
 public:
  /// Initialised as the table at the top, from config.seed (classes and pooling are unused). An invalid
  /// config throws std::invalid_argument (see ModelConfig).
  explicit TransformerLM(const ModelConfig& config);
  /// tokens [B, N] int64 in [0, V), lengths [B] in [1, N] (empty = all N) -> logits [B, N, V]; position n
  /// attends to positions <= n only.
  Tensor forward(const ITensor& tokens, const std::vector<std::int64_t>& lengths = {});
  /// dlogits [B, N, V]; accumulates gradients.
  void backward(const Tensor& dlogits);
  /// Next-token targets [B, N]: tokens[b, n + 1] for n + 1 < lengths[b], else ignore_index.
  static ITensor next_token_targets(const ITensor& tokens, const std::vector<std::int64_t>& lengths = {},
                                    std::int64_t ignore_index = -100);
  /// Every parameter: "embedding.weight", the trunk's (TransformerTrunk::parameters), "head.weight",
  /// "head.bias". The pointers stay valid while the model is not moved.
  std::vector<Parameter> parameters();
  /// Zero every parameter gradient.
  void zero_grad();
  /// Training mode (dropout on; the initial mode) or eval mode (dropout off).
  void set_training(bool training) { training_ = training; }
  /// Whether the model is in training mode.
  bool training() const { return training_; }
  /// The config the model was built with.
  const ModelConfig& config() const { return trunk_.config(); }
  /// The trunk: position modules, blocks, the last forward's attention weights.
  TransformerTrunk& trunk() { return trunk_; }
  /// Save every parameter and config.json into `directory` (replaced atomically; save_checkpoint).
  void save(const std::string& directory);
  /// Rebuild from config.json and load every parameter (shapes and names checked); a missing file, a
  /// mismatch or a classifier checkpoint throws std::invalid_argument.
  static TransformerLM load(const std::string& directory);

 private:
  TransformerTrunk trunk_;
  Embedding embedding_;
  Linear head_;
  bool training_ = true;
};

/// A transformer over feature tokens: images as patches, graphs as nodes, points on the sphere, table
/// rows as one token per feature. Input layer (ModelConfig::input) -> [class token] -> the trunk (position
/// modules read the batch's PositionInput) -> final LayerNorm (pre-LN) -> mean / class-token pooling, or
/// none (every data token) -> Linear(D, classes). The loss is the caller's: cross_entropy for classes,
/// mse for regression.
class FeatureTransformer {
 public:
  /// Initialised as PyTorch (the table at the top), from config.seed; classes = head outputs. input_features
  /// must be positive (per_feature: 1, with tokens = N fixed); an invalid config throws std::invalid_argument.
  explicit FeatureTransformer(const ModelConfig& config);
  /// features [B, N, F] float32, lengths [B] in [1, N] (empty = all N), `where` for the position modules
  /// (prefix_tokens and positions' prefix rows are the model's to set: pass the data tokens' positions) ->
  /// outputs [B, C] (pooled) or [B, N, C] (pooling none). A categorical feature's value that is not an
  /// integer in [0, K_n) throws std::invalid_argument (naming the sample, feature and value).
  Tensor forward(const Tensor& features, const std::vector<std::int64_t>& lengths = {}, const PositionInput& where = {});
  /// doutputs (the forward's output shape); accumulates gradients. Throws std::invalid_argument before any
  /// forward or for another shape.
  void backward(const Tensor& doutputs);
  /// Every parameter: "input.weight" ([N_numeric, D]; per_feature: only with numeric features), "input.bias",
  /// "input.categories" ([sum K_n, D]; only with categorical features), "cls_token" (pooling = cls), the trunk's
  /// (TransformerTrunk::parameters), "head.weight", "head.bias".
  std::vector<Parameter> parameters();
  /// Zero every parameter gradient.
  void zero_grad();
  /// Training mode (dropout, random sign flips; the initial mode) or eval mode.
  void set_training(bool training) { training_ = training; }
  /// Whether the model is in training mode.
  bool training() const { return training_; }
  /// The config the model was built with.
  const ModelConfig& config() const { return trunk_.config(); }
  /// The trunk: position modules, blocks, the last forward's attention weights.
  TransformerTrunk& trunk() { return trunk_; }
  /// Save every parameter and config.json ("model": "features") into `directory` (save_checkpoint).
  void save(const std::string& directory);
  /// Rebuild from config.json and load every parameter; another model's checkpoint throws std::invalid_argument.
  static FeatureTransformer load(const std::string& directory);

 private:
  TransformerTrunk trunk_;
  Tensor in_weight_, in_bias_, grad_in_weight_, grad_in_bias_;  ///< per_feature: [N_numeric, D], [N, D]
  Tensor in_categories_, grad_in_categories_;                   ///< per_feature: [sum K_n, D] (categorical only)
  /// per_feature: token n's row in in_weight_ (numeric) or its first row o_n in in_categories_ (categorical)
  std::vector<std::size_t> in_row_;
  Linear in_linear_;                                            ///< linear: Linear(F, D)
  Tensor cls_token_, grad_cls_token_;                           ///< [D] (pooling = cls)
  Linear head_;
  bool training_ = true;
  std::uint64_t forwards_ = 0;
  std::vector<std::int64_t> lengths_;  ///< trunk lengths (with the prefix)
  Tensor features_;                    ///< per_feature: the last input
  std::size_t tokens_ = 0;             ///< N' of the last forward
};

// ====================================================================== checkpoints

/// Write parameters (one <name>.npy each) and config.json (`model` = "classifier" | "lm" plus
/// the config) into `directory` through a staging directory renamed into place.
void save_checkpoint(const std::string& directory, const std::string& model, const ModelConfig& config,
                     const std::vector<Parameter>& params);
/// Read config.json: returns the config and sets `model`.
ModelConfig load_checkpoint_config(const std::string& directory, std::string& model);
/// Load every parameter's .npy into its value (names and shapes must match).
void load_checkpoint_parameters(const std::string& directory, const std::vector<Parameter>& params);
/// Export the position module(s) as the command line's parameter files: into `directory`
/// itself for a shared module, into directory/layer<l>/ for per-layer modules.
void export_position_parameters(const TransformerTrunk& trunk, const std::string& directory);

/// The config as JSON text (config.json's "config" object, indented by 2).
std::string config_to_json(const ModelConfig& config);
/// Parse config_to_json's text; missing keys keep ModelConfig's defaults. Invalid JSON or an unknown
/// activation or pooling name throws std::invalid_argument.
ModelConfig config_from_json(const std::string& json);

}  // namespace posenc::train
