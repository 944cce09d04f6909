// posenc Python module: graph encodings by name, hop counts into a caller's buffer, and Tab-PET
// from columns.
#include <pybind11/stl.h>

#include "convert.hpp"
#include "posenc/graph.hpp"
#include "posenc/tabular.hpp"

namespace posenc::python {

namespace {

namespace cat = catalogue;

/// The edges of an [E, 2] integer array (checked; `fn` names the Python function in errors).
ITensor edge_array(const py::object& edges, const std::string& fn) {
  const ITensor e = to_itensor(edges, "edges");
  if (e.dimension() != 2 || e.shape()[1] != 2)
    throw std::invalid_argument(fn + ": 'edges' must be an [E, 2] integer array, got " + shape_string(e));
  return e;
}

py::dict graph_encodings_py(const py::object& edges, std::int64_t nodes, bool directed, const py::object& weights,
                            const std::vector<std::string>& specs, int threads) {
  const ITensor e = edge_array(edges, "posenc.graph_encodings");
  std::vector<double> w;
  if (!weights.is_none()) {
    const DTensor t = to_dtensor(weights, "weights");
    w.assign(t.begin(), t.end());
    if (w.size() != e.shape()[0])
      throw std::invalid_argument("posenc.graph_encodings: 'weights' has " + std::to_string(w.size()) + " values for " +
                                  std::to_string(e.shape()[0]) + " edges");
  }
  std::vector<GraphEdge> list;
  for (std::size_t i = 0; i < e.shape()[0]; ++i) list.push_back({e(i, 0), e(i, 1), w.empty() ? 1.0 : w[i]});
  std::vector<std::pair<std::string, cat::Array>> out;
  {
    py::gil_scoped_release release;
    const Graph g(nodes, std::move(list), directed);
    out = cat::graph_encodings(g, specs, threads);
  }
  py::dict d;
  for (auto& [k, a] : out) d[py::str(k)] = std::visit([](auto& t) -> py::object { return to_numpy(std::move(t)); }, a);
  return d;
}

py::dict tabpet_py(const std::vector<std::string>& names, const std::vector<std::vector<std::string>>& columns,
                   const std::string& graph, std::int64_t k, double alpha, const std::vector<std::string>& drop,
                   const std::map<std::string, std::string>& types, double threshold, std::int64_t top_k,
                   std::int64_t subsample, std::uint64_t seed, std::int64_t prefix_tokens) {
  TableCsvOptions csv;
  csv.drop = drop;
  for (const auto& [n, t] : types) csv.types[n] = cat::enum_value<ColumnType>(t, "posenc.tabpet: types['" + n + "']");
  TabPetPipelineOptions o;
  o.graph.method = cat::enum_value<FeatureGraphMethod>(graph, "posenc.tabpet: 'graph'");
  o.graph.threshold = threshold;
  o.graph.top_k = top_k;
  if (k < 0) throw std::invalid_argument("posenc.tabpet: 'k' must be 'auto' or >= 1, got " + std::to_string(k));
  o.pe.k = k;
  o.preprocess.subsample = subsample;
  o.preprocess.seed = seed;
  TabPet r;
  Encoding enc;
  {
    py::gil_scoped_release release;
    const Table table = make_table(names, columns, csv);
    r = tabpet(table, o);
    enc = tabpet_encoding(r.pe.columns_pe, alpha, prefix_tokens);
  }
  Tensor pe = enc.input_concat;
  pe.reshape({pe.shape()[1], pe.shape()[2]});
  py::dict d;
  d["pe"] = to_numpy(std::move(pe));
  d["pe_features"] = to_numpy(Tensor(r.pe.features_pe));
  d["pe_columns"] = to_numpy(Tensor(r.pe.columns_pe));
  d["graph"] = to_numpy(DTensor(r.graph.weights));
  d["adjacency"] = to_numpy(DTensor(r.pe.adjacency));
  DTensor ev = DTensor::from_shape({r.pe.eigenvalues.size()});
  std::copy(r.pe.eigenvalues.begin(), r.pe.eigenvalues.end(), ev.begin());
  d["eigenvalues"] = to_numpy(std::move(ev));
  d["selected_eigenvalues"] = r.pe.selected;
  d["k"] = r.pe.k;
  d["features"] = r.features.names;
  d["columns"] = r.features.columns;
  d["source_column"] = r.features.source_column;
  d["constant_features"] = r.graph.constant;
  d["rows_dropped"] = r.features.rows_dropped;
  d["warnings"] = r.pe.warnings;
  return d;
}

/// shortest_path_hops_into on a caller's NumPy buffer of N x N elements: uint8, uint16, int32 or
/// int64, C-contiguous, aligned and writeable (TypeError / ValueError naming 'out' otherwise).
void shortest_path_hops_into_py(const py::object& edges, std::int64_t nodes, bool directed, const py::object& out,
                                std::int64_t max_distance, std::int64_t unreachable, int threads) {
  const std::string fn = "posenc.shortest_path_hops_into", types = "uint8, uint16, int32 or int64";
  py::array a = output_array(out, fn, types);
  const ITensor e = edge_array(edges, fn);
  std::vector<GraphEdge> list;
  for (std::size_t i = 0; i < e.shape()[0]; ++i) list.push_back({e(i, 0), e(i, 1), 1.0});
  const Graph g(nodes, std::move(list), directed);
  const ShortestPathOptions o{.max_distance = max_distance, .unreachable = unreachable, .threads = threads};
  const auto write = [&](auto buf) {
    py::gil_scoped_release release;
    shortest_path_hops_into(g, buf, o);
  };
  std::span<std::uint8_t> u8;
  std::span<std::uint16_t> u16;
  std::span<std::int32_t> i32;
  std::span<std::int64_t> i64;
  if (output_span(a, u8)) return write(u8);
  if (output_span(a, u16)) return write(u16);
  if (output_span(a, i32)) return write(i32);
  if (output_span(a, i64)) return write(i64);
  throw py::type_error(fn + ": 'out' must have dtype " + types + ", got " + std::string(py::str(a.dtype())));
}

}  // namespace

void bind_extras(py::module_& m) {
  m.def("graph_encodings", &graph_encodings_py, py::arg("edges"), py::arg("nodes"), py::arg("directed"),
        py::arg("weights"), py::arg("specs"), py::arg("threads") = 0);
  m.def("graph_encoding_names", &cat::graph_encoding_names);
  m.def("shortest_path_hops_into", &shortest_path_hops_into_py, py::arg("edges"), py::arg("nodes"), py::arg("directed"),
        py::arg("out"), py::arg("max_distance"), py::arg("unreachable"), py::arg("threads") = 0);
  m.def("tabpet", &tabpet_py, py::arg("names"), py::arg("columns"), py::arg("graph"), py::arg("k"), py::arg("alpha"),
        py::arg("drop"), py::arg("types"), py::arg("threshold"), py::arg("top_k"), py::arg("subsample"), py::arg("seed"),
        py::arg("prefix_tokens"));
}

}  // namespace posenc::python
