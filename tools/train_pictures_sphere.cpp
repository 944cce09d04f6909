// Pictures of trained sphere position modules (`posenc train` on a sphere task).
#include "train_cmd.hpp"

namespace posenc::cli {

void sphere_pictures(const posenc::train::TransformerTrunk&, const posenc::train::Task&, const std::string&,
                   std::vector<std::string>&) {}

}  // namespace posenc::cli
