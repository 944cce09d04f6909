// Sphere points for --points: a CSV with named latitude / longitude columns or a .npy [N, 2] in
// (lon, lat) order, checked so that swapped or out-of-range values fail with one clear line.
#include <charconv>
#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

#include "jobs.hpp"
#include "checks.hpp"
#include "posenc/npy.hpp"

namespace posenc::cli {

namespace {

constexpr const char* kOrder = "points are (longitude, latitude): .npy column 0 longitude, column 1 latitude";

std::string trim(std::string s) {
  const auto a = s.find_first_not_of(" \t\r\"'"), b = s.find_last_not_of(" \t\r\"'");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(trim(f));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

/// The index of the header column named `wanted`, or (wanted empty) of the first default name.
std::size_t column(const std::string& who, const std::string& path, const std::vector<std::string>& header,
                   const std::string& wanted, const std::vector<std::string>& defaults, const char* option) {
  const std::vector<std::string> names = wanted.empty() ? defaults : std::vector<std::string>{wanted};
  for (const auto& n : names)
    for (std::size_t i = 0; i < header.size(); ++i)
      if (normalise(header[i]) == normalise(n)) return i;
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  bad(who + ": --points '" + path + "' has no column " + (wanted.empty() ? "named " + defaults[0] + " (or " + defaults[1] + ")"
                                                                         : "'" + wanted + "'") +
      "; its columns are " + have + "; name them with " + option);
}

DTensor read_csv_points(const std::string& who, const std::string& path, const std::string& lat_column,
                        const std::string& lon_column, bool radians) {
  std::ifstream f(path);
  std::string line;
  if (!std::getline(f, line)) bad(who + ": --points '" + path + "' is empty; a CSV needs a header with lat and lon columns");
  const std::vector<std::string> header = fields_of(line);
  const std::size_t lat = column(who, path, header, lat_column, {"lat", "latitude"}, "--lat-column");
  const std::size_t lon = column(who, path, header, lon_column, {"lon", "longitude", "lng"}, "--lon-column");
  std::vector<double> values;
  for (std::size_t row = 2; std::getline(f, line); ++row) {
    if (trim(line).empty()) continue;
    const std::vector<std::string> fields = fields_of(line);
    double v[2] = {0, 0};
    const std::size_t at[2] = {lon, lat};
    for (int c = 0; c < 2; ++c) {
      const std::string s = at[c] < fields.size() ? fields[at[c]] : "";
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v[c]);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v[c]))
        bad(who + ": --points " + path + ":" + std::to_string(row) + ": " + (c ? "latitude" : "longitude") + " '" + s +
            "' (column '" + header[at[c]] + "') is not a finite number");
      if (radians) v[c] *= 180.0 / std::numbers::pi;
    }
    values.push_back(v[0]);
    values.push_back(v[1]);
  }
  if (values.empty()) bad(who + ": --points '" + path + "' has a header but no rows");
  DTensor pts = DTensor::from_shape({values.size() / 2, 2});
  std::copy(values.begin(), values.end(), pts.begin());
  return pts;
}

}  // namespace

DTensor read_points(const std::string& who, const std::string& path, const std::string& lat_column,
                    const std::string& lon_column, bool radians) {
  require_input_file(who + ": --points", path);
  const bool csv = path.size() > 4 && normalise(path.substr(path.size() - 4)) == ".csv";
  if (!csv && (!lat_column.empty() || !lon_column.empty()))
    bad(who + ": --lat-column / --lon-column name CSV columns, but --points '" + path + "' is not a .csv; " + kOrder);
  DTensor pts = csv ? read_csv_points(who, path, lat_column, lon_column, radians) : load_npy_double(path);
  if (!csv && radians) pts *= 180.0 / std::numbers::pi;
  if (pts.dimension() != 2 || pts.shape()[1] != 2)
    bad(who + ": --points '" + path + "' must be [N, 2], got " + shape_string(pts) + "; " + kOrder);
  if (pts.shape()[0] == 0) bad(who + ": --points '" + path + "' holds no points");
  bool lat_fits_as_lon = true;
  std::size_t bad_row = pts.shape()[0];
  for (std::size_t i = 0; i < pts.shape()[0]; ++i) {
    if (!std::isfinite(pts(i, 0)) || !std::isfinite(pts(i, 1)))
      bad(who + ": --points '" + path + "' row " + std::to_string(i) + " is not finite; " + kOrder);
    if (std::abs(pts(i, 0)) > 360)
      bad(who + ": --points '" + path + "' row " + std::to_string(i) + ": longitude " + std::to_string(pts(i, 0)) +
          " is outside [-360, 360] degrees; " + kOrder + (radians ? "" : " (degrees; --radians for radians)"));
    if (std::abs(pts(i, 1)) > 90 && bad_row == pts.shape()[0]) bad_row = i;
    if (std::abs(pts(i, 0)) > 90) lat_fits_as_lon = false;
  }
  if (bad_row < pts.shape()[0]) {
    std::ostringstream v;
    v << pts(bad_row, 1);
    bad(who + ": --points '" + path + "' row " + std::to_string(bad_row) + ": latitude " + v.str() +
        " is outside [-90, 90] degrees; " + kOrder +
        (lat_fits_as_lon && !csv ? " (column 0 fits latitudes: the columns look swapped)" : ""));
  }
  return pts;
}

}  // namespace posenc::cli
