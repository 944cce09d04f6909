// Position modules of the image modality (posenc/model.hpp, PositionModule).
#include "train/position_registry.hpp"

namespace posenc::train::detail {

void add_image_positions(PositionFactories&) {}

}  // namespace posenc::train::detail
