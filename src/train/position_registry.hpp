// Private: how the modalities' position kinds join make_position_module (posenc/model.hpp).
// Each modality adds its factories in its own file (positions_<modality>.cpp); position.cpp
// holds the text kinds and asks each add_* function for the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "posenc/model.hpp"

namespace posenc::train::detail {

/// Builds one module from its options, the model's sizes and a seed.
using PositionFactory =
    std::function<std::unique_ptr<PositionModule>(const PositionConfig&, const PositionContext&, std::uint64_t)>;
/// Kind name -> factory.
using PositionFactories = std::map<std::string, PositionFactory>;

void add_image_positions(PositionFactories& out);    ///< positions_image.cpp
void add_graph_positions(PositionFactories& out);    ///< positions_graph.cpp
void add_sphere_positions(PositionFactories& out);   ///< positions_sphere.cpp
void add_tabular_positions(PositionFactories& out);  ///< positions_tabular.cpp

/// "a+b+...": one module over its parts (make_position_module's rule for combined kinds).
std::unique_ptr<PositionModule> combine_modules(std::vector<std::unique_ptr<PositionModule>> parts);

}  // namespace posenc::train::detail
