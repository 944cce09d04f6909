// posenc/relative.hpp — the relative and learnable text family, each a choice
// of the terms of posenc/encoding.hpp (no method-specific code in the core).
//
//   method            fills                                                         relation rho(i, j)
//   Shaw              content_position aK[rho], value aV[rho]                       clip(j - i, -K, K) + K
//   Transformer-XL    content_position (W_R R_r) with query bias v, content_bias u  r = i - j (+ memory), clamp_len
//   TENER             content_bias, content_position (+ u), position_content        j - i and i - j (direction-aware)
//   Huang 1 / 2       multipliers a[|i - j|] / a[i - j]                              clipped distances
//   Huang 3           content_weights a[i - j] (per channel inside q.k)               i - j clipped
//   Huang 4           content_position + position_content a[i - j]                  i - j (HF relative_key_query)
//   DA-Transformer    score_relu + multipliers R^(|i - j|)                           |i - j|
//   Reformer axial    input_add [E_1[p / n_2] | E_2[p mod n_2]]                      (absolute)
//   continuous MLP    input_add MLP(phi(p))                                          (absolute, any real p)
//   learned Fourier   input_add MLP([cos(p W_r) | sin(p W_r)] / sqrt(F))             (absolute, any real p)
//
// Positions are [B|1, N, 1] (text; the absolute learnable ones accept [B|1, N, M]).
// Tables are head-major: [H|1, R, d] vectors, [H|1, R] scalars; "H|1" means per
// head or shared by all heads. Learnable parameters are plain tensors with
// seeded initialisers; load and save them with posenc/npy.hpp.
// Formulas and defaults: docs/methods.md#shaw through #learned-fourier (one section per method).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

// ------------------------------------------------------------------ Shaw et al. 2018

/// Shaw, Uszkoreit & Vaswani, "Self-Attention with Relative Position
/// Representations" (NAACL 2018); tensor2tensor dot_product_attention_relative.
///   e_ij = (q_i . k_j + q_i . aK[rho]) / sqrt(d),  z_i = sum_j p_ij (v_j + aV[rho])
///   rho = clip(j - i, -K, K) + K  (Shaw's sign, 2K+1 rows)
/// `hf_relative_key` instead uses HF BERT's `relative_key`: rho = i - j + L - 1
/// over 2L - 1 rows (L = max_position_embeddings), no clipping (positions past
/// the table are an error) and, as in HF, the key term only.
struct ShawOptions {
  std::int64_t clip = 16;            ///< K >= 1 (the paper's experiments use 16)
  bool key_term = true;              ///< fill content_position
  bool value_term = true;            ///< fill value
  bool hf_relative_key = false;      ///< HF BERT sign and table; key term only
  std::int64_t max_position_embeddings = 512;  ///< L for hf_relative_key
};

/// Rows of the Shaw tables for the options: 2K + 1, or 2L - 1 for hf_relative_key.
std::int64_t shaw_rows(const ShawOptions& options);

/// Tables aK [H|1, rows, d] and aV [H|1, rows, dv] (empty when the term is off).
struct ShawTables {
  Tensor key;    ///< aK [H|1, rows, d], or empty without the key term
  Tensor value;  ///< aV [H|1, rows, dv], or empty without the value term
};

/// N(0, std^2) tables, seeded; heads = 1 shares them across heads (the paper).
ShawTables shaw_init(const ShawOptions& options, std::int64_t heads, std::int64_t head_dim, std::int64_t value_dim,
                     double std = 0.02, std::uint64_t seed = 0);

/// Shaw's relative terms as an Encoding: content_position aK[rho] (key_term) and value aV[rho]
/// (value_term) over the relation of the options. Positions [B|1, N, 1] (`docs/methods.md#shaw`).
Encoding shaw(const DTensor& query_positions, const DTensor& key_positions, const ShawTables& tables,
              const ShawOptions& options);

