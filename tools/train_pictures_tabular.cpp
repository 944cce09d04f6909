// Pictures of trained tabular position modules (`posenc train` on a tabular task).
#include "train_cmd.hpp"

namespace posenc::cli {

void tabular_pictures(const posenc::train::TransformerTrunk&, const posenc::train::Task&, const std::string&,
                   std::vector<std::string>&) {}

}  // namespace posenc::cli
