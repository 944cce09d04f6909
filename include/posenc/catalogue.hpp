// posenc/catalogue.hpp — one typed description of every method, read by every front end.
//
// Each entry describes a published method once: its name, a one-line summary,
// the parts of the Encoding it fills, its source, its fields (bound to the
// members of the method's option struct, with the struct's own defaults), its
// learnable tables (initialiser, std, seed, shape) and the inputs it reads
// (text positions, a grid, points, a graph, a table). One uniform build turns
// field values into an Encoding plus the named arrays a front end writes.
//
//   const auto values = catalogue::parse("rope", {{"beta-fast", "32"}, {"rope_type", "yarn"}});
//   const catalogue::Built b = catalogue::build("rope", values);   // b.encoding, b.arrays
//
// Field values are typed (Value). They come from strings (the command line:
// parse) or from typed values (Python: check); both normalise names ('-' and
// '_' are the same, case-insensitive), reject unknown names with the closest
// suggestion and report a bad value in one line naming the method, the field,
// the expected type and the value given. Enums are read through one name table
// per enum (enum_table<E>), shared by every field of that enum.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/sphere.hpp"
#include "posenc/tabular.hpp"
#include "posenc/video.hpp"

namespace posenc::catalogue {

// ------------------------------------------------------------------ values

/// The type of a field, which decides how its value is parsed and checked.
enum class FieldType {
  boolean,       ///< true/false, 1/0, yes/no (on/off)
  integer,       ///< a whole number
  real,          ///< a finite number
  text,          ///< a string (a file path, a segment list)
  choice,        ///< one name of an enum's table (its aliases accepted)
  integer_list,  ///< "1,2,3" or a .npy file; a list of integers
  real_list,     ///< "0.5,1,2" or a .npy file; a list of finite numbers
  tensor,        ///< float32 array (a .npy path from text)
  dtensor,       ///< float64 array (a .npy path from text)
  itensor,       ///< int64 array (a .npy path from text)
  tensor_list,   ///< several float32 arrays ("a.npy,b.npy" from text)
};
/// "integer", "real", "one of halves|interleaved", ... (for messages and help).
std::string type_name(FieldType type);

/// A typed field value. A choice holds the canonical name of the enum value.
using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>,
                           Tensor, DTensor, ITensor, std::vector<Tensor>>;
/// Field values by normalised name.
using Values = std::map<std::string, Value>;
/// A value as the command line would write it ("true", "0.02", "1,2,3", "[2, 3] float32 array").
std::string value_text(const Value& value);

// ------------------------------------------------------------------ descriptions

/// One parameter of an entry: its name, type, accepted choices, default (read from the option
/// struct) and help, as `posenc encode NAME --help` prints it.
struct FieldInfo {
  std::string name;                    ///< normalised (lower case, '_')
  FieldType type = FieldType::real;    ///< how its text is parsed (integer, real, boolean, list, choice, ...)
  std::vector<std::string> choices;    ///< choice: canonical names
  std::map<std::string, std::string> aliases;  ///< choice: other accepted names -> canonical
  std::optional<Value> default_value;  ///< read from the option struct; empty: unset / optional
  std::string default_text;            ///< value_text(default) or "(unset)"
  /// Set when the catalogue gives a value where the option struct has none (a required member,
  /// e.g. SinusoidOptions::dim = 0): the struct's own default, as text.
  std::optional<std::string> struct_default;
  std::string help;                    ///< one line: what the field sets
  std::string group;                   ///< "options", "positions", "grid", "table", "input"
  /// Other names users type for this field (e.g. HF's "rope_scaling" for rope_type): never
  /// accepted, only suggested (suggest_field).
  std::vector<std::string> hints;
};

/// A learnable table, declared once.
struct TableInfo {
  std::string field;        ///< the field that loads it (e.g. "table", "key_table", "slopes")
  std::string array;        ///< the name of the array it is written as (e.g. "bias_table")
  std::string shape;        ///< e.g. "[heads, num_buckets]"
  std::string initialiser;  ///< e.g. "t5_table_init: N(0, std^2)"
  std::string std_field;    ///< field holding the initialisation std ("" if none)
  std::string seed_field;   ///< field holding the seed ("" if none)
  std::string part;         ///< the Encoding part it becomes, e.g. "biases.0.table" ("" for input-side)
};

/// One method of the catalogue: what it is, where it comes from, and its fields and tables.
struct EntryInfo {
  std::string name;     ///< the name front ends use (`posenc encode NAME`, posenc.encode(NAME))
  std::string summary;  ///< one line: the method
  std::string parts;   ///< the Encoding parts it fills
  std::string source;  ///< paper / reference implementation
  std::string header;  ///< the public header of its builder: text, rotary, relative, image, ...
  std::vector<std::string> inputs;  ///< what positions it reads: "text positions", "image grid", ...
  std::vector<FieldInfo> fields;   ///< its parameters, in help order
  std::vector<TableInfo> tables;   ///< its learnable tables (empty for fixed methods)
  /// backward() maps the core's EncodingGrad to the gradients of its score-term tables
  /// (input-side tables, TableInfo::part == "", have none through attention).
  bool backward = false;
  /// build_into() writes this array of build() into a caller's buffer ("" when the entry cannot).
  std::string into;
  const FieldInfo* field(const std::string& name) const;  ///< nullptr if absent (name normalised)
};

/// Every entry, in display order.
const std::vector<EntryInfo>& entries();
std::vector<std::string> names();
/// The entry (name normalised); an unknown name throws with the closest suggestion.
const EntryInfo& describe(const std::string& name);
/// Help text for `posenc encode NAME --help`: the summary, parts, source, inputs, and one line
/// per field with its type, default and help.
std::string help_text(const std::string& name);

// ------------------------------------------------------------------ parsing

/// Lower case, '-' -> '_'.
std::string normalise(std::string name);
/// The candidate closest to `name` (edit distance <= 3, or a prefix), or "".
std::string closest(const std::string& name, const std::vector<std::string>& candidates);
/// The field of `entry` a mistyped name most likely means: a field whose hints hold the name
/// (rope: "rope_scaling", "scaling" -> "rope_type"), else the closest field name; "" if none.
std::string suggest_field(const EntryInfo& entry, const std::string& name);

/// Values from strings (the command line): names normalised, every value parsed by its field's
/// type. Throws std::invalid_argument: unknown method or field (with a suggestion), bad value
/// ("rope: field 'beta_fast' expects a real number, got 'fast'").
Values parse(const std::string& name, const std::map<std::string, std::string>& text);
/// Values from typed values (Python): names normalised, each value converted to its field's type
/// (an integer for a real, a list of integers for a real list, a float64 array for a float32
/// one, a string parsed as parse() would); the same errors.
Values check(const std::string& name, const Values& typed);

// ------------------------------------------------------------------ building

/// Everything a front end can write: the Encoding and its tables by name.
using Array = std::variant<Tensor, DTensor, ITensor>;

/// What build() returns: the Encoding plus every array and scalar a front end writes.
struct Built {
  Encoding encoding;  ///< the four-term contract, ready for attention()
  std::vector<std::pair<std::string, Array>> arrays;  ///< file stem -> array (as `posenc encode` names them)
  std::vector<std::pair<std::string, Value>> metadata;  ///< scalars: attention_factor, bias_rule, ...
  std::size_t query_tokens = 0;  ///< query tokens the encoding is for
  std::size_t tokens = 0;        ///< key tokens the encoding is for
  const Array* array(const std::string& name) const;  ///< nullptr if absent
};

/// Values a caller implies (attend: tokens from the q tensor): between the defaults and the
/// given values.
struct Context {
  Values implied;  ///< field name -> value (e.g. "tokens" from the key tensor)
};

/// Build an entry: defaults (from the option structs) < context.implied < values. `values`
/// must come from parse() or check() (or hold correctly typed values); library errors pass
/// through (std::invalid_argument naming the builder and the parameter).
Built build(const std::string& name, const Values& values = {}, const Context& context = {});

/// The entry's table (the array EntryInfo::into names, row-major float32) written into `out`: the
/// same bits as build()'s array, every element written, nothing allocated for the output, so a
/// pipeline that rebuilds a table per batch can reuse one buffer (the entries: sinusoidal,
/// sincos_2d, detr_sine, fourier_features, sincos_3d, spectrogram_sincos, sphere_features and
/// spherical_harmonics, each through its builder's `_into` function). Throws
/// std::invalid_argument for an entry without it (naming those that have it), for the values
/// build() rejects, and for a buffer of another size (naming both sizes); the builder's messages
/// come prefixed with "build_into('NAME'): ".
void build_into(const std::string& name, std::span<float> out, const Values& values = {}, const Context& context = {});

/// Gradients of an entry's learnable score-term tables, by the field that loads each table
/// ("table", "slopes", "key_table", "w_r", ...), each of that table's shape.
using Gradients = std::vector<std::pair<std::string, Tensor>>;
/// The vector-Jacobian product of the entry's builder: `grad` is the core's EncodingGrad of
/// `built.encoding` (attention_backward with GradRequest::all), `values` / `context` those
/// `built` was made from. Empty for entries without EntryInfo::backward.
Gradients backward(const std::string& name, const Values& values, const Built& built, const EncodingGrad& grad,
                   const Context& context = {});

// ------------------------------------------------------------------ enum name tables

/// One row of an enum's name table: the value, its canonical name and accepted aliases.
template <class E>
struct EnumName {
  E value;                           ///< the enumerator
  std::string name;                  ///< canonical
  std::vector<std::string> aliases;  ///< also accepted when parsing
};

/// One name table per enum (src/catalogue/enums.cpp).
template <class E>
const std::vector<EnumName<E>>& enum_table();

#define POSENC_CATALOGUE_ENUMS(X)                                                                              \
  X(PairLayout) X(RopeScaling) X(SinusoidLayout) X(SinusoidExponent) X(Activation) X(PositionScaling)          \
  X(Interpolation) X(SinCos2dLayout) X(Rope2dLayout) X(SinCos3dLayout) X(VivitInit) X(TableAdaptation)         \
  X(LatLonGrid) X(Sphere2VecVariant) X(SphericalConvention) X(PathChoice) X(DegreeKind) X(LaplacianKind)       \
  X(EigenSolver) X(FeatureGraphMethod) X(ColumnType)
#define POSENC_DECLARE_ENUM_TABLE(E) \
  template <>                        \
  const std::vector<EnumName<E>>& enum_table<E>();
POSENC_CATALOGUE_ENUMS(POSENC_DECLARE_ENUM_TABLE)
#undef POSENC_DECLARE_ENUM_TABLE

/// The canonical names of an enum's table.
template <class E>
std::vector<std::string> enum_choices() {
  std::vector<std::string> out;
  for (const auto& e : enum_table<E>()) out.push_back(e.name);
  return out;
}
/// The canonical name of a value.
template <class E>
std::string enum_name(E value) {
  for (const auto& e : enum_table<E>())
    if (e.value == value) return e.name;
  return "?";
}
/// Throws std::invalid_argument("<what> expects one of a|b|c, got 'x'") for an unknown name.
[[noreturn]] void unknown_choice(const std::string& what, const std::vector<std::string>& choices,
                                 const std::string& given);
/// The value named `name` (canonical or alias, normalised); `what` prefixes the error message.
template <class E>
E enum_value(const std::string& name, const std::string& what) {
  const std::string n = normalise(name);
  for (const auto& e : enum_table<E>()) {
    if (normalise(e.name) == n) return e.value;
    for (const auto& a : e.aliases)
      if (normalise(a) == n) return e.value;
  }
  unknown_choice(what, enum_choices<E>(), name);
}

// ------------------------------------------------------------------ Tab-PET settings

/// What the `tabpet` entry's fields set, for front ends that read the table themselves (`posenc
/// tabular`): the pipeline options, alpha and prefix_tokens.
struct TabPetSettings {
  TabPetPipelineOptions options;  ///< feature graph, Laplacian, eigenvectors (the entry's fields)
  double alpha = 0;               ///< scale of the encoding concatenated to each feature token
  std::int64_t prefix_tokens = 0; ///< zero rows before the features (e.g. a [CLS] token)
};
/// The settings `values` give the `tabpet` entry (check()ed by name and type, the entry's defaults
/// for the rest); the table fields (csv, values, drop) are checked and ignored.
TabPetSettings tabpet_settings(const Values& values = {});

// ------------------------------------------------------------------ graph encodings by name
//
// The node encodings of `posenc graph` and `posenc.graph_encodings`, one grammar for both:
// "name[:option=value...]", e.g. "lap:k=8:kind=sym", "pagerank:alpha=0.9:tol=1e-10", "rwse:steps=16".
// Every option of the library function a name calls is reachable; defaults are read from the
// option structs (LaplacianPeOptions, ShortestPathOptions) or, for functions taking plain
// arguments, from one parameter struct per name in src/catalogue/graph_encodings.cpp.

/// One parsed spec: every option typed (the given ones over the defaults), checked, and the files
/// it writes, all known before the graph is read.
struct GraphSpec {
  std::string name;    ///< spd, dijkstra, degree, betweenness, closeness, pagerank, eigenvector, lap, rwse
  std::string text;    ///< as typed (errors name it)
  std::string caller;  ///< the prefix of its error messages ("graph_encodings", "graph")
  Values values;       ///< every option of `name` by name: boolean, integer, real or choice (canonical name)
  std::vector<std::string> files;  ///< the arrays it writes: spd, degree_in, lap + lap_eigenvalues, ...
  const Value& value(const std::string& option) const;  ///< one of `values` (throws if `name` has no such option)
};

/// Parses and checks specs (empty items skipped). Throws std::invalid_argument, every message
/// starting "<caller>: ": an unknown name or option (with the closest one), a value of the wrong
/// type or out of range ("graph: encoding 'pagerank:alpha=2': option 'alpha' must be in [0, 1],
/// got '2'"), or no spec at all.
std::vector<GraphSpec> parse_graph_specs(const std::vector<std::string>& specs,
                                         const std::string& caller = "graph_encodings");

/// What one spec computes: arrays named as `posenc graph` writes them, and scalars (lap:
/// components, trivial).
struct GraphEncoded {
  std::vector<std::pair<std::string, Array>> arrays;    ///< file stem -> array (spd, lap, lap_eigenvalues, ...)
  std::vector<std::pair<std::string, Value>> metadata;  ///< scalars (lap: components, trivial)
};
/// Computes one parsed spec (threads: 0 = OpenMP default; results do not depend on it). A power
/// iteration that does not converge, or a lap k beyond the graph without pad, throws naming the
/// option to change.
GraphEncoded run_graph_spec(const Graph& graph, const GraphSpec& spec, int threads = 0);

/// parse_graph_specs, then run_graph_spec for each: the arrays of every spec in order. Two specs
/// writing the same array are an error before anything is computed.
std::vector<std::pair<std::string, Array>> graph_encodings(const Graph& graph, const std::vector<std::string>& specs,
                                                           int threads = 0);
/// The names graph_encodings accepts, each with its options and their defaults
/// ("pagerank: alpha=0.85, tol=1e-06, max_iter=100"), in the order docs/graph.md lists them.
std::vector<std::string> graph_encoding_names();

}  // namespace posenc::catalogue
