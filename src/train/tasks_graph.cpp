// Seeded tasks of the graph modality (posenc/tasks.hpp).
#include "train/task_registry.hpp"

namespace posenc::train::detail {

void add_graph_tasks(TaskEntries&) {}

}  // namespace posenc::train::detail
