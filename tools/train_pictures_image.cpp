// Pictures of trained image position modules (`posenc train` on a image task).
#include "train_cmd.hpp"

namespace posenc::cli {

void image_pictures(const posenc::train::TransformerTrunk&, const posenc::train::Task&, const std::string&,
                   std::vector<std::string>&) {}

}  // namespace posenc::cli
