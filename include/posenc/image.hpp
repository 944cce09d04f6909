// posenc/image.hpp — the 2D image-grid modality.
//
// Tokens of an H x W patch grid are row-major with the column fastest:
// token index = y * W + x (y = row, x = column). Prefix tokens (class and
// register tokens) come first when a method has them; they are off the grid.
// Positions are [1, P + H*W, 2] doubles holding (y, x); prefix tokens sit at
// (0, 0), which for rotations is the identity (prefix tokens are not rotated).
// Formulas, defaults and the layout conventions that differ between
// implementations: docs/methods.md#image.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/rotary.hpp"

namespace posenc {

/// (y, x) of every token: [1, prefix + H*W, 2]; prefix tokens at (0, 0).
DTensor grid_positions(std::int64_t height, std::int64_t width, std::int64_t prefix_tokens = 0);

// ------------------------------------------------------------------ resampling tables

/// PyTorch's `F.interpolate` kernels (align_corners = False), which timm uses:
///   bicubic   Keys cubic a = -0.75, sample at u = s(o + 0.5) - 0.5, taps clamped to the grid;
///             with antialias (PIL path, used even when enlarging) a = -0.5 over a support
///             2 max(s, 1) around s(o + 0.5), weights normalised;
///   bilinear  u = max(s(o + 0.5) - 0.5, 0); with antialias a triangle of support max(s, 1);
///   nearest   legacy floor(o s), capped (TimeSformer).
/// s = in / out per axis. Separable: rows, then columns; evaluated in double.
enum class Interpolation { bicubic, bilinear, nearest };

/// How resample_grid and its relatives interpolate (`docs/methods.md#table-resampling`).
struct ResampleOptions {
  Interpolation interpolation = Interpolation::bicubic;  ///< kernel [bicubic]
  bool antialias = true;  ///< timm's default for resample_abs_pos_embed
};

/// grid [H, W, C] -> [new_h, new_w, C]. The same size returns the input unchanged.
Tensor resample_grid(const Tensor& grid, std::int64_t new_height, std::int64_t new_width,
                     const ResampleOptions& options = {});

/// timm resample_abs_pos_embed: table [P + H*W, C] of a learned ViT embedding ->
/// [P + new_h*new_w, C]; the P prefix rows (class, registers) are kept as they are.
/// Non-square grids and aspect-ratio changes are supported (timm assumes square old grids).
Tensor resample_abs_pos_embed(const Tensor& table, std::int64_t height, std::int64_t width, std::int64_t new_height,
                              std::int64_t new_width, std::int64_t prefix_tokens = 1,
                              const ResampleOptions& options = {});

/// Adjoint (vector-Jacobian product) of resample_grid: d_out [new_h, new_w, C] -> d_grid [H, W, C],
/// the exact transpose of the forward's linear map with the same taps and weights:
///   d_grid[i, j] = sum_{y, x} wy[y](i) wx[x](j) d_out[y, x]   (wy, wx the per-axis weights above).
/// Every kernel and option; the same size is the identity. Accumulated in double, stored as float.
Tensor resample_grid_backward(const Tensor& d_out, std::int64_t height, std::int64_t width,
                              const ResampleOptions& options = {});

/// Adjoint of resample_abs_pos_embed: d_out [P + new_h*new_w, C] -> d_table [P + H*W, C]; the P
/// prefix rows pass through, the grid rows go through resample_grid_backward.
Tensor resample_abs_pos_embed_backward(const Tensor& d_out, std::int64_t height, std::int64_t width,
                                       std::int64_t new_height, std::int64_t new_width,
                                       std::int64_t prefix_tokens = 1, const ResampleOptions& options = {});

// ------------------------------------------------------------------ 2D sin-cos

/// Channel layouts of the fixed 2D sin-cos table (w_k = T^(-k/(D/4)), k < D/4):
enum class SinCos2dLayout {
  mae,               ///< [sin x w | cos x w | sin y w | cos y w]  (MAE util/pos_embed.py, scenic)
  timm,              ///< [sin y w | sin x w | cos y w | cos x w]  (timm build_sincos2d_pos_embed default)
  timm_interleaved,  ///< [sin y w | cos y w | sin x w | cos x w]  (timm interleave_sin_cos=True)
};

/// Fixed 2D sin-cos table options (`docs/methods.md#2d-sin-cos`). Defaults in brackets.
struct SinCos2dOptions {
  ///@{
  /// Patch grid H x W (required).
  std::int64_t height = 0, width = 0;
  ///@}
  std::int64_t dim = 0;                 ///< D, divisible by 4
  double temperature = 10000.0;         ///< T
  SinCos2dLayout layout = SinCos2dLayout::mae;  ///< channel layout [mae]
  std::int64_t prefix_tokens = 0;       ///< zero rows prepended (MAE's cls row)
};

/// The table [prefix + H*W, D] (float64 evaluation, rounded once).
Tensor sincos_2d_table(const SinCos2dOptions& options);
/// sincos_2d_table written into a caller's buffer of (prefix + H*W) * D floats, row-major, the
/// same bits: a pipeline that reuses its memory skips allocating and first-touching a fresh table.
/// Every element of `out` is written (prefix rows as zeros), so a reused buffer needs no
/// clearing; another size throws std::invalid_argument naming the function, 'out' and both sizes.
void sincos_2d_table_into(const SinCos2dOptions& options, std::span<float> out);
/// input_add [1, prefix + H*W, D].
Encoding sincos_2d(const SinCos2dOptions& options);

// ------------------------------------------------------------------ DETR sine

/// DETR PositionEmbeddingSine (facebookresearch/detr models/position_encoding.py):
/// y, x = cumulative counts of valid pixels (1-based) down the columns / along
/// the rows; with `normalize`, y <- y / (y_last + 1e-6) * scale. Per axis F =
/// num_pos_feats channels, divisor T^(2 floor(c/2) / F), sin on even c and cos
/// on odd c (interleaved). Output per pixel: [pos_y | pos_x] (y block first), 2F.
struct DetrSineOptions {
  ///@{
  /// Pixel (feature-map) grid H x W (required).
  std::int64_t height = 0, width = 0;
  ///@}
  std::int64_t num_pos_feats = 128;     ///< F, even [128 = hidden / 2]
  double temperature = 10000.0;         ///< T [1e4]
  bool normalize = true;                ///< [true] divide by the last cumulative count and multiply by scale
  double scale = 6.283185307179586;     ///< 2 pi; only with normalize (else an error if set explicitly)
  bool scale_given = false;             ///< [false] scale was set by the caller (an error without normalize)
};

/// valid [H, W] (1 = pixel, 0 = padding) or empty for all valid -> [H*W, 2F].
Tensor detr_sine(const DetrSineOptions& options, const ITensor& valid = {});
/// detr_sine written into a caller's buffer of H*W * 2F floats (row-major, the same bits; every
/// element written; another size throws std::invalid_argument naming 'out' and both sizes).
void detr_sine_into(const DetrSineOptions& options, std::span<float> out, const ITensor& valid = {});

// ------------------------------------------------------------------ 2D axial RoPE

/// Which axis drives which pairs, and the pairing, of 2D axial RoPE (`docs/methods.md#2d-rope`).
enum class Rope2dLayout {
  eva,      ///< EVA-02 / timm RotaryEmbeddingCat: first half of the channels by the row y, second by the column x, adjacent pairs
  rope_vit, ///< naver-ai/rope-vit axial: column x first, then row y, adjacent pairs (base 100 in the reference)
  qwen2vl,  ///< Qwen2-VL vision tower: angles [y | x] in the halves layout (quarters y, x, y, x)
};

/// 2D axial RoPE options. Defaults in brackets.
struct Rope2dOptions {
  std::int64_t head_dim = 0;      ///< divisible by 4
  double base = 10000.0;          ///< theta_k = base^(-k/(d/4)), k < d/4
  Rope2dLayout layout = Rope2dLayout::eva;  ///< [eva]
};

/// Rotation by the row for half of the pairs and by the column for the other half:
/// (R q_i).(R k_j) depends only on (y_i - y_j, x_i - x_j). Positions [B|1, N, 2] (y, x).
Encoding rope_2d(const DTensor& query_positions, const DTensor& key_positions, const Rope2dOptions& options);
/// The same with one position set for queries and keys (self-attention).
Encoding rope_2d(const DTensor& positions, const Rope2dOptions& options);

// ------------------------------------------------------------------ 2D ALiBi

/// b_h(i, j) = -m_h * || p_i - p_j ||_2 with the ALiBi slopes (alibi_slopes), evaluated per tile.
Encoding alibi_2d(const DTensor& query_positions, const DTensor& key_positions, std::int64_t heads,
                  double max_bias = 8.0);
/// The same bias with given (learnable) slopes [H] instead of the ALiBi ones: b_h = -slopes[h] ||p_i - p_j||.
Encoding alibi_2d(const DTensor& query_positions, const DTensor& key_positions, const Tensor& slopes);
/// Backward of the slopes overload: b_h is linear in slopes[h], so d slopes [H] = grad.biases[0].slopes
/// (the core already forms -sum_ij dS_hij ||p_i - p_j||). grad must hold exactly the one slope bias.
Tensor alibi_2d_backward(const DTensor& query_positions, const DTensor& key_positions, const Tensor& slopes,
                         const EncodingGrad& grad);

// ------------------------------------------------------------------ Swin / BEiT relative position bias

/// Relative position index of a Wh x Ww window (timm layers/pos_embed_rel.py):
/// index(a, b) = (y_a - y_b + Wh - 1)(2 Ww - 1) + (x_a - x_b + Ww - 1), [Wh*Ww, Wh*Ww].
/// With class_token (BEiT), T = (2Wh-1)(2Ww-1): a leading row and column are
/// added, row 0 = T (cls as query), column 0 = T+1 (cls as key), [0, 0] = T+2.
ITensor relative_position_index_2d(std::int64_t window_height, std::int64_t window_width, bool class_token = false);

/// Rows of the bias table: (2Wh-1)(2Ww-1), plus 3 with class_token.
std::int64_t relative_bias_table_rows(std::int64_t window_height, std::int64_t window_width, bool class_token = false);

/// The per-window bias b_h = table[h, index] as a table bias over the explicit
/// index. table [H|1, rows]; trunc-normal(0.02) init with relative_bias_table_init.
Encoding relative_bias_2d(std::int64_t window_height, std::int64_t window_width, const Tensor& table,
                          bool class_token = false);
/// Initial bias table [heads, relative_bias_table_rows(...)]: N(0, std^2) truncated at +-2 std,
/// seeded (timm initialises it with trunc_normal_(std=0.02)).
Tensor relative_bias_table_init(std::int64_t heads, std::int64_t window_height, std::int64_t window_width,
                                bool class_token = false, double std = 0.02, std::uint64_t seed = 0);
/// Backward of relative_bias_2d: b_h(i, j) = table[h, index(i, j)] is a lookup, so the core's
/// table gradient (the scatter-sum of dS over the pairs sharing an index, class-token entries
/// T, T+1, T+2 included) is already d table: returns grad.biases[0].table [H|1, rows] (summed
/// down to table's shape if it came broadcast). grad must hold exactly the one table bias.
Tensor relative_bias_2d_backward(std::int64_t window_height, std::int64_t window_width, const Tensor& table,
                                 const EncodingGrad& grad, bool class_token = false);

// ------------------------------------------------------------------ timm Fourier features

/// timm build_fourier_pos_embed / FourierEmbed (layers/pos_embed_sincos.py).
/// Bands: in pixel mode pi * linspace(1, max_res/2, n) (linear_bands) or pi * 2^linspace(0,
/// log2(max_res) - 1, n); otherwise T^(-k/n). Coordinates: pixel mode linspace(-1, 1, size) per
/// axis, otherwise arange(size) + grid_offset; with a reference shape, t <- t / size * ref.
struct FourierFeaturesOptions {
  ///@{
  /// Patch grid H x W (required).
  std::int64_t height = 0, width = 0;
  ///@}
  std::int64_t num_bands = 64;            ///< n [64]
  bool in_pixels = true;                  ///< [true] pixel mode: coordinates linspace(-1, 1), bands pi x ...
  double max_res = 224.0;                 ///< [224] highest resolution of the pixel-mode bands
  bool linear_bands = false;              ///< [false] pixel mode: linear instead of log-spaced bands
  double temperature = 10000.0;           ///< T [1e4] of the non-pixel bands T^(-k/n)
  double grid_offset = 0.0;               ///< non-pixel mode only
  ///@{
  /// Reference shape: coordinates t <- t / size * ref (EVA's fine-tune scheme); 0 = no rescaling [0].
  std::int64_t ref_height = 0, ref_width = 0;
  ///@}
  bool xy_indexing = false;               ///< grid_indexing = 'xy': the column coordinate comes first
  bool include_grid = true;               ///< FourierEmbed's concat_grid
};
/// The n band frequencies b_k of the options (see FourierFeaturesOptions), in double.
std::vector<double> fourier_bands(const FourierFeaturesOptions& options);
/// FourierEmbed's channel layout, per token (row-major): for each feature f in
/// [grid (if included), sin b_0 .. sin b_{n-1}, cos b_0 .. cos b_{n-1}] the two axes (y, x),
/// axis fastest: [H*W, (include_grid + 2n) * 2].
Tensor fourier_features(const FourierFeaturesOptions& options);
/// fourier_features written into a caller's buffer of H*W * (include_grid + 2n) * 2 floats
/// (row-major, the same bits; every element written; another size throws std::invalid_argument
/// naming 'out' and both sizes).
void fourier_features_into(const FourierFeaturesOptions& options, std::span<float> out);
/// input_concat [1, H*W, F] (FourierEmbed concatenates the features to the channels).
Encoding fourier_features_encoding(const FourierFeaturesOptions& options);

// ------------------------------------------------------------------ RoPE-Mixed

/// Learnable per-head frequencies of RoPE-Mixed (Heo et al. 2024; naver-ai/rope-vit
/// init_random_2d_freqs; timm RotaryEmbeddingMixed): [2, heads, head_dim/2], row 0 = f_x, 1 = f_y.
/// mu_k = theta^(-4k/d) for k < d/4; per head alpha ~ U(0, 2 pi) (seeded; 0 without rotate):
/// f_x = [mu cos a | mu cos(a + pi/2)], f_y = [mu sin a | mu sin(a + pi/2)].
Tensor rope_mixed_init(std::int64_t heads, std::int64_t head_dim, double theta = 10.0, bool rotate = true,
                       std::uint64_t seed = 0);
/// Rotation with angle_{h,k}(i) = x_i f_x[h, k] + y_i f_y[h, k] (x = column, y = row), adjacent
/// pairs, per head. Positions [B|1, N, 2] (y, x); freqs [2, H, head_dim/2].
Encoding rope_mixed(const DTensor& query_positions, const DTensor& key_positions, const Tensor& freqs);
/// The same with one position set for queries and keys (self-attention).
Encoding rope_mixed(const DTensor& positions, const Tensor& freqs);
/// Backward of rope_mixed: with G = grad.rotation.query_angles [B|1, H, Nq, P] and K =
/// grad.rotation.key_angles [B|1, H, Nk, P] (both depend on freqs and are summed),
///   d f_x[h, k] = sum_{b, i} G[b, h, i, k] x_i + sum_{b, j} K[b, h, j, k] x_j,
///   d f_y[h, k] = the same with the rows y.
/// Returns d freqs [2, H, P] (double sums, rounded once). Throws when an angle gradient is
/// missing or not of the forward's angle shape.
Tensor rope_mixed_backward(const DTensor& query_positions, const DTensor& key_positions, const Tensor& freqs,
                           const EncodingGrad& grad);
/// The same for rope_mixed(positions, freqs): query and key terms both use `positions`.
Tensor rope_mixed_backward(const DTensor& positions, const Tensor& freqs, const EncodingGrad& grad);

// ------------------------------------------------------------------ relative table resizing

/// timm resize_rel_pos_bias_table_simple: table [H, (2Wh-1)(2Ww-1) + extra] -> the same for the new
/// window, each head's (2Wh-1) x (2Ww-1) grid resized bicubically (align_corners = False, no
/// antialias); the extra rows (BEiT's 3 class-token entries) are kept at the end.
Tensor resize_relative_bias_table(const Tensor& table, std::int64_t window_height, std::int64_t window_width,
                                  std::int64_t new_window_height, std::int64_t new_window_width);
/// Adjoint of resize_relative_bias_table: d_out [H, (2Wh'-1)(2Ww'-1) + extra] -> d table
/// [H, (2Wh-1)(2Ww-1) + extra]: each head's grid through resample_grid_backward (bicubic, no
/// antialias), the extra rows passed through.
Tensor resize_relative_bias_table_backward(const Tensor& d_out, std::int64_t window_height, std::int64_t window_width,
                                           std::int64_t new_window_height, std::int64_t new_window_width);

}  // namespace posenc
