// report.json's description of each file a file command writes: shape, dtype, and what its rows,
// columns and values are (graph, tabular).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace posenc::cli {

/// NumPy's name of an array's element type: float32, float64 or int64.
inline std::string dtype_name(const Array& a) {
  return std::visit(
      [](const auto& t) -> std::string {
        using V = typename std::decay_t<decltype(t)>::value_type;
        return std::is_same_v<V, float> ? "float32" : std::is_same_v<V, double> ? "float64" : "int64";
      },
      a);
}

/// {"shape": [...], "dtype": ..., "rows": ..., "columns": ..., "values": ...}; empty texts left out.
inline nlohmann::json npy_entry(const Array& a, const std::string& rows, const std::string& columns,
                                const std::string& values) {
  nlohmann::json e;
  e["shape"] = std::visit([](const auto& t) { return std::vector<std::size_t>(t.shape().begin(), t.shape().end()); }, a);
  e["dtype"] = dtype_name(a);
  if (!rows.empty()) e["rows"] = rows;
  if (!columns.empty()) e["columns"] = columns;
  if (!values.empty()) e["values"] = values;
  return e;
}

/// A text file of one entry per line.
inline nlohmann::json text_entry(std::size_t lines, const std::string& rows) {
  return {{"shape", {lines}}, {"dtype", "text, one entry per line"}, {"rows", rows}};
}

}  // namespace posenc::cli
