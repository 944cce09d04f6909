// The command line's catalogue of encodings: for each published method, its
// parameters (names as in the reference configs), the parts of the Encoding
// it fills, and a builder from parameters and positions.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"

namespace posenc::cli {

/// Lower case, '-' -> '_': `--beta-fast` and `--beta_fast` are the same parameter.
std::string normalise(std::string name);
/// The candidate closest to `name` (edit distance <= 3), or "".
std::string closest(const std::string& name, const std::vector<std::string>& candidates);

struct ParamSpec {
  std::string name;
  std::string default_value;  ///< "" = unset / required where the help says so
  std::string help;
};

/// Parameter values for one encoding: defaults < implied by the inputs < given by the user.
class Params {
 public:
  Params(std::string encoding, const std::vector<ParamSpec>& specs, std::map<std::string, std::string> given);
  void imply(const std::string& name, const std::string& value);  ///< e.g. heads from the q tensor
  bool has(const std::string& name) const;
  std::string str(const std::string& name) const;
  double num(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  bool flag(const std::string& name) const;
  std::vector<double> list(const std::string& name) const;  ///< "1,2,3" or a .npy path
  const std::map<std::string, std::string>& given() const { return given_; }
  nlohmann::json to_json() const;

 private:
  std::string encoding_;
  std::map<std::string, std::string> defaults_, implied_, given_;
};

/// Queries are the last n_query of n_key positions offset .. offset + n_key - 1 (KV-cache convention).
struct Context {
  std::size_t n_query = 0, n_key = 0;
  double offset = 0;
  DTensor query_positions, key_positions;  ///< [1, N, 1]
  static Context make(std::size_t n_query, std::size_t n_key, double offset);
};

using Array = std::variant<Tensor, DTensor, ITensor>;

struct Built {
  Encoding encoding;
  std::vector<std::pair<std::string, Array>> arrays;  ///< file stem -> array
  nlohmann::json scalars = nlohmann::json::object();
};

/// The gradient of one learnable parameter, as `attend --grads` writes it: DIR/<file>.npy.
struct ParamGrad {
  std::string file;  ///< the parameter's name (its --NAME option), e.g. "table", "key_table", "slopes"
  Tensor grad;       ///< the parameter's shape
  std::string of;    ///< what it is the gradient of (for grads.json)
};

/// Maps the core's EncodingGrad of the built Encoding to the gradients of the learnable parameters
/// through the builder's backward function (tools/grads.cpp).
using BackwardFn = std::function<std::vector<ParamGrad>(const Params&, const Context&, const Built&, const EncodingGrad&)>;

struct EncodingSpec {
  std::string name;
  std::string summary;
  std::string parts;   ///< the Encoding parts it fills
  std::string source;  ///< paper / reference implementation
  std::vector<ParamSpec> params;
  std::function<Built(const Params&, const Context&)> build;
  /// Token count implied by the parameters (grids: prefix + height * width); empty: the 'tokens' parameter.
  std::function<std::size_t(const Params&)> token_count = {};
  /// Set for encodings whose learnable parameters enter the scores (attend --grads writes their gradients).
  BackwardFn backward = {};
  /// `posenc list -v`: the files attend --grads writes, or why it writes none (set by attach_backwards).
  std::string grads = {};
};

// ---------------------------------------------------------------- shared by the builders (internal)

[[noreturn]] void bad(const std::string& msg);             ///< throws std::invalid_argument(msg)
Tensor drop_batch(const Tensor& t);                          ///< [1, N, d] -> [N, d]
DTensor angles_2d(const DTensor& a);                         ///< [1, 1, N, P] -> [N, P]
Tensor to_float(const std::vector<double>& v);
ITensor relation_2d(const Relation& r);                      ///< index matrix [1, Nq, Nk] -> [Nq, Nk]
Tensor table_or(const Params& p, const std::string& name, const std::function<Tensor()>& init);
std::vector<std::int64_t> int_list(const Params& p, const std::string& name);
/// Appends the text position parameters tokens, query_tokens and offset.
std::vector<ParamSpec> with_positions(std::vector<ParamSpec> p);

/// The video, spectrogram, sphere and extra image entries (registry_grids.cpp).
std::vector<EncodingSpec> grid_and_sphere_encodings();

/// The learnable relative bias over clipped offsets, nn.Embedding(2K + 1, H) (tools/grads.cpp).
EncodingSpec relative_bias_encoding();
/// Fill EncodingSpec::backward and ::grads for the learnable encodings (tools/grads.cpp).
void attach_backwards(std::vector<EncodingSpec>& registry);

/// Every encoding the command line knows, in display order.
const std::vector<EncodingSpec>& registry();
/// Look up by name (normalised); unknown names throw std::invalid_argument with a suggestion.
const EncodingSpec& find_encoding(const std::string& name);
/// Check that every given parameter exists for the encoding (suggesting the closest).
void check_params(const EncodingSpec& spec, const std::map<std::string, std::string>& given);

/// `posenc graph FILE --out DIR ...` (tools/graph_cmd.cpp).
struct GraphArgs {
  std::string input, out;
  std::string encodings = "spd,degree,pagerank,lap:k=8:pad=1,rwse:steps=16";
  bool directed = false;
  std::string header = "auto";
  std::string weight_key = "weight";
  int threads = 0;
  bool force = false;      ///< replace a non-empty --out directory
};
int cmd_graph(const GraphArgs& args);

/// `posenc tabular TABLE.csv --out DIR ...` (tools/tabular_cmd.cpp).
struct TabularArgs {
  std::string input, out;
  std::string graph = "spearman";
  std::string k = "auto";
  double alpha = 1.0;
  std::string drop, types;
  std::string delimiter = ",";
  std::string header = "yes";  ///< yes, no or auto (TableCsvOptions::header)
  double threshold = 0.0;
  std::int64_t top_k = 0, subsample = 0;
  std::uint64_t seed = 42;
  bool force = false;  ///< replace a non-empty --out directory
};
int cmd_tabular(const TabularArgs& args);

}  // namespace posenc::cli
