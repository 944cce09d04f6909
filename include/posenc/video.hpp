// posenc/video.hpp — video (T x H x W) positions and multimodal RoPE.
//
// Tokens of a T x H x W tubelet grid are (t, h, w) row-major, the column
// fastest: index (t * H + h) * W + w, after any prefix (class) tokens, unless a
// method says otherwise (TimeSformer: patch-major, frame-minor). Positions are
// [1, P + T*H*W, 3] doubles (t, y, x); prefix tokens sit at (0, 0, 0).
//
// Methods: TimeSformer space + time tables (HF models/timesformer), ViViT's
// tables and their initialisation from an image ViT (scenic projects/vivit),
// 3D sin-cos (scenic, and the `positional-encodings` package layout), VideoMAE's
// 1D sinusoid over all tokens, 3D axial RoPE, resampling along time, and
// Qwen2-VL's M-RoPE (HF models/qwen2_vl/modeling_qwen2_vl.py, get_rope_index and
// apply_multimodal_rotary_pos_emb). Formulas: docs/methods.md#video.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/image.hpp"

namespace posenc {

// ------------------------------------------------------------------ grids and tubelets

/// (t, y, x) of every token: [1, prefix + T*H*W, 3]; prefix tokens at (0, 0, 0).
DTensor video_positions(std::int64_t frames, std::int64_t height, std::int64_t width, std::int64_t prefix_tokens = 0);

/// How a clip is cut into tubelets (defaults: VideoMAE's 16 x 224 x 224 clip in 2 x 16 x 16 tubelets).
struct TubeletPatching {
  ///@{
  /// Input clip in frames and pixels [16 x 224 x 224].
  std::int64_t frames = 16, height = 224, width = 224;
  ///@}
  ///@{
  /// Tubelet size tt x ph x pw: VideoMAE / HF ViViT (2, 16, 16).
  std::int64_t tubelet_time = 2, patch_height = 16, patch_width = 16;
  ///@}
};
/// A T x H x W token grid (tubelets along time, rows, columns).
struct VideoGrid {
  ///@{
  /// Tubelets along time, rows, columns.
  std::int64_t t = 0, h = 0, w = 0;
  ///@}
  std::int64_t tokens() const { return t * h * w; }  ///< t * h * w (no prefix)
};
/// The tubelet grid (frames / tt, height / ph, width / pw). Throws when a size does not divide
/// into whole tubelets (the message names the axis and both numbers).
VideoGrid tubelet_grid(const TubeletPatching& patching = {});

// ------------------------------------------------------------------ TimeSformer

/// The target of timesformer(): the patch grid and frame count of the clip. Defaults in brackets.
struct TimesformerOptions {
  ///@{
  /// Patch grid of one frame [14 x 14].
  std::int64_t height = 14, width = 14;
  ///@}
  std::int64_t frames = 8;               ///< F
  bool space_only = false;               ///< no time table; one frame's [1 + H*W] layout
};
/// TimeSformer's divided space-time embedding (HF TimesformerEmbeddings). space [1 + Hs*Ws, D]
/// (class row first; the old grid Hs x Ws is taken as square), time [Ft, D]. When the sizes differ
/// from the target they are resized with legacy nearest interpolation (the space grid to H x W,
/// the time table to F), as the reference does at inference. Output input_add:
///   [1, 1 + H*W*F, D], token 1 + n*F + t (patch-major, frame-minor) = space[1 + n] + time[t],
///   token 0 (class) = space[0]; or with space_only [1, 1 + H*W, D] = space (added to every frame).
Encoding timesformer(const Tensor& space_table, const Tensor& time_table, const TimesformerOptions& options);

/// Gradients of TimeSformer's two tables, with their shapes.
struct TimesformerGrad {
  Tensor space_table;  ///< [1 + Hs*Ws, D]
  Tensor time_table;   ///< [Ft, D]; with space_only (time unused) zeros of its shape, or empty when it is empty
};
/// Backward of timesformer from G = grad.input_add [1, 1 + H*W*F, D] (or [1, 1 + H*W, D] with space_only):
///   d space[0] = G[0],  d grid[n] = sum_t G[1 + n F + t],  d time'[t] = sum_n G[1 + n F + t],
/// and, where the forward resized, d grid and d time' go back through the adjoint of the nearest
/// resampling (resample_grid_backward / resample_time_backward): an old cell gathers the gradients
/// of every new cell that copied it.
TimesformerGrad timesformer_backward(const Tensor& space_table, const Tensor& time_table,
                                     const TimesformerOptions& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ ViViT

/// How vivit_table_from_image fills the video table from an image table.
enum class VivitInit {
  resize,       ///< 2D linear zoom of the image table to the new grid (scipy.ndimage.zoom order 1)
  tile,         ///< the image table repeated for each of the T' time steps
  resize_tile,  ///< resize, then tile
};
/// ViViT model 1 table initialised from an image ViT (scenic vivit model_utils): image_table
/// [P + h*w, D] (the P class rows kept) -> [P + T'*h'*w', D] in (t, h, w) order.
///   resize       zoom the (1, h, w) grid to (T', h', w') by linear interpolation with corners
///                aligned (scipy.ndimage.zoom order = 1); one source frame means every frame
///                gets the same resized grid, so it equals resize_tile;
///   tile         repeat the h x w grid T' times (needs h' = h, w' = w);
///   resize_tile  zoom the grid to h' x w', then repeat it T' times.
Tensor vivit_table_from_image(const Tensor& image_table, std::int64_t height, std::int64_t width,
                              const VideoGrid& target, std::int64_t prefix_tokens = 1,
                              VivitInit init = VivitInit::resize_tile);
/// 1D linear interpolation of a table [T, D] to [new_T, D] with corners aligned (scenic's temporal
/// tables, scipy.ndimage.zoom order = 1).
Tensor interpolate_time_aligned(const Tensor& table, std::int64_t new_frames);

/// Adjoint of vivit_table_from_image: d_out [P + T'*h'*w', D] -> d image_table [P + h*w, D]. The
/// prefix rows pass through; the T' frames are summed, then the two linear zooms are transposed
/// (each new cell hands (1 - a) and a of its gradient to the two source cells it interpolated).
Tensor vivit_table_from_image_backward(const Tensor& d_out, std::int64_t height, std::int64_t width,
                                       const VideoGrid& target, std::int64_t prefix_tokens = 1,
                                       VivitInit init = VivitInit::resize_tile);
/// Adjoint of interpolate_time_aligned: d_out [new_T, D] -> d table [T, D] (frames = T).
Tensor interpolate_time_aligned_backward(const Tensor& d_out, std::int64_t frames);

// ------------------------------------------------------------------ 3D sin-cos and VideoMAE

/// Channel layouts of the 3D sin-cos table (`docs/methods.md#3d-sin-cos`).
enum class SinCos3dLayout {
  /// scenic get_fixed_sincos_position_embedding: C % 6 == 0, w_k = T^(-k/(C/6)),
  /// [sin t | cos t | sin x | cos x | sin y | cos y] (x = column, y = row).
  scenic,
  /// `positional-encodings` PositionalEncoding3D: per-axis width c = 2 ceil(C/6) (made even),
  /// w_k = 1e4^(-2k/c), per axis interleaved (sin, cos) pairs, blocks t, y, x, truncated to C.
  positional_encodings,
};
/// 3D sin-cos options. Defaults in brackets.
struct SinCos3dOptions {
  VideoGrid grid;                  ///< T x H x W token grid (required)
  std::int64_t dim = 0;            ///< C
  double temperature = 10000.0;    ///< T of the scenic layout [1e4]
  SinCos3dLayout layout = SinCos3dLayout::scenic;  ///< [scenic]
  std::int64_t prefix_tokens = 0;  ///< zero rows first
};
/// The table [prefix + T*H*W, C]; float64 evaluation, rounded once.
Tensor sincos_3d_table(const SinCos3dOptions& options);
/// sincos_3d_table written into a caller's buffer of (prefix + T*H*W) * C floats (row-major, the
/// same bits; every element written, prefix rows as zeros; another size throws
/// std::invalid_argument naming 'out' and both sizes).
void sincos_3d_table_into(const SinCos3dOptions& options, std::span<float> out);
/// input_add [1, prefix + T*H*W, C] = sincos_3d_table(options).
Encoding sincos_3d(const SinCos3dOptions& options);

/// VideoMAE (MCG-NJU/VideoMAE get_sinusoid_encoding_table): the interleaved 1D sinusoid
/// (`docs/methods.md#sinusoidal`; paper exponent, base 1e4) over the flattened index of all
/// T*H*W tubelet tokens, no class row: input_add [1, T*H*W, dim].
Encoding videomae_sinusoid(const VideoGrid& grid, std::int64_t dim);

// ------------------------------------------------------------------ 3D axial RoPE

/// 3D axial RoPE options. Defaults in brackets.
struct Rope3dOptions {
  std::int64_t head_dim = 0;               ///< even
  double base = 10000.0;                   ///< [1e4]
  /// Pairs per axis (t, h, w), summing to head_dim / 2; empty: h = w = floor(P/3), t the rest.
  std::vector<std::int64_t> sections{};
  PairLayout layout = PairLayout::interleaved;  ///< [interleaved] (adjacent pairs, as EVA)
};
/// Rotation: the pairs of axis a (a contiguous block of sections[a] pairs) turn by
/// p_a theta_k, theta_k = base^(-k/sections[a]). Positions [B|1, N, 3] (t, y, x). Scores
/// depend only on the per-axis offsets.
Encoding rope_3d(const DTensor& query_positions, const DTensor& key_positions, const Rope3dOptions& options);
/// The same with one position set for queries and keys (self-attention).
Encoding rope_3d(const DTensor& positions, const Rope3dOptions& options);

// ------------------------------------------------------------------ time resampling

/// A per-frame table [T, D] resampled to [new_T, D] with PyTorch's 1D kernels
/// (align_corners = False): nearest (legacy, TimeSformer), bilinear (= linear), bicubic.
Tensor resample_time(const Tensor& table, std::int64_t new_frames, const ResampleOptions& options = {});
/// Adjoint of resample_time: d_out [new_T, D] -> d table [T, D] (frames = T), the transpose of the
/// 1D kernel (resample_grid_backward on a [new_T, 1, D] grid).
Tensor resample_time_backward(const Tensor& d_out, std::int64_t frames, const ResampleOptions& options = {});

// ------------------------------------------------------------------ Qwen2-VL M-RoPE

/// One run of a multimodal sequence: text tokens, or a vision block whose grid
/// is given in patches before the spatial merge (as HF's image_grid_thw /
/// video_grid_thw: t frames-after-temporal-patching, h and w patch rows/columns).
struct MropeSegment {
  /// Text tokens or a vision block (image or video).
  enum class Kind { text, vision } kind = Kind::text;  ///< what this segment is [text]
  std::int64_t length = 0;          ///< text: number of tokens
  ///@{
  /// vision: grid (t, h, w) in patches [t = 1].
  std::int64_t t = 1, h = 0, w = 0;
  ///@}
  double second_per_grid_t = 0;     ///< Qwen2.5-VL video: seconds per temporal grid step (0 = Qwen2-VL ids)
};

/// Options of mrope_position_ids (Qwen2-VL / Qwen2.5-VL defaults).
struct MropeIdOptions {
  std::int64_t spatial_merge_size = 2;  ///< 2x2 patches merge into one LLM token
  double tokens_per_second = 2;         ///< Qwen2.5-VL: temporal ids = floor(t * second_per_grid_t * tokens_per_second)
};

/// Position ids [3, L] (rows t, h, w) for the segments, left to right:
/// a text run of length l starting at s gets s .. s+l-1 on every axis (s = 0 at
/// first, otherwise 1 + the largest id so far); a vision block's tokens, in
/// (t, h, w) row-major order over the merged grid (t, h/m, w/m), get
/// (t_idx, h_idx, w_idx) + s where s is the position after the preceding text.
DTensor mrope_position_ids(const std::vector<MropeSegment>& segments, const MropeIdOptions& options = {});

/// HF's mrope_position_deltas: max id + 1 - L (added to positions when decoding past the prompt).
std::int64_t mrope_position_delta(const DTensor& ids);

/// M-RoPE rotation options (Qwen2-VL defaults: head_dim 128, base 1e6, sections 16, 24, 24).
struct MropeOptions {
  std::int64_t head_dim = 128;                          ///< rotated fully; pairs = head_dim / 2
  double base = 1000000.0;                              ///< rope_theta (Qwen2-VL: 1e6)
  std::vector<std::int64_t> mrope_section = {16, 24, 24};  ///< pairs per axis (t, h, w), summing to head_dim/2
  bool interleaved = false;                             ///< Qwen3-VL: pairs t,h,w,t,h,w,... (h, w limited by their sections)
};

/// Which axis (0 t, 1 h, 2 w) drives each of the head_dim/2 pairs.
std::vector<int> mrope_axis_of_pair(const MropeOptions& options);

/// The rotation: pair k of a token turns by ids[axis(k)] * theta_k, theta_k = base^(-2k/d),
/// halves layout (the cos/sin tables duplicated over the halves, as HF). ids [3, L] for
/// queries and keys; text-only ids reduce to 1D RoPE.
Encoding mrope(const DTensor& query_ids, const DTensor& key_ids, const MropeOptions& options);
/// The same with one id set for queries and keys (self-attention).
Encoding mrope(const DTensor& ids, const MropeOptions& options);

}  // namespace posenc
