// Position modules of the tabular modality (posenc/model.hpp, PositionModule).
#include "train/position_registry.hpp"

namespace posenc::train::detail {

void add_tabular_positions(PositionFactories&) {}

}  // namespace posenc::train::detail
