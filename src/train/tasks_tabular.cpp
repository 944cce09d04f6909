// Seeded tasks of the tabular modality (posenc/tasks.hpp).
#include "train/task_registry.hpp"

namespace posenc::train::detail {

void add_tabular_tasks(TaskEntries&) {}

}  // namespace posenc::train::detail
