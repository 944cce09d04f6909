// posenc Python module: the parts of an Encoding (and of its gradient) by path:
// "input_add", "input_concat", "rotation.query_angles", "rotation.key_angles",
// "rotation.query_log_scale", "rotation.key_log_scale", "content_weights.0.table",
// "content_position.0.table", "content_position.0.query_bias", "position_content.0.table",
// "value.0.table", "content_bias", "biases.0.slopes", "biases.0.table", "biases.0.dense",
// "multipliers.0.table". Encoding and EncodingGrad name their members alike, so one walker serves both.
#pragma once

#include <string>

#include "posenc/gradients.hpp"

namespace posenc::python {

/// Calls f(path, tensor) for every part of `e` (an Encoding or EncodingGrad), filled or not.
template <class E, class F>
void for_each_part(E& e, F&& f) {
  f("input_add", e.input_add);
  f("input_concat", e.input_concat);
  f("rotation.query_angles", e.rotation.query_angles);
  f("rotation.key_angles", e.rotation.key_angles);
  f("rotation.query_log_scale", e.rotation.query_log_scale);
  f("rotation.key_log_scale", e.rotation.key_log_scale);
  auto vectors = [&](const std::string& group, auto& list) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      f(group + "." + std::to_string(i) + ".table", list[i].table);
      f(group + "." + std::to_string(i) + ".query_bias", list[i].query_bias);
    }
  };
  vectors("content_weights", e.content_weights);
  vectors("content_position", e.content_position);
  vectors("position_content", e.position_content);
  vectors("value", e.value);
  f("content_bias", e.content_bias);
  for (std::size_t i = 0; i < e.biases.size(); ++i) {
    f("biases." + std::to_string(i) + ".slopes", e.biases[i].slopes);
    f("biases." + std::to_string(i) + ".table", e.biases[i].table);
    f("biases." + std::to_string(i) + ".dense", e.biases[i].dense);
  }
  for (std::size_t i = 0; i < e.multipliers.size(); ++i) f("multipliers." + std::to_string(i) + ".table", e.multipliers[i].table);
}

}  // namespace posenc::python
