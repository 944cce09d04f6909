// posenc/spectrogram.hpp — frequency x time patch grids of spectrograms.
//
// AST (Gong et al. 2021; YuanGongND/ast src/models/ast_models.py) cuts an
// F x T (mel bins x frames) spectrogram into overlapping 16 x 16 patches with
// stride 10 on both axes: f_dim = (F - 16) / 10 + 1 patch rows, t_dim =
// (T - 16) / 10 + 1 patch columns (128 x 1024 -> 12 x 101). Tokens are
// frequency-major (index f * t_dim + t) after the prefix tokens (AST: 2, the
// class and distillation tokens). Positions are [1, P + f_dim * t_dim, 2] holding
// (f, t) in patch units; prefix tokens sit at (0, 0).
// Formulas and sources: docs/methods.md#spectrogram.
#pragma once

#include <cstdint>
#include <span>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

/// How a spectrogram is cut into patches (AST defaults: 128 x 1024, 16 x 16 patches, stride 10).
struct SpectrogramPatching {
  std::int64_t frequency_bins = 128;  ///< F
  std::int64_t frames = 1024;         ///< T
  ///@{
  /// Patch size pf x pt in bins and frames [16 x 16].
  std::int64_t patch_frequency = 16, patch_time = 16;
  ///@}
  ///@{
  /// Strides sf, st: AST fstride, tstride [10, 10] (16 = no overlap).
  std::int64_t stride_frequency = 10, stride_time = 10;
  ///@}
};

/// The patch grid of a spectrogram: f_dim patch rows (frequency) x t_dim columns (time).
struct SpectrogramGrid {
  ///@{
  /// Patch rows (frequency) and columns (time).
  std::int64_t f_dim = 0, t_dim = 0;
  ///@}
  std::int64_t tokens() const { return f_dim * t_dim; }  ///< f_dim * t_dim patch tokens (no prefix)
};

/// f_dim = (F - pf) / sf + 1, t_dim = (T - pt) / st + 1 (Conv2d without padding). Throws when
/// F < pf or T < pt, or any size or stride is not positive.
SpectrogramGrid spectrogram_grid(const SpectrogramPatching& patching = {});

/// (f, t) of every token: [1, prefix + f_dim * t_dim, 2]; prefix tokens at (0, 0).
DTensor spectrogram_positions(const SpectrogramGrid& grid, std::int64_t prefix_tokens = 2);

/// How a learned table follows a new number of patches on one axis (AST):
enum class TableAdaptation {
  crop_or_interpolate,  ///< AST: fewer patches -> centre crop [old/2 - new/2, + new); more -> bilinear
  interpolate,          ///< always bilinear (align_corners = False, no antialias)
};

/// AST's adaptation of a learned table [P + old_f * old_t, D] (frequency-major) to a new grid:
/// the time axis first, then the frequency axis, each cropped around the centre or
/// interpolated bilinearly (PyTorch F.interpolate, align_corners = False); the P prefix rows
/// are kept. Examples: DeiT-384's 24 x 24 table -> 12 x 101 (crop frequency, stretch time);
/// AudioSet's 12 x 101 -> 12 x 50 (crop time).
Tensor adapt_spectrogram_table(const Tensor& table, const SpectrogramGrid& from, const SpectrogramGrid& to,
                               std::int64_t prefix_tokens = 2,
                               TableAdaptation mode = TableAdaptation::crop_or_interpolate);
/// Adjoint of adapt_spectrogram_table: d_out [P + to.f_dim * to.t_dim, D] -> d table
/// [P + from.f_dim * from.t_dim, D]. The axes are undone in reverse order (frequency, then time):
/// a centre crop scatters the gradient back into zeros at the crop offset, a bilinear stretch goes
/// through resample_grid_backward (bilinear, no antialias); the P prefix rows pass through.
/// With the learned table fed as input_add, d_out is grad.input_add [1, P + tokens, D] as [P + tokens, D].
Tensor adapt_spectrogram_table_backward(const Tensor& d_out, const SpectrogramGrid& from, const SpectrogramGrid& to,
                                        std::int64_t prefix_tokens = 2,
                                        TableAdaptation mode = TableAdaptation::crop_or_interpolate);

/// Settings of one axis of a spectrogram encoding.
struct SpectrogramAxis {
  std::int64_t dim = 0;             ///< channels for this axis (sin-cos: even; RoPE: pairs = dim / 2)
  double temperature = 10000.0;     ///< sin-cos: w_k = T^(-k/(dim/2)); RoPE: base, theta_k = T^(-k/(dim/2))
  double scale = 1.0;               ///< position multiplier (e.g. stride x hop in seconds, or 1 for patch units)
};

/// 2D sin-cos with separate settings per axis: row = [sin(f s_f w) | cos(f s_f w) | sin(t s_t w') | cos(t s_t w')]
/// with dim_f + dim_t channels (MAE's per-axis [sin | cos] blocks, frequency first).
/// Returns the table [prefix + f_dim * t_dim, dim_f + dim_t] (prefix rows zero).
Tensor spectrogram_sincos_table(const SpectrogramGrid& grid, const SpectrogramAxis& frequency,
                                const SpectrogramAxis& time, std::int64_t prefix_tokens = 2);
/// spectrogram_sincos_table written into a caller's buffer of (prefix + f_dim * t_dim) *
/// (dim_f + dim_t) floats (row-major, the same bits; every element written, prefix rows as zeros;
/// another size throws std::invalid_argument naming 'out' and both sizes).
void spectrogram_sincos_table_into(const SpectrogramGrid& grid, const SpectrogramAxis& frequency,
                                   const SpectrogramAxis& time, std::int64_t prefix_tokens, std::span<float> out);
/// input_add [1, prefix + tokens, dim_f + dim_t].
Encoding spectrogram_sincos(const SpectrogramGrid& grid, const SpectrogramAxis& frequency, const SpectrogramAxis& time,
                            std::int64_t prefix_tokens = 2);

/// Axial RoPE with separate settings per axis: the first dim_f/2 pairs turn by f s_f theta_k,
/// the next dim_t/2 by t s_t theta'_k (adjacent pairs); head_dim = dim_f + dim_t. Prefix tokens
/// are not rotated. Scores depend only on the (frequency, time) offsets.
Encoding spectrogram_rope(const SpectrogramGrid& grid, const SpectrogramAxis& frequency, const SpectrogramAxis& time,
                          std::int64_t prefix_tokens = 2);

}  // namespace posenc
