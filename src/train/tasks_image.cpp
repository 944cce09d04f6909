// Seeded tasks of the image modality (posenc/tasks.hpp; docs/experiments-image.md).
//
// digits (classification, 10 classes): scikit-learn's 8x8 handwritten digits (load_dataset("digits"),
//   1797 images, pixel values 0..16 scaled to [0, 1]) cut into p x p patches (TaskOptions::image_patch
//   p = 1, 2 or 4: an (8/p) x (8/p) grid, F = p^2 pixel values per token, row-major within the patch).
//   Split: stratified, seeded by TaskOptions::seed: validation = ceil(S / 4) = 450 images (as
//   scikit-learn's train_test_split(test_size = 0.25, stratify = y), with our own shuffle): class c gets
//   floor(450 n_c / S) validation images, the remaining ones go to the classes with the largest
//   fractional parts (ties: lower class first); each class's images are shuffled (Fisher-Yates, a
//   SplitMix64 stream of (seed, c)) and its first images become validation. Both splits keep the file
//   order. 1347 training / 450 validation; train_samples / validation_samples are not used.
//
// bright_left (classification, 2 classes; resolution transfer): a G x G grid (TaskOptions::image_grid,
//   6) of scalar patches (F = 1): background U(-0.1, 0.1), one bright patch (+1) and one dark patch
//   (-1) at two random cells in different columns; label 1 when the bright one is left of the dark one.
//   The set of token values is the same for both labels, so a model without positions is at chance.
//   Evaluation sets at the larger grids TaskOptions::image_eval_grids ({8, 12}) with length_samples each.
//
// Positions (Dataset::where.positions): grid_positions(h, w) [1, h*w, 2] (row, column) of posenc/image.hpp.
#include <algorithm>
#include <cmath>

#include "posenc/datasets.hpp"
#include "posenc/image.hpp"
#include "train/common.hpp"
#include "train/task_registry.hpp"

namespace posenc::train::detail {

namespace {

using Stream = TaskStream;

constexpr std::uint64_t kSplitStream = 7, kTrainStream = 1, kValidationStream = 2, kGridStream = 100;

void check_pooling(const TaskOptions& o) {
  if (o.image_pooling == Pooling::none)
    fail("make_task", "parameter 'image_pooling' must be mean or cls for an image task, got none");
}

Task image_task(std::int64_t grid, std::int64_t features, std::int64_t classes, const TaskOptions& o) {
  Task t;
  t.input_features = features;
  t.input = InputKind::linear;
  t.pooling = o.image_pooling;
  t.classes = classes;
  t.grid_height = t.grid_width = grid;
  t.length = grid * grid;
  return t;
}

// ---------------------------------------------------------------------- digits

/// The rows of each split: stratified, seeded (the rule at the top).
void stratified_split(const ITensor& labels, std::int64_t classes, std::uint64_t seed, std::vector<std::size_t>& train,
                      std::vector<std::size_t>& validation) {
  const std::size_t s = labels.size();
  const std::size_t want = (s + 3) / 4;
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < s; ++i) by_class[static_cast<std::size_t>(labels(i))].push_back(i);
  std::vector<std::size_t> take(by_class.size());
  std::vector<std::pair<double, std::size_t>> remainder;
  std::size_t given = 0;
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    const double exact = static_cast<double>(want) * static_cast<double>(by_class[c].size()) / static_cast<double>(s);
    take[c] = static_cast<std::size_t>(std::floor(exact));
    given += take[c];
    remainder.push_back({-(exact - std::floor(exact)), c});
  }
  std::sort(remainder.begin(), remainder.end());
  for (std::size_t k = 0; given < want; ++k, ++given) ++take[remainder[k % remainder.size()].second];
  std::vector<bool> is_val(s, false);
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    auto& rows = by_class[c];
    Stream r(derive_seed(derive_seed(seed, kSplitStream), c));
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[r.below(i)]);
    for (std::size_t k = 0; k < take[c]; ++k) is_val[rows[k]] = true;
  }
  for (std::size_t i = 0; i < s; ++i) (is_val[i] ? validation : train).push_back(i);
}

