// Seeded tasks of the sphere modality (posenc/tasks.hpp).
#include "train/task_registry.hpp"

namespace posenc::train::detail {

void add_sphere_tasks(TaskEntries&) {}

}  // namespace posenc::train::detail
