// Private to the video modality: the grid check shared by the forward (video3d.cpp) and the
// backward (video_backward.cpp).
#pragma once

#include "detail/check.hpp"
#include "posenc/video.hpp"

namespace posenc::detail {

/// Throws std::invalid_argument naming fn when an axis of the grid (T, H, W) is below 1.
inline void check_video_grid(const char* fn, const VideoGrid& g) {
  if (g.t < 1 || g.h < 1 || g.w < 1)
    fail(fn, "parameter 'grid' must be positive on every axis, got (", g.t, ", ", g.h, ", ", g.w, ")");
}

}  // namespace posenc::detail
