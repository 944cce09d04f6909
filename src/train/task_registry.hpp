// Private: how the modalities' tasks join make_task (posenc/tasks.hpp). Each modality adds its
// generators in its own file (tasks_<modality>.cpp); tasks.cpp holds the text tasks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "posenc/tasks.hpp"

namespace posenc::train::detail {

/// The tasks' random stream: SplitMix64 with unbiased integer draws by rejection and 53-bit uniform
/// doubles, so every generator gives the same numbers on every platform (no std:: distributions).
class TaskStream {
 public:
  explicit TaskStream(std::uint64_t seed) : state_(seed) {}
  /// The next 64 random bits.
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), n >= 1 (rejection sampling), in n's type.
  template <class I>
  I below(I n) {
    const auto un = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % un);
    std::uint64_t x;
    do x = next();
    while (x >= limit);
    return static_cast<I>(x % un);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

/// One generated task: its name, a one-line summary and its generator (a pure function of the options).
struct TaskEntry {
  std::string name, summary;
  std::function<Task(const TaskOptions&)> make;
};
/// The modalities' tasks in registration order.
using TaskEntries = std::vector<TaskEntry>;

void add_image_tasks(TaskEntries& out);    ///< tasks_image.cpp
void add_graph_tasks(TaskEntries& out);    ///< tasks_graph.cpp
void add_sphere_tasks(TaskEntries& out);   ///< tasks_sphere.cpp
void add_tabular_tasks(TaskEntries& out);  ///< tasks_tabular.cpp

/// Every modality's entry (built once).
const TaskEntries& modality_tasks();

}  // namespace posenc::train::detail