/// images [S, 8, 8] (0..16) rows -> features [R, (8/p)^2, p^2] in [0, 1].
Dataset digit_split(const Tensor& images, const ITensor& labels, const std::vector<std::size_t>& rows, std::int64_t p) {
  const std::size_t side = images.shape()[1], g = side / static_cast<std::size_t>(p), pp = static_cast<std::size_t>(p);
  Dataset d;
  d.features = Tensor::from_shape({rows.size(), g * g, pp * pp});
  d.labels = ITensor::from_shape({rows.size()});
  for (std::size_t r = 0; r < rows.size(); ++r) {
    d.labels(r) = labels(rows[r]);
    for (std::size_t gy = 0; gy < g; ++gy)
      for (std::size_t gx = 0; gx < g; ++gx)
        for (std::size_t dy = 0; dy < pp; ++dy)
          for (std::size_t dx = 0; dx < pp; ++dx)
            d.features(r, gy * g + gx, dy * pp + dx) = images(rows[r], gy * pp + dy, gx * pp + dx) / 16.0f;
  }
  d.where.positions = grid_positions(static_cast<std::int64_t>(g), static_cast<std::int64_t>(g));
  return d;
}

Task make_digits(const TaskOptions& o) {
  if (o.image_patch != 1 && o.image_patch != 2 && o.image_patch != 4)
    fail("make_task", "parameter 'image_patch' must be 1, 2 or 4 for digits (8x8 images), got ", o.image_patch);
  check_pooling(o);
  const TableData data = load_dataset("digits");
  const Tensor images = table_images(data, 8, 8);
  const ITensor labels = data.labels();
  std::vector<std::size_t> train, validation;
  stratified_split(labels, data.classes, o.seed, train, validation);
  Task t = image_task(8 / o.image_patch, o.image_patch * o.image_patch, data.classes, o);
  t.train = digit_split(images, labels, train, o.image_patch);
  t.validation = digit_split(images, labels, validation, o.image_patch);
  return t;
}

// ---------------------------------------------------------------------- bright_left

Dataset bright_left_split(std::int64_t grid, std::int64_t samples, std::uint64_t seed) {
  const auto g = static_cast<std::size_t>(grid), n = g * g, s = static_cast<std::size_t>(samples);
  Dataset d;
  d.features = Tensor::from_shape({s, n, 1});
  d.labels = ITensor::from_shape({s});
  for (std::size_t i = 0; i < s; ++i) {
    Stream r(derive_seed(seed, i));
    for (std::size_t t = 0; t < n; ++t) d.features(i, t, 0) = static_cast<float>(0.2 * r.uniform() - 0.1);
    const std::size_t bright = r.below(n);
    std::size_t dark;
    do dark = r.below(n);
    while (dark % g == bright % g);
    d.features(i, bright, 0) = 1.0f;
    d.features(i, dark, 0) = -1.0f;
    d.labels(i) = bright % g < dark % g ? 1 : 0;
  }
  d.where.positions = grid_positions(grid, grid);
  return d;
}

Task make_bright_left(const TaskOptions& o) {
  const char* fn = "make_task";
  if (o.image_grid < 2 || o.image_grid > 64)
    fail(fn, "parameter 'image_grid' must be in [2, 64] for bright_left, got ", o.image_grid);
  if (o.train_samples < 1 || o.validation_samples < 1 || o.length_samples < 1)
    fail(fn, "sample counts must be >= 1, got train ", o.train_samples, ", validation ", o.validation_samples,
         ", length ", o.length_samples);
  check_pooling(o);
  std::vector<std::int64_t> grids = o.image_eval_grids;
  if (grids.empty()) grids = {8, 12};
  if (grids == std::vector<std::int64_t>{0}) grids.clear();
  std::sort(grids.begin(), grids.end());
  for (std::size_t k = 0; k < grids.size(); ++k)
    if (grids[k] <= o.image_grid || grids[k] > 64 || (k > 0 && grids[k] == grids[k - 1]))
      fail(fn, "parameter 'image_eval_grids' must hold distinct sides in (image_grid = ", o.image_grid,
           ", 64], got ", grids[k]);
  Task t = image_task(o.image_grid, 1, 2, o);
  t.train = bright_left_split(o.image_grid, o.train_samples, derive_seed(o.seed, kTrainStream));
  t.validation = bright_left_split(o.image_grid, o.validation_samples, derive_seed(o.seed, kValidationStream));
  for (const std::int64_t g : grids)
    t.lengths.push_back(
        {g * g, bright_left_split(g, o.length_samples, derive_seed(o.seed, kGridStream + static_cast<std::uint64_t>(g)))});
  return t;
}

}  // namespace

void add_image_tasks(TaskEntries& out) {
  out.push_back({"digits",
                 "scikit-learn 8x8 handwritten digits, 10 classes, 2x2 patches (4x4 grid, 4 values each; "
                 "--patch-size 1/2/4), stratified seeded 1347/450 split",
                 make_digits});
  out.push_back({"bright_left",
                 "G x G scalar patches (--grid, default 6), one bright and one dark cell; class = bright left "
                 "of dark (needs 2D position); evaluated at larger grids (--eval-grids, default 8,12)",
                 make_bright_left});
}

}  // namespace posenc::train::detail
