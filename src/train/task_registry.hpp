// Private: how the modalities' tasks join make_task (posenc/tasks.hpp). Each modality adds its
// generators in its own file (tasks_<modality>.cpp); tasks.cpp holds the text tasks.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "posenc/tasks.hpp"

namespace posenc::train::detail {

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
