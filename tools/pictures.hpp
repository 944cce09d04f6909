// Pictures of the grid and sphere encodings, shared by `posenc demo` and the
// example programs (not public API). Each returns a panel for plot::hstack.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plot.hpp"
#include "posenc/posenc.hpp"

namespace posenc::plot {

/// The classic ViT figure: for each patch of a gh x gw grid, a small gh x gw map of the cosine
/// similarity between its encoding row and every other row; table [gh*gw, D] (no prefix rows).
Image similarity_grid(const Tensor& table, std::int64_t gh, std::int64_t gw, int cell = 5, int gap = 2);

/// M-RoPE position ids [3, L]: three bands (t, h, w) of L columns, each cell coloured by its id (grey separates the bands).
Image mrope_ids_picture(const DTensor& ids, int cell = 16);

/// The mixed sequence of the pictures: 3 text tokens, an image of 4 x 6 patches, 2 text tokens,
/// a video of 2 x 4 x 4 patches, 3 text tokens (spatial merge 2): ids [3, 3 + 6 + 2 + 8 + 3].
DTensor demo_mrope_ids();

/// How many patches cover each (frequency bin, frame) of a spectrogram with overlapping patches,
/// over the first `frames` frames: overlap shows as the bands where 2 and 4 patches meet. Rows are
/// frequency bins, high frequencies at the top.
Image patch_coverage(const SpectrogramPatching& patching, std::int64_t frames, int cell = 2);

/// A field on an equirectangular nlat x nlon grid (north at the top, longitude -180 at the left),
/// coloured over [-max|v|, max|v|] when `symmetric`, else over the data range.
Image world_map(const std::vector<double>& values, std::int64_t nlat, std::int64_t nlon, int cell = 2,
                bool symmetric = true);

/// Spherical harmonic Y_l^m (locationencoder convention, real, orthonormal) on an nlat x nlon grid.
std::vector<double> harmonic_on_grid(int l, int m, std::int64_t nlat, std::int64_t nlon);

/// Geodesic ALiBi bias (head `head` of `heads`) from one point (lon, lat degrees) to every cell.
std::vector<double> geodesic_bias_on_grid(double lon, double lat, std::int64_t nlat, std::int64_t nlon,
                                          std::int64_t heads = 8, std::int64_t head = 0);

/// A drawing of a connected graph (Kamada-Kawai spring layout from Boost, started on a circle; a
/// disconnected graph keeps the circle), nodes coloured by `values` (viridis over their range),
/// edges grey, in a `size` x `size` square, with a colorbar of the values (titled `label`) on its right.
Image graph_drawing(const Graph& graph, const std::vector<double>& values, int size = 420, const std::string& label = "");

/// Zachary's karate club (34 members, 78 friendships; Zachary 1977), built in for the demo.
Graph karate_club();

}  // namespace posenc::plot
