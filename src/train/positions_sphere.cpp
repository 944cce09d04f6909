// Position modules of the sphere modality (posenc/model.hpp, PositionModule).
#include "train/position_registry.hpp"

namespace posenc::train::detail {

void add_sphere_positions(PositionFactories&) {}

}  // namespace posenc::train::detail
