// Seeded tasks of the image modality (posenc/tasks.hpp).
#include "train/task_registry.hpp"

namespace posenc::train::detail {

void add_image_tasks(TaskEntries&) {}

}  // namespace posenc::train::detail
