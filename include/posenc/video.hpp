// posenc/video.hpp — video (T x H x W) positions and multimodal RoPE.
//
// So far: Qwen2-VL's M-RoPE (HF models/qwen2_vl/modeling_qwen2_vl.py,
// get_rope_index and apply_multimodal_rotary_pos_emb): position ids on three
// axes (t, h, w) for interleaved text, image and video tokens, and the
// sectioned rotation (mrope_section) that applies them through the core.
// Formulas: shared/reference/METHODS.md section 3.5.
#pragma once

#include <cstdint>
#include <vector>

#include "posenc/encoding.hpp"

namespace posenc {

/// One run of a multimodal sequence: text tokens, or a vision block whose grid
/// is given in patches before the spatial merge (as HF's image_grid_thw /
/// video_grid_thw: t frames-after-temporal-patching, h and w patch rows/columns).
struct MropeSegment {
  enum class Kind { text, vision } kind = Kind::text;
  std::int64_t length = 0;          ///< text: number of tokens
  std::int64_t t = 1, h = 0, w = 0; ///< vision: grid (t, h, w) in patches
  double second_per_grid_t = 0;     ///< Qwen2.5-VL video: seconds per temporal grid step (0 = Qwen2-VL ids)
};

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
Encoding mrope(const DTensor& ids, const MropeOptions& options);

}  // namespace posenc
