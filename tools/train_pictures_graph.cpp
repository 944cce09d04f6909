// Pictures of trained graph position modules (`posenc train` on a graph task).
#include "train_cmd.hpp"

namespace posenc::cli {

void graph_pictures(const posenc::train::TransformerTrunk&, const posenc::train::Task&, const std::string&,
                   std::vector<std::string>&) {}

}  // namespace posenc::cli
