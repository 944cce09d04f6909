// Position modules of the graph modality (posenc/model.hpp, PositionModule).
#include "train/position_registry.hpp"

namespace posenc::train::detail {

void add_graph_positions(PositionFactories&) {}

}  // namespace posenc::train::detail