/// Backward of shaw: the tables are the parts, so d key [H|1, rows, d] =
/// grad.content_position[0].table and d value [H|1, rows, dv] = grad.value[0].table
/// (each summed over heads when the table is shared and the gradient is per head);
/// a term that is off stays empty.
ShawTables shaw_backward(const DTensor& query_positions, const DTensor& key_positions, const ShawTables& tables,
                         const ShawOptions& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ Transformer-XL

/// Dai et al. 2019, kimiyoung/transformer-xl RelPartialLearnableMultiHeadAttn:
///   s_ij = [(q_i + u) . k_j + (q_i + v) . W_R R_r] / sqrt(d_h),  r = p_i - p_j >= 0
///   R_r = [sin(r w) | cos(r w)],  w_k = 10^4^(-2k/d_model)
/// With memory, keys are the M cached tokens then the Q current ones: pass key
/// positions 0..M+Q-1 and query positions M..M+Q-1 (text_positions(Q, M)) and a
/// causal mask; distances stay correct across segments. clamp_len > 0 caps r.
struct TransformerXLParams {
  Tensor w_r;  ///< [H * d_h, d_model], no bias
  Tensor u;    ///< [H, d_h] global content bias
  Tensor v;    ///< [H, d_h] global position bias
};

/// Transformer-XL sizes (`docs/methods.md#transformer-xl`). All required except clamp_len.
struct TransformerXLOptions {
  std::int64_t d_model = 0;     ///< width of R_r
  std::int64_t heads = 0;       ///< H
  std::int64_t head_dim = 0;    ///< d_h
  std::int64_t clamp_len = -1;  ///< > 0: r <= clamp_len
};

/// W_R, u and v drawn from N(0, std^2) [std 0.02], seeded.
TransformerXLParams transformer_xl_init(const TransformerXLOptions& options, double std = 0.02,
                                        std::uint64_t seed = 0);
/// The relative sinusoid table R_r for r = 0..rows-1: [rows, d_model].
Tensor transformer_xl_sinusoid(std::int64_t rows, std::int64_t d_model);
/// Transformer-XL's relative terms as an Encoding: content_position W_R R_r per head with query
/// bias v, and content_bias u (formula above). Positions [B|1, N, 1] (see the memory note above).
Encoding transformer_xl(const DTensor& query_positions, const DTensor& key_positions,
                        const TransformerXLParams& params, const TransformerXLOptions& options);

/// Backward of transformer_xl. With A = grad.content_position[0].table [H, rows, d_h]
/// (the gradient of a[h, r] = (W_R R_r)[h d_h : (h + 1) d_h]) and R = transformer_xl_sinusoid:
///   d W_R[h d_h + c, m] = sum_r A[h, r, c] R[r, m]      [H d_h, d_model]
///   d u = grad.content_bias [H, d_h],  d v = grad.content_position[0].query_bias [H, d_h]
TransformerXLParams transformer_xl_backward(const DTensor& query_positions, const DTensor& key_positions,
                                            const TransformerXLParams& params, const TransformerXLOptions& options,
                                            const EncodingGrad& grad);

// ------------------------------------------------------------------ TENER

/// Yan et al. 2019 (TENER), fastnlp/TENER modules/relative_transformer.py:
/// direction-aware relative sinusoid R_t = [sin(t w) | cos(t w)] over d_h with
/// w_k = exp(-k ln(10^4)/(m - 1)) (fairseq convention), odd in t through its sine half.
///   code form (default):  s_ij = (q_i + v) . k_j + (q_i + u) . R_{j-i} + k_j . R_{i-j}   (unscaled)
///   paper form:           s_ij = q_i . k_j + u . k_j + (q_i + v) . R_{i-j}
struct TenerOptions {
  std::int64_t heads = 0;      ///< H, required
  std::int64_t head_dim = 0;   ///< even, >= 4
  bool paper_form = false;     ///< [false] the paper's score instead of the code's
  bool scaled = false;         ///< divide by sqrt(d_h) (the code uses scale = False)
};

/// TENER's learned global biases (per layer in the reference).
struct TenerParams {
  Tensor u;  ///< [H, d_h]
  Tensor v;  ///< [H, d_h]
};

/// Xavier-normal u, v as the reference (std = sqrt(2 / (H + d_h))), seeded.
TenerParams tener_init(const TenerOptions& options, std::uint64_t seed = 0);
/// R_t for t = from..to: [to - from + 1, d_h].
Tensor tener_sinusoid(std::int64_t from, std::int64_t to, std::int64_t head_dim);
/// TENER as an Encoding (content_bias, content_position with a query bias, and in the code form
/// position_content), scale 1 unless options.scaled. Positions [B|1, N, 1] (`docs/methods.md#tener`).
Encoding tener(const DTensor& query_positions, const DTensor& key_positions, const TenerParams& params,
               const TenerOptions& options);

/// Backward of tener (the sinusoid tables are fixed): code form d v = grad.content_bias,
/// d u = grad.content_position[0].query_bias; paper form d u = grad.content_bias,
/// d v = grad.content_position[0].query_bias. Each [H, d_h].
TenerParams tener_backward(const DTensor& query_positions, const DTensor& key_positions, const TenerParams& params,
                           const TenerOptions& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ Huang et al. 2020

/// Huang, Liang, Xu & Xiang, "Improve Transformer Models with Better Relative
/// Position Embeddings" (Findings of EMNLP 2020, arXiv 2009.13658):
///   1: s_ij = (q_i . k_j) a[|i - j|] / sqrt(d)            scalar per absolute distance (multiplier)
///   2: s_ij = (q_i . k_j) a[i - j] / sqrt(d)              scalar per signed distance (multiplier)
///   3: s_ij = sum_c q_ic k_jc a[i - j]_c / sqrt(d)        vector inside the product (content_weights)
///   4: s_ij = (q_i . k_j + q_i . a[i - j] + k_j . a[i - j]) / sqrt(d)   (HF relative_key_query)
/// Distances are clipped to `max_distance` (method 4 with clip = false is HF's
/// unclipped table of 2L - 1 rows, L = max_distance + 1).
struct HuangOptions {
  int method = 4;                  ///< 1, 2, 3 or 4 [4]
  std::int64_t max_distance = 64;  ///< D [64]
  bool clip = true;                ///< [true] clip distances to D; false: a larger distance is an error
};

/// Table shape for the method: 1: [H|1, D+1]; 2: [H|1, 2D+1]; 3 and 4: [H|1, 2D+1, d].
/// Initialisation: methods 1-3 start at 1 (plain attention), method 4 N(0, std^2).
Tensor huang_init(const HuangOptions& options, std::int64_t heads, std::int64_t head_dim, double std = 0.02,
                  std::uint64_t seed = 0);
/// Huang's method options.method as an Encoding (multiplier, content weights, or content-position
/// + position-content; see the table above). Positions [B|1, N, 1] (`docs/methods.md#huang-1-4`).
Encoding huang(const DTensor& query_positions, const DTensor& key_positions, const Tensor& table,
               const HuangOptions& options);

/// Backward of huang, d table with the table's shape: method 1 / 2 grad.multipliers[0].table,
/// 3 grad.content_weights[0].table, 4 grad.content_position[0].table +
/// grad.position_content[0].table (one table feeds both terms). Summed over heads for a shared table.
Tensor huang_backward(const DTensor& query_positions, const DTensor& key_positions, const Tensor& table,
                      const HuangOptions& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ DA-Transformer

/// Wu, Wu & Huang, "DA-Transformer: Distance-aware Transformer" (NAACL 2021):
///   R^_ij = (1 + e^{v_h}) / (1 + e^{v_h - w_h |i - j|})   (1 at distance 0, at most 1 + e^{v_h})
///   s_ij = ReLU(q_i . k_j) R^_ij / sqrt(d),  then softmax (the paper normalises with softmax)
/// w_h < 0 favours long range. Tabulated per distance up to the largest |i - j|.
struct DaParams {
  Tensor v;  ///< [H]
  Tensor w;  ///< [H]
};
DaParams da_init(std::int64_t heads, std::uint64_t seed = 0);  ///< v ~ U(-1, 1), w ~ U(-1, 1)
/// R^ for distances 0..max_distance: [H, max_distance + 1].
Tensor da_rescaling(const DaParams& params, std::int64_t max_distance);
/// DA-Transformer as an Encoding: score_relu plus a multiplier R^ over |i - j|. Positions [B|1, N, 1].
Encoding da_transformer(const DTensor& query_positions, const DTensor& key_positions, const DaParams& params);

/// Backward of da_transformer through the tabulated R^ (G = grad.multipliers[0].table [H, D + 1]):
/// with ln R^_d = softplus(v) - softplus(v - w d) and sigma the logistic function,
///   dR^_d/dv = R^_d (sigma(v) - sigma(v - w d)),   dR^_d/dw = R^_d d sigma(v - w d)
///   d v_h = sum_d G[h, d] dR^_d/dv_h,   d w_h = sum_d G[h, d] dR^_d/dw_h      ([H] each)
DaParams da_transformer_backward(const DTensor& query_positions, const DTensor& key_positions, const DaParams& params,
                                 const EncodingGrad& grad);

// ------------------------------------------------------------------ Reformer axial

/// Kitaev et al. 2020, HF ReformerAxialPositionEmbeddings: factor tables
/// E_a [n_a, d_a]; P(p) = [E_1[digit_1(p)] | ... | E_k[digit_k(p)]] with p in
/// mixed radix (n_1, ..., n_k), the first axis slowest. Requires prod n_a > every position.
std::vector<Tensor> reformer_axial_init(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& dims,
                                        double std = 1.0, std::uint64_t seed = 0);
/// input_add [B|1, N, sum d_a] from integer positions [B|1, N, 1]; a position >= prod n_a throws.
Encoding reformer_axial(const std::vector<Tensor>& tables, const DTensor& positions);

/// Backward of reformer_axial: G = grad.input_add [B|1, N, sum d_a] is split by factor and
/// scatter-added: d E_a[digit_a(p)] += G[b, n, slice a]. Returns one [n_a, d_a] per table.
std::vector<Tensor> reformer_axial_backward(const std::vector<Tensor>& tables, const DTensor& positions,
                                            const EncodingGrad& grad);

// ------------------------------------------------------------------ continuous MLP

/// Hidden activation of ContinuousMlp: GELU (exact, erf), ReLU or tanh.
enum class Activation { gelu, relu, tanh };
/// phi(x) of ContinuousMlp: x / L_ref (divide), x (none), or 2x / L_ref - 1 (minus1to1).
enum class PositionScaling { divide, none, minus1to1 };

/// Parameter gradients of ContinuousMlp (shapes of w1, b1, w2, b2).
struct ContinuousMlpGrads {
  ///@{
  /// d w1 [hidden, M], d b1 [hidden], d w2 [d, hidden], d b2 [d].
  Tensor w1, b1, w2, b2;
  ///@}
};

/// A learnable absolute encoding for real positions x in R^M:
///   P(x) = W_2 act(W_1 phi(x) + b_1) + b_2, phi: x / L_ref (divide), x, or 2x/L_ref - 1.
/// PyTorch-default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), seeded.
class ContinuousMlp {
 public:
  /// Sizes and choices of the MLP. Defaults in brackets.
  struct Config {
    std::int64_t input_dim = 1;    ///< M
    std::int64_t hidden = 128;     ///< hidden width [128]
    std::int64_t output_dim = 0;   ///< d, required
    Activation activation = Activation::gelu;           ///< [gelu]
    PositionScaling scaling = PositionScaling::divide;  ///< phi [divide]
    double reference_length = 512; ///< L_ref (training length) for divide / minus1to1
  };
  /// PyTorch-default initialisation of w1, b1, w2, b2, seeded.
  explicit ContinuousMlp(const Config& config, std::uint64_t seed = 0);
  static ContinuousMlp load(const std::string& directory, const Config& config);  ///< w1, b1, w2, b2 .npy
  void save(const std::string& directory) const;  ///< Write w1, b1, w2, b2 .npy into directory (atomically).
  /// positions [B|1, N, M] -> [B|1, N, d]
  Tensor encode(const DTensor& positions) const;
  Encoding encoding(const DTensor& positions) const;  ///< input_add = encode(positions)
  /// Backward of encode: d_encoding = grad.input_add [B|1, N, d] (B rows also for shared
  /// positions [1, N, M]). With z = W_1 phi(x) + b_1, a = act(z), g = d_encoding[b, n]:
  ///   d W_2 += g a^T, d b_2 += g, dz = (W_2^T g) act'(z), d W_1 += dz phi(x)^T, d b_1 += dz
  /// act' of the exact (erf) GELU x Phi(x) is Phi(x) + x phi(x); ReLU' is 1 for x > 0, else 0.
  ContinuousMlpGrads backward(const DTensor& positions, const Tensor& d_encoding) const;
  const Config& config() const { return config_; }  ///< the configuration
  ///@{
  /// Parameters w1 [hidden, M], b1 [hidden], w2 [d, hidden], b2 [d].
  Tensor w1, b1, w2, b2;
  ///@}

 private:
  ContinuousMlp() = default;
  Config config_;
};

// ------------------------------------------------------------------ learned Fourier features

/// Parameter gradients of LearnedFourier (shapes of w_r, w1, b1, w2, b2).
struct LearnedFourierGrads {
  ///@{
  /// d w_r, d w1, d b1, d w2, d b2, with the shapes of LearnedFourier's parameters.
  Tensor w_r, w1, b1, w2, b2;
  ///@}
};

/// Li et al., "Learnable Fourier Features for Multi-Dimensional Spatial
/// Positional Encoding" (NeurIPS 2021). Per positional group g of M coordinates:
///   F = F_dim^(-1/2) [cos(x W_r^T) | sin(x W_r^T)],  W_r [F_dim/2, M]
///   P_g = W_2 GELU(W_1 F + b_1) + b_2  (d / G outputs), groups concatenated.
/// W_r ~ N(0, init_std^2), init_std = 1/gamma by default (the willGuimont code uses
/// gamma^-2, ESPnet gamma^-1/2: pass init_std); MLP PyTorch-default, seeded.
class LearnedFourier {
 public:
  /// Sizes and initialisation. Defaults in brackets.
  struct Config {
    std::int64_t input_dim = 1;     ///< M per group
    std::int64_t groups = 1;        ///< G
    std::int64_t fourier_dim = 0;   ///< F_dim, even [0 = output_dim]
    std::int64_t hidden = 32;       ///< MLP hidden width [32]
    std::int64_t output_dim = 0;    ///< d, divisible by G
    double gamma = 1.0;             ///< gamma of the W_r initialisation [1]
    double init_std = 0.0;          ///< [0 = 1/gamma]
  };
  /// W_r ~ N(0, init_std^2) and PyTorch-default MLP initialisation, seeded.
  explicit LearnedFourier(const Config& config, std::uint64_t seed = 0);
  static LearnedFourier load(const std::string& directory, const Config& config);  ///< w_r, w1, b1, w2, b2 .npy
  void save(const std::string& directory) const;  ///< Write w_r, w1, b1, w2, b2 .npy into directory (atomically).
  /// positions [B|1, N, G*M] -> [B|1, N, d]
  Tensor encode(const DTensor& positions) const;
  Encoding encoding(const DTensor& positions) const;  ///< input_add = encode(positions)
  /// Backward of encode: d_encoding [B|1, N, d]. Per group, with t = x W_r^T, F as above,
  /// z = W_1 F + b_1 and g the group's slice of d_encoding: the MLP as in ContinuousMlp
  /// (exact GELU), then dF = W_1^T dz and
  ///   d W_r[k, :] += F_dim^(-1/2) (-sin(t_k) dF[k] + cos(t_k) dF[F_dim/2 + k]) x.
  LearnedFourierGrads backward(const DTensor& positions, const Tensor& d_encoding) const;
  const Config& config() const { return config_; }  ///< the configuration
  Tensor w_r;             ///< [G, F/2, M]
  ///@{
  /// MLP parameters per group: w1 [G, hidden, F], b1 [G, hidden], w2 [G, d/G, hidden], b2 [G, d/G].
  Tensor w1, b1, w2, b2;
  ///@}

 private:
  LearnedFourier() = default;
  Config config_;
};

}  // namespace posenc
